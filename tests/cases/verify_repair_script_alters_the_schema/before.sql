CREATE TABLE items (id INT PRIMARY KEY, qty INT NOT NULL, `no te` VARCHAR(40) NULL DEFAULT 'none', label VARCHAR(10) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, seq % 50, IF(seq % 100 = 0, CONCAT('n', seq), 'none'), CONCAT('l', seq) FROM seq_1_to_1000;
CREATE TABLE pairs (a INT NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (a, b)) DEFAULT CHARSET=utf8mb4;
INSERT INTO pairs SELECT seq, seq % 3, seq FROM seq_1_to_300;
