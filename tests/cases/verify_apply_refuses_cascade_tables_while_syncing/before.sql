CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB;
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount INT NOT NULL,
  KEY customer_id (customer_id),
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE notes (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('c', seq) FROM seq_1_to_20;
INSERT INTO orders SELECT seq, seq % 20 + 1, seq FROM seq_1_to_100;
INSERT INTO notes SELECT seq, CONCAT('n', seq) FROM seq_1_to_50;
