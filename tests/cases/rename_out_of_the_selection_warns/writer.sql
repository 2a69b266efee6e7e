UPDATE keep SET v = v + 1 WHERE id = ({i} * 7) % 50 + 1;
