-- Round {i}: duplicate rows updated, moved, deleted and re-inserted; NULL rows too.
UPDATE events SET n = n + 1 WHERE grp = ({i} * 7) % 500 LIMIT 1;
UPDATE events SET grp = ({i} * 13) % 500 WHERE grp = ({i} * 11) % 500 LIMIT 1;
DELETE FROM events WHERE grp = ({i} * 17) % 500 LIMIT 1;
INSERT INTO events VALUES (({i} * 19) % 500, {i} % 3, IF({i} % 2, 'a', 'A '));
UPDATE events SET note = IF(note = 'a', 'A ', 'a') WHERE grp = ({i} * 23) % 500 LIMIT 1;
UPDATE events SET n = n + 1 WHERE grp IS NULL AND {i} % 5 = 0 LIMIT 1;
UPDATE tagged SET v = v + 1 WHERE grp = {i} % 50 AND tag IS NULL LIMIT 1;
UPDATE tagged SET tag = NULL WHERE tag = ({i} * 3) % 900 + 3;
DELETE FROM tagged WHERE grp = ({i} * 7) % 50 AND tag IS NULL AND {i} % 3 = 0 LIMIT 1;
INSERT INTO tagged VALUES (NULL, {i} % 50, {i});
UPDATE words SET t = CONCAT(LEFT(t, 150), 'y') WHERE w = CONCAT('w', {i} % 9) LIMIT 1;
