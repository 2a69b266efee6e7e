SET time_zone = '+01:00';
SET sql_mode = '';
INSERT INTO stamps VALUES (10, '1970-01-01 01:00:00.000002', '1970-01-01 01:00:00.002');
UPDATE stamps SET ts = '1970-01-01 01:00:00.000003' WHERE id = 3;
UPDATE stamps SET ts = '1970-01-01 01:00:02' WHERE id = 1;
DELETE FROM stamps WHERE id = 2;
INSERT INTO stamps_keyless VALUES ('1970-01-01 01:00:00.000004', 'c');
UPDATE stamps_keyless SET note = 'a2' WHERE note = 'a';
DELETE FROM stamps_keyless WHERE note = 'b';
