CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items (id, qty, label) SELECT seq, seq % 50, CONCAT('item ', seq) FROM seq_1_to_200;
CREATE TABLE orders (id INT PRIMARY KEY, item BIGINT);
INSERT INTO orders VALUES (1, 1), (2, 2);
CREATE TABLE skipped (id INT PRIMARY KEY);
INSERT INTO skipped VALUES (1);
