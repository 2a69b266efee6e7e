CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB;
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount INT NOT NULL,
  KEY customer_id (customer_id),
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB;
CREATE TABLE order_lines (id INT PRIMARY KEY, order_id INT NOT NULL, qty INT NOT NULL,
  KEY order_id (order_id),
  CONSTRAINT lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB;
CREATE TABLE notes (id INT PRIMARY KEY, customer_id INT NULL, body VARCHAR(40),
  KEY customer_id (customer_id),
  CONSTRAINT notes_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL ON UPDATE CASCADE
) ENGINE=InnoDB;
CREATE TABLE plain (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('c', seq) FROM seq_1_to_2000;
INSERT INTO orders SELECT seq, (seq % 2000) + 1, seq FROM seq_1_to_6000;
INSERT INTO order_lines SELECT seq, (seq % 6000) + 1, seq % 7 FROM seq_1_to_12000;
INSERT INTO notes SELECT seq, (seq % 2000) + 1, CONCAT('n', seq) FROM seq_1_to_2000;
INSERT INTO plain SELECT seq, seq FROM seq_1_to_3000;
