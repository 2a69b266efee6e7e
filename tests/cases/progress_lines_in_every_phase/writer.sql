-- Round {i}: updates only, so the copy's count stays the seeded 3000 rows.
UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 3000 + 1;
