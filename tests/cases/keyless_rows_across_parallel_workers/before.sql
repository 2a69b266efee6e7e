CREATE TABLE events (grp INT, n BIGINT UNSIGNED NOT NULL, note VARCHAR(20), KEY (grp)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
INSERT INTO events SELECT seq % 500, seq % 3, IF(seq % 2, 'a', 'A ') FROM seq_1_to_3000;
INSERT INTO events VALUES (NULL, 0, NULL), (NULL, 0, NULL), (NULL, 0, 'x');
CREATE TABLE tagged (tag INT NULL, grp INT NOT NULL, v INT NOT NULL, UNIQUE KEY (tag), KEY (grp)) DEFAULT CHARSET=utf8mb4;
INSERT INTO tagged SELECT IF(seq % 3, NULL, seq), seq % 50, 0 FROM seq_1_to_900;
CREATE TABLE words (w VARCHAR(10), t VARCHAR(200)) DEFAULT CHARSET=utf8mb4;
INSERT INTO words SELECT CONCAT('w', seq % 9), 'x' FROM seq_1_to_90;
