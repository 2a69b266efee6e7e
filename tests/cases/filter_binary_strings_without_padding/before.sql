CREATE TABLE blobs (id INT PRIMARY KEY, code VARBINARY(10), fixed BINARY(4), body BLOB, n INT NOT NULL);
INSERT INTO blobs SELECT seq, ELT(seq % 5 + 1, 'abc', 'abc ', 'ABC', 'ab', NULL),
  ELT(seq % 3 + 1, 'ab', 'ab ', 'AB'), ELT(seq % 4 + 1, 'x1', 'X1', ' x', NULL), 0 FROM seq_1_to_2000;
