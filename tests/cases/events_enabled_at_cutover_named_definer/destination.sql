-- The definer account must exist on the destination with the privileges its objects use.
CREATE USER IF NOT EXISTS 'dts_app'@'%';
GRANT ALL ON *.* TO 'dts_app'@'%';
