-- A latin1 session: the statements reach the binlog as latin1 bytes (é = E9, ï = EF), built
-- with UNHEX because this file is UTF-8.
SET NAMES latin1;
SET @e = UNHEX('E9'), @i = UNHEX('EF');
SET @ddl = CONCAT('ALTER TABLE items ADD COLUMN kind ENUM(''plain'', ''caf', @e, ''', ''na', @i, 've'') NOT NULL DEFAULT ''plain'', ADD COLUMN note VARCHAR(20) DEFAULT ''na', @i, 've'' COMMENT ''cr', @e, 'me''');
PREPARE s FROM @ddl;
EXECUTE s;
SET @ddl = CONCAT('ALTER TABLE l1 ADD COLUMN `n', @e, '` VARCHAR(10) DEFAULT ''d', @e, 'j', @e, '''');
PREPARE s FROM @ddl;
EXECUTE s;
DEALLOCATE PREPARE s;
-- cp1251, which the reader has no table for: the source converts it (привет = EF F0 E8 E2 E5 F2).
SET NAMES cp1251;
SET @ddl = CONCAT('ALTER TABLE l1 ADD COLUMN greeting VARCHAR(10) CHARACTER SET utf8mb4 DEFAULT ''', UNHEX('EFF0E8E2E5F2'), ''' COMMENT ''', UNHEX('EFF0E8E2E5F2'), '''');
PREPARE s FROM @ddl;
EXECUTE s;
DEALLOCATE PREPARE s;
SET NAMES utf8mb4;
UPDATE items SET kind = 2 WHERE id <= 10;
UPDATE items SET kind = 3 WHERE id > 190;
INSERT INTO items (id, qty, label) VALUES (500, 1, 'default note');
INSERT INTO l1 (id) VALUES (100);
