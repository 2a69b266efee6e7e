-- Out of the selection and back: the destination keeps its copy under the selected name (as for
-- RENAME TABLE), never a table under a name the task does not select.
ALTER TABLE items ADD COLUMN note VARCHAR(10), RENAME TO items_old;
ALTER TABLE items_old DROP COLUMN note, RENAME TO items;
UPDATE items SET qty = qty + 100 WHERE id <= 5;
