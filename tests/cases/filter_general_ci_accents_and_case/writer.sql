-- Round {i}: rows that enter the filter by an accent or case, rows that leave it, new rows.
INSERT INTO places VALUES (10000 + {i}, ELT({i} % 4 + 1, 'Zürich', 'Genève', 'ZÜRICH', 'zurich  '),
  ELT({i} % 3 + 1, 'ÁBC', 'b', NULL), {i});
UPDATE places SET city = IF(city = 'zurich', 'Basel', 'Zürich'), n = n + 1 WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE places SET tag = IF(tag LIKE 'ab%', 'zz', 'Ábaco') WHERE id = ({i} * 31) % 2000 + 1;
UPDATE places SET n = n + 1 WHERE id = ({i} * 13) % 2000 + 1;
DELETE FROM places WHERE {i} % 7 = 0 AND id = ({i} * 17) % 2000 + 1;
UPDATE places SET city = 'Bern' WHERE {i} % 3 = 0 AND id = 10000 + {i} - 1;
