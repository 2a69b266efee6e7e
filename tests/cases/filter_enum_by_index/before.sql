CREATE TABLE orders (id INT PRIMARY KEY, state ENUM('new','paid','shipped','done') NOT NULL,
  flags SET('gift','express','fragile'), n INT NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO orders SELECT seq, seq % 4 + 1, ELT(seq % 4 + 1, 'gift', 'gift,express', '', NULL), 0 FROM seq_1_to_2000;
