INSERT INTO items (id, qty, small, state, flags, label, note) VALUES (1000 + {i}, {i} % 100, 255, 'sent', 'b', 'é', 'ü {i}');
UPDATE items SET qty = qty + 1, state = 'new', flags = 'a,b,c' WHERE id = ({i} * 7919) % 200 + 1;
DELETE FROM items WHERE id = ({i} * 104729) % 200 + 1 AND {i} % 7 = 0;
