UPDATE items SET label = 'later' WHERE id <= 50;
DELETE FROM items WHERE id > 450;
