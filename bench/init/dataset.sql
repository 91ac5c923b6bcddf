-- bench/init data set: 1,100,000 rows over three tables, one of them wide. seq_1_to_600000 is
-- MariaDB's number table; on MySQL bench/init/run points it at a real table (bench_seq).
DROP DATABASE IF EXISTS bench;
CREATE DATABASE bench CHARACTER SET utf8mb4;
USE bench;
CREATE TABLE narrow (
  id INT PRIMARY KEY, a INT NOT NULL, b BIGINT NOT NULL, c VARCHAR(20) NOT NULL
);
INSERT INTO narrow SELECT seq, seq % 1000, seq * 7919, CONCAT('n', seq) FROM seq_1_to_600000;
CREATE TABLE wide (
  id INT PRIMARY KEY,
  i1 INT, i2 INT UNSIGNED, i3 SMALLINT, i4 TINYINT, i5 BIGINT,
  d1 DECIMAL(12,2), d2 DECIMAL(20,6), f1 DOUBLE, f2 FLOAT,
  s1 VARCHAR(100), s2 VARCHAR(100), s3 VARCHAR(255), s4 CHAR(10), t1 TEXT,
  dt1 DATETIME, dt2 DATETIME(6), dd DATE, tm TIME,
  e1 ENUM('red','green','blue'), b1 TINYINT(1),
  k1 INT, k2 INT, k3 VARCHAR(40), k4 DECIMAL(10,3), k5 BIGINT, k6 VARCHAR(60), k7 DOUBLE, k8 INT, k9 DATE
);
INSERT INTO wide SELECT seq, seq % 100000, seq * 3, seq % 30000, seq % 100, seq * 1000003,
  (seq % 100000) / 100, seq / 7, seq / 3.0, seq / 11.0,
  CONCAT('name ', seq), CONCAT('street ', seq % 5000, ' ü'), REPEAT(CHAR(65 + seq % 26), 40), LPAD(seq % 99999, 10, '0'),
  CONCAT('note for row ', seq, ' — with some longer text to make the row wide'),
  FROM_UNIXTIME(1600000000 + seq), FROM_UNIXTIME(1600000000 + seq + 0.123456), DATE('2020-01-01') + INTERVAL seq % 3000 DAY,
  SEC_TO_TIME(seq % 86400), ELT(1 + seq % 3, 'red', 'green', 'blue'), seq % 2,
  seq % 77, seq % 991, LEFT(SHA2(seq, 256), 32), seq / 13, seq * 17, CONCAT('k6-', seq), seq / 9.0, seq % 13, DATE('2000-01-01') + INTERVAL seq % 9000 DAY
FROM seq_1_to_600000 WHERE seq <= 300000;
CREATE TABLE events (
  id BIGINT UNSIGNED PRIMARY KEY, ts TIMESTAMP(6) NOT NULL, payload JSON, bin VARBINARY(64)
);
INSERT INTO events SELECT seq, FROM_UNIXTIME(1700000000 + seq / 10), JSON_OBJECT('n', seq, 'tag', CONCAT('t', seq % 50)), UNHEX(LEFT(SHA2(seq, 256), 32))
FROM seq_1_to_600000 WHERE seq <= 200000;
