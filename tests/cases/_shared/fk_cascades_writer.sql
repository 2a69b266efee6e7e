-- Round {i}: a parent deleted (orders, their lines and notes follow), a parent re-keyed (its
-- orders and notes follow), an order deleted (its lines follow), new rows, a plain update.
DELETE FROM customers WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE customers SET id = id + 10000 WHERE id = ({i} * 104729) % 2000 + 1;
DELETE FROM orders WHERE id = ({i} * 31) % 6000 + 1;
UPDATE orders SET id = id + 100000 WHERE {i} % 3 = 0 AND id = ({i} * 37) % 6000 + 1;
INSERT INTO customers VALUES (50000 + {i}, CONCAT('new', {i}));
INSERT INTO orders VALUES (200000 + {i}, 50000 + {i}, {i});
INSERT INTO order_lines VALUES (300000 + {i}, 200000 + {i}, 1);
INSERT INTO notes VALUES (400000 + {i}, 50000 + {i}, 'fresh');
DELETE FROM customers WHERE {i} % 4 = 0 AND id = 50000 + {i} - 2;
UPDATE plain SET v = v + 1 WHERE id = ({i} * 13) % 3000 + 1;
