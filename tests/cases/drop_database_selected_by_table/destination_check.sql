-- The destination's own view survived the DROP DATABASE; the old orders table is gone.
SELECT COUNT(*) = 1 FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{db}_dst' AND TABLE_NAME = 'own_view';
SELECT COUNT(*) = 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}_dst' AND TABLE_NAME = 'orders';
