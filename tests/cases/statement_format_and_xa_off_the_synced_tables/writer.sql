UPDATE items SET qty = qty + 1 WHERE id = ({i} * 7919) % 200 + 1;
SET SESSION binlog_format = 'STATEMENT';
INSERT INTO `{db}_other`.t (v) VALUES (CONCAT('w', {i}));
SET SESSION binlog_format = 'ROW';
INSERT INTO items (id, qty, label) VALUES (2000 + {i}, {i} % 7, 'new');
