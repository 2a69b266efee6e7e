UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 5000 + 1;
INSERT INTO items VALUES (10000 + {i}, {i} % 40);
