SELECT COUNT(*) = 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}_dst' AND TABLE_NAME = 'items_old';
