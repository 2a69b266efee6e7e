UPDATE a SET qty = (qty + 1) % 50 WHERE id = ({i} * 7) % 300 + 1;
UPDATE b SET qty = (qty + 1) % 50 WHERE id = ({i} * 11) % 300 + 1;
