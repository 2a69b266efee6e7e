INSERT INTO items VALUES (({i} * 7) % 300 + 51, {i});
INSERT INTO secret VALUES (({i} * 7) % 300 + 6, {i});
