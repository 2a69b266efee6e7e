-- [source]'s application: odd keys only.
INSERT INTO t VALUES ({i} * 2 + 100001, 'a', {i}, CONCAT('A ', {i}, ' é'));
UPDATE t SET n = n + 1, payload = CONCAT('a', {i}) WHERE id = ({i} * 7919) % 2000 * 2 + 1;
BEGIN;
UPDATE t SET n = n + 10 WHERE id = ({i} * 31) % 2000 * 2 + 1;
UPDATE pairs SET v = v + 1 WHERE a = ({i} * 13) % 200 * 2 + 1 AND b = 'odd';
INSERT INTO pairs VALUES ({i} * 2 + 1001, 'Odd', {i});
COMMIT;
DELETE FROM t WHERE id = ({i} * 104729) % 2000 * 2 + 1 AND {i} % 5 = 0;
