-- Round {i}: eight new rows of 20,000 bytes (once the gate is open), about 150 rows (3 MB) a
-- second: more than the limits the case sets, without a backlog that takes minutes to apply.
INSERT INTO ev (round, body) SELECT {i}, REPEAT('x', 20000) FROM gate JOIN seq_1_to_8;
DO SLEEP(0.05);
