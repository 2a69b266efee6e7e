CREATE TABLE events (grp INT NOT NULL, note VARCHAR(40), KEY grp (grp)) DEFAULT CHARSET=utf8mb4;
INSERT INTO events SELECT seq % 10, CONCAT('e', seq) FROM seq_1_to_3000;
