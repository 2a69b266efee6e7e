UPDATE t_a SET n = n + 1 WHERE id = ({i} * 7) % 100 + 1;
UPDATE t_new SET v = CONCAT('w', {i}) WHERE id = 2;
