CREATE TRIGGER items_au2 AFTER UPDATE ON items FOR EACH ROW FOLLOWS items_au INSERT INTO audit VALUES (UUID_SHORT(), NEW.id, 'update2', NEW.qty);
UPDATE items SET qty = qty + 100 WHERE id <= 5;
DROP TRIGGER items_bd;
DELETE FROM items WHERE id = 6;
