DROP DATABASE `{db}`;
CREATE DATABASE `{db}`;
USE `{db}`;
CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL, label VARCHAR(50)) DEFAULT CHARSET=utf8mb4;
INSERT INTO items (id, qty, label) SELECT seq, seq % 7, 'again' FROM seq_1_to_30;
