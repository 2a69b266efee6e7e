-- The destination database holds an object of its own, which the task never selected.
CREATE DATABASE `{db}_dst`;
CREATE VIEW `{db}_dst`.own_view AS SELECT 1 AS one;
