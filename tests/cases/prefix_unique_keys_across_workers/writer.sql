-- Rows of their own, each a new key, so nothing of the writer's chains the steps' groups
-- onto one worker.
INSERT INTO ticks (round, note) VALUES ({i}, CONCAT('round ', {i}));
DO SLEEP(0.02);
