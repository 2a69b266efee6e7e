CREATE TABLE events (grp INT NOT NULL, note VARCHAR(40), n INT, KEY grp (grp)) DEFAULT CHARSET=utf8mb4;
INSERT INTO events SELECT seq % 100, CONCAT('e', seq), seq FROM seq_1_to_9000;
CREATE TABLE items (id INT PRIMARY KEY, v INT NOT NULL);
INSERT INTO items SELECT seq, seq FROM seq_1_to_3000;
