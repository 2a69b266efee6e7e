-- Round {i}: states move through the filter; flags toggle.
INSERT INTO orders VALUES (10000 + {i}, ELT({i} % 4 + 1, 'new', 'paid', 'shipped', 'done'), IF({i} % 2, 'gift,express', 'fragile'), {i});
UPDATE orders SET state = IF(state = 'done', 'new', state + 1), n = n + 1 WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE orders SET flags = IF(flags = 3, 'gift', 'gift,express') WHERE id = ({i} * 31) % 2000 + 1;
UPDATE orders SET state = 'paid' WHERE {i} % 3 = 0 AND id = 10000 + {i} - 1;
DELETE FROM orders WHERE {i} % 7 = 0 AND id = ({i} * 17) % 2000 + 1;
