CREATE TABLE vn (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
INSERT INTO vn VALUES (1, 1), (2, 2);
UPDATE vn SET v = 10 WHERE id = 1;
DELETE FROM vn WHERE id = 2;
-- A table that becomes versioned during incremental sync.
ALTER TABLE plain ADD SYSTEM VERSIONING;
UPDATE plain SET v = v * 10 WHERE id <= 5;
DELETE FROM plain WHERE id > 15;
INSERT INTO plain VALUES (100, 100);
