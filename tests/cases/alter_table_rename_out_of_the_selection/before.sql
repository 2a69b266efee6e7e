CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items (id, qty, label) SELECT seq, seq % 50, CONCAT('item ', seq) FROM seq_1_to_200;
