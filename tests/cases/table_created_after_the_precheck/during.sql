CREATE TABLE after_precheck (id INT PRIMARY KEY, v VARCHAR(10)) DEFAULT CHARSET=latin1;
INSERT INTO after_precheck VALUES (1, 'x'), (2, 'y'), (3, 'z');
