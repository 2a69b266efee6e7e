-- Round {i}: only the left-out column changes, then a synced one.
UPDATE events SET hits = hits + 1 WHERE grp = {i} % 50 LIMIT 1;
UPDATE events SET note = CONCAT('w', {i}) WHERE grp = ({i} * 7) % 50 LIMIT 1;
INSERT INTO events VALUES ({i} % 50, CONCAT('n', {i}), 0);
