CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50), secret VARCHAR(20),
  created DATETIME(3) NOT NULL DEFAULT '2024-01-01 00:00:00') DEFAULT CHARSET=utf8mb4;
INSERT INTO items (id, qty, label, secret) SELECT seq, seq % 50, CONCAT('item ', seq), 's' FROM seq_1_to_200;
