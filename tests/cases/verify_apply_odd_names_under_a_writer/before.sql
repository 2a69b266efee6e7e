CREATE TABLE `select` (`key` INT PRIMARY KEY, `order` VARCHAR(20) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO `select` SELECT seq, CONCAT('o', seq) FROM seq_1_to_500;
CREATE TABLE `t``ick 'q' "dq" é` (`id``x` INT PRIMARY KEY, `név` VARCHAR(30) NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO `t``ick 'q' "dq" é` SELECT seq, CONCAT('név ', seq, ' 日本') FROM seq_1_to_300;
CREATE TABLE ci (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO ci VALUES ('abc', 1), ('Déf', 2), ('xyz', 3);
CREATE TABLE `no key` (a INT, b VARCHAR(10));
INSERT INTO `no key` VALUES (1, 'x'), (1, 'x'), (2, 'y');
