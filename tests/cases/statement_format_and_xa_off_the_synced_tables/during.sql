-- Statement format on the unselected database: InnoDB (XID), MyISAM (COMMIT), INTVAR, USER_VAR.
SET SESSION binlog_format = 'STATEMENT';
INSERT INTO `{db}_other`.t (v) VALUES ('a');
INSERT INTO `{db}_other`.m VALUES (1, 'a');
SET @x = 'var';
INSERT INTO `{db}_other`.t (v) VALUES (@x);
UPDATE `{db}_other`.t SET v = 'b' WHERE id = 1;
USE `{db}_other`;
DELETE FROM m WHERE id = 1;
USE `{db}`;
-- A temporary table in the synced database, by a session logging statements.
CREATE TEMPORARY TABLE scratch (id INT PRIMARY KEY, v INT);
INSERT INTO scratch VALUES (1, 1);
UPDATE scratch SET v = 2;
INSERT INTO `{db}_other`.t (v) SELECT v FROM scratch;
DROP TEMPORARY TABLE scratch;
SET SESSION binlog_format = 'MIXED';
UPDATE `{db}_other`.t SET v = 'c';
SET SESSION binlog_format = 'ROW';
UPDATE items SET qty = qty + 1 WHERE id <= 20;
-- XA on the unselected database: committed, one phase, rolled back.
XA START '{db}-1';
INSERT INTO `{db}_other`.t (v) VALUES ('xa');
XA END '{db}-1';
XA PREPARE '{db}-1';
XA COMMIT '{db}-1';
XA START '{db}-2';
INSERT INTO `{db}_other`.t (v) VALUES ('xa one phase');
XA END '{db}-2';
XA COMMIT '{db}-2' ONE PHASE;
XA START '{db}-3';
INSERT INTO `{db}_other`.t (v) VALUES ('xa rolled back');
XA END '{db}-3';
XA PREPARE '{db}-3';
XA ROLLBACK '{db}-3';
INSERT INTO items (id, qty, label) VALUES (1000, 1, 'after');
