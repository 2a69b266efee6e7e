-- The application; pt-online-schema-change's triggers copy its changes to _items_new.
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 260 + 1;
INSERT INTO items (id, qty, label) VALUES (1000 + {i}, {i} % 7, CONCAT('new ', {i}));
DELETE FROM items WHERE id = ({i} * 104729) % 260 + 1 AND {i} % 3 = 0;
UPDATE other SET v = v + 1 WHERE id = 1;
