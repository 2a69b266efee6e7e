-- Round {i}: updates, inserts, deletes, a key change now and then.
UPDATE items SET qty = qty + 1, label = CONCAT('w', {i}) WHERE id = ({i} * 7919) % 3000 + 1;
INSERT INTO items (id, qty, label, secret) VALUES (10000 + {i}, {i} % 40, CONCAT('new ', {i}), 'x')
  ON DUPLICATE KEY UPDATE qty = 0;
DELETE FROM items WHERE {i} % 5 = 0 AND id = ({i} * 31) % 3000 + 1;
UPDATE items SET id = id + 100000 WHERE {i} % 17 = 0 AND id = ({i} * 13) % 3000 + 1;
