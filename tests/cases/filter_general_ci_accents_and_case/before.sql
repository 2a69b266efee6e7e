CREATE TABLE places (id INT PRIMARY KEY, city VARCHAR(40) COLLATE utf8mb4_general_ci,
  tag VARCHAR(20) COLLATE utf8mb4_general_ci, n INT NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO places SELECT seq, ELT(seq % 6 + 1, 'Zürich', 'Bern', 'ZURICH ', 'zurich', 'Zurich-Nord', NULL),
  ELT(seq % 5 + 1, 'ábc', 'abx', 'xyz', 'Ab', NULL), 0 FROM seq_1_to_2000;
