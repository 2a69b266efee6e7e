UPDATE words SET n = 1 WHERE w = 'A' COLLATE utf8mb4_bin;
UPDATE words SET n = 2 WHERE w = 'x ' COLLATE utf8mb4_nopad_bin;
UPDATE words SET n = 3 WHERE w = 'e' COLLATE utf8mb4_bin;
DELETE FROM words WHERE w = 'B' COLLATE utf8mb4_bin;
UPDATE names SET n = 1 WHERE BINARY w = 'AB';
UPDATE names SET n = 2 WHERE BINARY w = 'y';
UPDATE notes SET n = 1 WHERE t = 'strasse' COLLATE utf8mb4_bin;
DELETE FROM notes WHERE t = 'Q' COLLATE utf8mb4_bin;
