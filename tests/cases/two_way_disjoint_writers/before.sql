CREATE TABLE t (id INT NOT NULL PRIMARY KEY, node CHAR(1) NOT NULL, n INT NOT NULL, payload VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, KEY (n));
CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) CHARACTER SET latin1 NOT NULL, v INT, PRIMARY KEY (a, b));
INSERT INTO t SELECT seq, 'x', 0, CONCAT('row ', seq) FROM seq_1_to_4000;
INSERT INTO pairs SELECT seq, IF(seq % 2 = 1, 'odd', 'even'), 0 FROM seq_1_to_400;
