CREATE TABLE picks (id INT PRIMARY KEY, e ENUM('a','b') NULL, e2 ENUM('x','y') NOT NULL, f DOUBLE);
CREATE TABLE picks_loaded (id INT PRIMARY KEY, e ENUM('a','b') NULL, e2 ENUM('x','y') NOT NULL);
CREATE TABLE picks_keyless (e ENUM('a','b') NULL, note VARCHAR(10));
SET sql_mode = '';
INSERT INTO picks VALUES (1, 'zz', 'x', 1.5), (2, 'a', 'bogus', 2.5), (3, 'b', 'y', 0);
INSERT INTO picks_loaded VALUES (1, 'zz', 'x'), (2, 'a', 'bogus'), (3, 'b', 'y');
INSERT INTO picks_keyless VALUES ('zz', 'a'), ('a', 'b');
