-- Each twin is inserted before the row the source changes, so an index lookup under the
-- column's collation finds the twin first.
CREATE TABLE words (w VARCHAR(20) COLLATE utf8mb4_general_ci, n INT NOT NULL, KEY w (w)) DEFAULT CHARSET=utf8mb4;
INSERT INTO words VALUES ('a', 0), ('A', 0), ('x', 0), ('x ', 0), ('é', 0), ('e', 0), ('b', 0), ('B', 0);
CREATE TABLE names (w CHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci, n INT);
INSERT INTO names VALUES ('ab', 0), ('AB', 0), ('ü', 0), ('y', 0);
CREATE TABLE notes (t TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, n INT);
INSERT INTO notes VALUES ('Straße', 0), ('strasse', 0), ('q', 0), ('Q', 0);
