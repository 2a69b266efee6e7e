CREATE TABLE ev (id BIGINT AUTO_INCREMENT PRIMARY KEY, round BIGINT NOT NULL, body VARCHAR(20000) NOT NULL) DEFAULT CHARSET=latin1;
INSERT INTO ev (round, body) SELECT 0, 'x' FROM seq_1_to_100;
-- The writer writes once a step opens the gate: after the full copy and its catch-up, so what
-- is measured is new rows only.
CREATE TABLE gate (open INT PRIMARY KEY);
