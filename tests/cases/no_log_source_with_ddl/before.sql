CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, small TINYINT UNSIGNED NOT NULL,
  state ENUM('new', 'paid', 'sent') NOT NULL, flags SET('a', 'b', 'c') NOT NULL,
  label VARCHAR(50) CHARACTER SET latin1, note VARCHAR(50) CHARACTER SET utf8mb4) DEFAULT CHARSET=utf8mb4;
INSERT INTO items (id, qty, small, state, flags, label, note)
  SELECT seq, seq % 50, 250, 'paid', 'a,c', CONCAT('item ', seq), 'zürich' FROM seq_1_to_200;
