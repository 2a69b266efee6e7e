ALTER TABLE items ADD COLUMN note VARCHAR(20) DEFAULT 'n';
UPDATE items SET note = 'changed' WHERE id <= 10;
CREATE TABLE t2 (id INT PRIMARY KEY, v INT);
INSERT INTO t2 VALUES (1, 1), (2, 2);
-- t2 must be gone from the destination, t3 hold (4, 4) only.
RENAME TABLE t2 TO t3;
INSERT INTO t3 VALUES (3, 3);
TRUNCATE TABLE t3;
INSERT INTO t3 VALUES (4, 4);
-- Generated columns are the destination's to compute, never written.
CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT AS (a * 2) STORED, c INT AS (a + 1) VIRTUAL);
INSERT INTO g (id, a) VALUES (1, 10), (2, 20);
UPDATE g SET a = a + 5;
