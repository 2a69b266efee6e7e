UPDATE items SET note = CONCAT('round ', {i}) WHERE id = {i} % 500 + 1;
