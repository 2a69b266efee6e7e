CREATE TABLE ev (id BIGINT AUTO_INCREMENT PRIMARY KEY, round BIGINT NOT NULL, k INT NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO ev (round, k) SELECT 0, seq FROM seq_1_to_100;
-- The writer writes once a step opens the gate: after the full copy and its catch-up, so what
-- is measured is new rows only.
CREATE TABLE gate (open INT PRIMARY KEY);
