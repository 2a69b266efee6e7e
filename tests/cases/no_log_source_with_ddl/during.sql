ALTER TABLE items ADD COLUMN extra INT UNSIGNED NOT NULL DEFAULT 4000000000;
UPDATE items SET extra = 4294967295 WHERE id <= 20;
-- Same table map bytes as before under NO_LOG: only the history knows it is unsigned now.
ALTER TABLE items MODIFY qty INT UNSIGNED NOT NULL;
UPDATE items SET qty = 4294967295 WHERE id BETWEEN 21 AND 40;
INSERT INTO items (id, qty, small, state, flags, label, note) VALUES (5000, 3000000000, 200, 'new', '', 'x', 'y');
