-- Round {i}: the first and the last table change all along.
UPDATE t00 SET v = v + 1 WHERE id = {i} % 500 + 1;
UPDATE t19 SET v = v + 1 WHERE id = ({i} * 7) % 500 + 1;
