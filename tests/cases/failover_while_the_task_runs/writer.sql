INSERT INTO t (id, v, note) VALUES ({i} + 1000, {i}, 'writer');
UPDATE t SET v = v + 1 WHERE id = ({i} * 7919) % 300 + 1;
DELETE FROM t WHERE id = ({i} * 104729) % 300 + 1;
