-- Someone else's table under the name the source is about to create, of another definition:
-- applied into it, 1.2345 and 2.5 would be stored as 1 and 3.
CREATE DATABASE IF NOT EXISTS {db};
CREATE TABLE {db}.prices (id INT PRIMARY KEY, d DECIMAL(10,0));
