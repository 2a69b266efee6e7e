-- Round {i}: four new rows (once the gate is open), far more than the limits the case sets.
INSERT INTO ev (round, k) SELECT {i}, k FROM gate JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) four;
