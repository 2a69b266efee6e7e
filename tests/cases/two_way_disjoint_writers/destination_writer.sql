-- [destination]'s application: even keys only.
INSERT INTO t VALUES ({i} * 2 + 200000, 'b', {i}, CONCAT('B ', {i}, ' ü'));
UPDATE t SET n = n + 1, payload = CONCAT('b', {i}) WHERE id = ({i} * 7919) % 2000 * 2 + 2;
BEGIN;
UPDATE t SET n = n + 10 WHERE id = ({i} * 37) % 2000 * 2 + 2;
UPDATE pairs SET v = v + 1 WHERE a = ({i} * 17) % 200 * 2 + 2 AND b = 'even';
INSERT INTO pairs VALUES ({i} * 2 + 5000, 'Even', {i});
COMMIT;
DELETE FROM t WHERE id = ({i} * 104729) % 2000 * 2 + 2 AND {i} % 5 = 0;
