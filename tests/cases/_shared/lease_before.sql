-- A keyless table: a row applied twice shows as an extra copy. The writer writes it only once
-- a step opens the gate (after the full copy: writes during a keyless table's copy are issue 16).
CREATE TABLE log (n BIGINT NOT NULL, note VARCHAR(40) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO log SELECT seq, CONCAT('seed ', seq) FROM seq_1_to_2000;
CREATE TABLE gate (open INT PRIMARY KEY);
CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO items SELECT seq, seq % 50 FROM seq_1_to_20000;
