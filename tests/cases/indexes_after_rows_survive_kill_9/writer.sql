-- Round {i}: moves rows in every deferred index, inserts and deletes.
UPDATE t SET k = k + 1, c = CONCAT('w', {i}), d = d + INTERVAL 1 SECOND WHERE id = ({i} * 7919) % 40000 + 1;
INSERT INTO t (id, k, u, c) VALUES (50000 + {i}, {i}, 50000 + {i}, CONCAT('new ', {i}));
DELETE FROM t WHERE {i} % 5 = 0 AND id = ({i} * 31) % 40000 + 1;
UPDATE small SET k = k + 1 WHERE id = {i} % 100 + 1;
