RENAME TABLE a TO b;
INSERT INTO b VALUES (1001, 1, 'x');
UPDATE b SET secret = 'changed' WHERE id <= 10;
