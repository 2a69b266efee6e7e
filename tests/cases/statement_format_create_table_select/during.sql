SET SESSION binlog_format = 'STATEMENT';
CREATE TABLE copy (PRIMARY KEY (id)) SELECT * FROM items WHERE id = 1;
