-- Round {i}: new rows near the filter's edge, updates into and out of it.
INSERT INTO blobs VALUES (10000 + {i}, ELT({i} % 3 + 1, 'abc', 'abc ', 'Abc'), ELT({i} % 2 + 1, 'ab', 'ba'),
  ELT({i} % 2 + 1, 'xy', 'yx'), {i});
UPDATE blobs SET code = IF(code = 'abc', 'abc ', 'abc'), n = n + 1 WHERE id = ({i} * 7919) % 2000 + 1;
UPDATE blobs SET fixed = IF(fixed = 'ab', 'AB', 'ab') WHERE id = ({i} * 31) % 2000 + 1;
UPDATE blobs SET body = CONCAT(IF({i} % 2 = 0, 'x', 'X'), {i}) WHERE id = ({i} * 13) % 2000 + 1;
DELETE FROM blobs WHERE {i} % 7 = 0 AND id = ({i} * 17) % 2000 + 1;
