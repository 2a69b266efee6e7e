-- Already there with the same definition: the source's CREATE fails on the destination, and
-- skipping it is right.
CREATE DATABASE IF NOT EXISTS {db};
CREATE TABLE {db}.extra (id INT PRIMARY KEY, v INT);
