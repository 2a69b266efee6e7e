CREATE TABLE events (grp INT NOT NULL, note VARCHAR(40), hits INT NOT NULL, KEY grp (grp)) DEFAULT CHARSET=utf8mb4;
INSERT INTO events SELECT seq % 50, CONCAT('e', seq), 0 FROM seq_1_to_2000;
