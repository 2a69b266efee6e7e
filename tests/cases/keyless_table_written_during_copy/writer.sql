-- Round {i}: inserts, updates and deletes on the keyless table (and a keyed one).
INSERT INTO events VALUES ({i} % 100, CONCAT('w', {i}), {i});
UPDATE events SET n = n + 1 WHERE grp = ({i} * 13) % 100 LIMIT 1;
DELETE FROM events WHERE {i} % 3 = 0 AND grp = ({i} * 7) % 100 LIMIT 1;
INSERT INTO events SELECT grp, note, n FROM events WHERE {i} % 11 = 0 AND grp = {i} % 100 LIMIT 1;
UPDATE items SET v = v + 1 WHERE id = ({i} * 7919) % 3000 + 1;
