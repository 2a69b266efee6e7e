UPDATE items SET v = v + 1 WHERE id = ({i} * 7) % 100 + 1;
