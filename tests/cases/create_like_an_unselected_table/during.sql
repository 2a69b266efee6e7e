CREATE TABLE t_new LIKE template;
INSERT INTO t_new (id) VALUES (1), (2);
INSERT INTO t_new VALUES (3, 'three');
-- The unselected table changes after: t_new keeps the definition it was created with.
ALTER TABLE template ADD COLUMN later INT;
UPDATE t_new SET v = 'changed' WHERE id = 1;
