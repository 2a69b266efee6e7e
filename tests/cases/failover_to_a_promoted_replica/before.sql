CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20) NULL);
INSERT INTO t (id, v, note) SELECT seq, seq, 'before' FROM seq_1_to_300;
