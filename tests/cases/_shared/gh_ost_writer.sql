-- The application, and gh-ost's binlog-driven writes to the ghost table in the same
-- transaction (as gh-ost applies them from the binlog; before the ghost exists and after the
-- cut-over the ghost statement fails and is skipped). The RENAME waits for an open transaction.
BEGIN;
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 260 + 1;
REPLACE INTO _items_gho (id, qty, label) SELECT id, qty, label FROM items WHERE id = ({i} * 7919) % 260 + 1;
COMMIT;
BEGIN;
INSERT INTO items (id, qty, label) VALUES (1000 + {i}, {i} % 7, CONCAT('new ', {i}));
REPLACE INTO _items_gho (id, qty, label) SELECT id, qty, label FROM items WHERE id = 1000 + {i};
COMMIT;
BEGIN;
DELETE FROM items WHERE id = ({i} * 104729) % 260 + 1 AND {i} % 3 = 0;
DELETE FROM _items_gho WHERE id = ({i} * 104729) % 260 + 1 AND {i} % 3 = 0;
COMMIT;
UPDATE other SET v = v + 1 WHERE id = 1;
