CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, u INT NOT NULL, c VARCHAR(60) NOT NULL,
  d DATETIME NOT NULL DEFAULT '2024-01-01 00:00:00',
  KEY k_1 (k), UNIQUE KEY uu (u), KEY `odd``name, x` (c(12), k DESC) COMMENT 'prefix, descending',
  KEY kd (d, id), FULLTEXT KEY ft (c)) DEFAULT CHARSET=utf8mb4;
INSERT INTO t (id, k, u, c) SELECT seq, seq * 7919 % 30011, seq, CONCAT('word', seq % 97, ' x', seq) FROM seq_1_to_40000;
CREATE TABLE small (id INT PRIMARY KEY, k INT, KEY k (k));
INSERT INTO small SELECT seq, seq % 10 FROM seq_1_to_100;
ANALYZE TABLE t, small;
