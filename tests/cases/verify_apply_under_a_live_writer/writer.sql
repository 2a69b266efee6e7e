-- Round {i}: hot rows 1-20 (also damaged on the destination), one spread update, an insert, a delete.
UPDATE items SET qty = qty + 1, note = CONCAT('round ', {i}) WHERE id = {i} % 20 + 1;
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 2000 + 1;
INSERT INTO items VALUES (100000 + {i}, {i}, 'new');
DELETE FROM items WHERE id = 4000 + {i} % 500;
