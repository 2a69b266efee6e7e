CREATE TABLE items (id INT PRIMARY KEY, qty INT);
-- UUID_SHORT() differs between servers: a trigger firing on the destination too adds rows.
CREATE TABLE audit (id BIGINT UNSIGNED PRIMARY KEY, item INT, what VARCHAR(10), qty INT);
CREATE TRIGGER items_bi BEFORE INSERT ON items FOR EACH ROW SET NEW.qty = NEW.qty * 2;
CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW INSERT INTO audit VALUES (UUID_SHORT(), NEW.id, 'insert', NEW.qty);
CREATE TRIGGER items_au AFTER UPDATE ON items FOR EACH ROW BEGIN INSERT INTO audit VALUES (UUID_SHORT(), NEW.id, 'update', NEW.qty); END;
CREATE TRIGGER items_bd BEFORE DELETE ON items FOR EACH ROW INSERT INTO audit VALUES (UUID_SHORT(), OLD.id, 'delete', OLD.qty);
INSERT INTO items SELECT seq, seq FROM seq_1_to_100;
