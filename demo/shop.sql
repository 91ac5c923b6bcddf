-- The demo's sample shop: three related tables, realistic types, 122,000 rows.
DROP DATABASE IF EXISTS shop;
CREATE DATABASE shop CHARACTER SET utf8mb4;
USE shop;
CREATE TABLE customer (
  customer_id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  name        VARCHAR(100) NOT NULL,
  email       VARCHAR(200) NOT NULL UNIQUE,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
);
CREATE TABLE product (
  product_id  INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  title       VARCHAR(200) NOT NULL,
  price       DECIMAL(10,2) NOT NULL,
  stock       MEDIUMINT NOT NULL,
  attrs       JSON
);
CREATE TABLE orders (
  order_id    BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  product_id  INT UNSIGNED NOT NULL,
  qty         SMALLINT NOT NULL,
  status      ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
  ordered_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  FOREIGN KEY (customer_id) REFERENCES customer (customer_id),
  FOREIGN KEY (product_id) REFERENCES product (product_id)
);
INSERT INTO customer (name, email)
SELECT CONCAT('Customer ', seq, IF(seq % 10 = 0, ' 🦎', '')), CONCAT('c', seq, '@example.com') FROM seq_1_to_20000;
INSERT INTO product (title, price, stock, attrs)
SELECT CONCAT('Product ', seq), seq * 1.25, CAST(seq % 500 AS SIGNED) - 50, JSON_OBJECT('color', ELT(1 + seq % 3, 'red', 'green', 'blue'))
  FROM seq_1_to_2000;
INSERT INTO orders (customer_id, product_id, qty, status)
SELECT 1 + seq % 20000, 1 + seq % 2000, 1 + seq % 5, ELT(1 + seq % 3, 'new', 'paid', 'shipped') FROM seq_1_to_100000;
ANALYZE TABLE customer, product, orders;
