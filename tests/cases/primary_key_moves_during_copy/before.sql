CREATE TABLE accounts (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, bal INT NOT NULL, UNIQUE KEY code (code))
  DEFAULT CHARSET=utf8mb4;
INSERT INTO accounts SELECT seq, CONCAT('c', seq), seq FROM seq_1_to_12000;
