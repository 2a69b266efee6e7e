XA START '{db}';
UPDATE items SET v = 'xa' WHERE id = 1;
XA END '{db}';
XA PREPARE '{db}';
XA COMMIT '{db}';
