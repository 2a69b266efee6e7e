INSERT INTO items VALUES (({i} * 7) % 300 + 101, {i});
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 13) % 100 + 1;
DELETE FROM items WHERE id = ({i} * 31) % 300 + 101;
