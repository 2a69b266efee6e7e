CREATE TABLE w (s VARCHAR(10) COLLATE utf8mb4_general_ci, n INT, KEY (s)) DEFAULT CHARSET=utf8mb4;
INSERT INTO w VALUES ('a', 0), ('A', 0), ('x', 0), ('x ', 0);
