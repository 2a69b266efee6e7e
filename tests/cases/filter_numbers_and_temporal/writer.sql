-- Round {i}: amounts and dates across the filter's edges, integer rows moving through it.
INSERT INTO payments VALUES (10000 + {i}, IF({i} % 9 = 0, NULL, ({i} % 30) / 2), '2024-02-25' + INTERVAL {i} % 10 DAY,
  '2024-05-28' + INTERVAL {i} % 8 DAY, 2022 + {i} % 4, {i});
UPDATE payments SET amount = IF(amount >= 10.5, 10.49, 10.5), n = n + 1 WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE payments SET paid_at = paid_at - INTERVAL 5 DAY, seen = seen + INTERVAL 3 DAY WHERE id = ({i} * 31) % 2000 + 1;
UPDATE payments SET y = IF(y = 2024, 2023, 2024) WHERE id = ({i} * 13) % 2000 + 1;
DELETE FROM payments WHERE {i} % 7 = 0 AND id = ({i} * 17) % 2000 + 1;
INSERT INTO ledger VALUES (10000 + {i}, {i} % 6);
UPDATE ledger SET n = (n + 1) % 6 WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE ledger SET id = id + 100000 WHERE {i} % 5 = 0 AND id = ({i} * 29) % 2000 + 1;
