SET SESSION binlog_format = 'STATEMENT';
UPDATE items SET v = 'changed' WHERE id = 1;
