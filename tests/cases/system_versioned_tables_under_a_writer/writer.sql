UPDATE vi SET v = v + 1 WHERE id = ({i} * 7) % 100 + 1;
UPDATE ve SET v = v + 1 WHERE id = ({i} * 13) % 100 + 1;
DELETE FROM vi WHERE id = ({i} * 31) % 150 + 1;
INSERT INTO vi VALUES (({i} * 17) % 150 + 1, {i});
DELETE FROM ve WHERE id = ({i} * 37) % 150 + 1;
INSERT INTO ve (id, v) VALUES (({i} * 19) % 150 + 1, {i});
