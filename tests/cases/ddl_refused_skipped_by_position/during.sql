CREATE TABLE extra (id INT PRIMARY KEY, v INT);
INSERT INTO extra VALUES (1, 10), (2, 20);
UPDATE items SET v = v + 1 WHERE id <= 10;
