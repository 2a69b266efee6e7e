SET sql_mode = '';
INSERT INTO picks VALUES (10, 'nope', 'nope', 1);
UPDATE picks SET e = 'bad' WHERE id = 3;
UPDATE picks SET e2 = 'y' WHERE id = 2;
DELETE FROM picks WHERE id = 1;
INSERT INTO picks_loaded VALUES (10, 'nope', 'nope');
INSERT INTO picks_keyless VALUES ('nope', 'c');
UPDATE picks_keyless SET note = 'a2' WHERE note = 'a';
DELETE FROM picks_keyless WHERE note = 'b';
