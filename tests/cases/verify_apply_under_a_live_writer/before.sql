CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, note VARCHAR(40) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, seq % 50, CONCAT('seed ', seq) FROM seq_1_to_5000;
-- Neither is written: one damaged in its schema, one (without a key) in its rows, each while the
-- task runs, so --apply must refuse them with the reason.
CREATE TABLE side (id INT PRIMARY KEY, v INT NOT NULL);
INSERT INTO side SELECT seq, seq FROM seq_1_to_100;
CREATE TABLE log (n INT NOT NULL, note VARCHAR(20) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO log SELECT seq, CONCAT('n', seq) FROM seq_1_to_100;
