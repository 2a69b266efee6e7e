-- Round {i}: a keyless insert (once the gate is open), a keyed update.
INSERT INTO log SELECT {i}, CONCAT('round ', {i}) FROM gate;
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 20000 + 1;
