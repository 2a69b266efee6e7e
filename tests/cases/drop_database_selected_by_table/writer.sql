UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 200 + 1;
INSERT INTO items (id, qty, label) VALUES (1000 + {i}, {i} % 7, 'new');
UPDATE orders SET item = item + 1 WHERE id = 1;
