-- The definitions mean the same characters on the destination.
SELECT COLUMN_TYPE = 'enum(''plain'',''café'',''naïve'')' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'items' AND COLUMN_NAME = 'kind';
SELECT COLUMN_DEFAULT = '''naïve''' AND COLUMN_COMMENT = 'crème' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'items' AND COLUMN_NAME = 'note';
SELECT COLUMN_DEFAULT = '''déjé''' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'l1' AND COLUMN_NAME = 'né';
SELECT COLUMN_DEFAULT = '''привет''' AND COLUMN_COMMENT = 'привет' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 'l1' AND COLUMN_NAME = 'greeting';
