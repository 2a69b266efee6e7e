INSERT INTO events VALUES ({i} % 10, CONCAT('w', {i}));
UPDATE events SET note = CONCAT(note, '+') WHERE grp = {i} % 10 LIMIT 1;
DELETE FROM events WHERE {i} % 4 = 0 AND grp = ({i} * 3) % 10 LIMIT 1;
