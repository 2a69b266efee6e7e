-- Round {i}: a row of the first chunks moves to the end of the key range, another is deleted and
-- re-inserted under a new key with its old code.
UPDATE accounts SET id = id + 100000 WHERE id = ({i} * 7919) % 2000 + 1;
DELETE FROM accounts WHERE id = ({i} * 31) % 2000 + 2001;
INSERT INTO accounts VALUES (200000 + {i}, CONCAT('c', ({i} * 31) % 2000 + 2001), {i});
UPDATE accounts SET bal = bal + 1 WHERE id = ({i} * 13) % 12000 + 1;
