-- Round {i}: both tables change all along, before and after the ALTER.
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 20000 + 1;
INSERT INTO items (id, qty, label) VALUES (30000 + {i}, {i} % 40, CONCAT('new ', {i}));
DELETE FROM items WHERE {i} % 5 = 0 AND id = ({i} * 31) % 20000 + 1;
UPDATE other SET v = v + 1 WHERE id = ({i} * 13) % 6000 + 1;
