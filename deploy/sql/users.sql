-- Least-privilege MariaDB users for IPoid. Run once, as an administrator, on the primary
-- (replication carries users and grants to the replicas):
--   mariadb -u root -p < deploy/sql/users.sql
-- Before running, replace both REPLACE_WITH_… passwords (the chart puts them into URLs:
-- percent-encode any of : / ? # [ ] @ % in them), and the database name `ipoid` if yours
-- differs. Narrow '%' to the pods' network (e.g. '10.%') where you can.

CREATE DATABASE IF NOT EXISTS `ipoid` CHARACTER SET utf8mb4;

-- The API (IPOID_DB_READ_URL, on the replicas): reads and nothing else.
CREATE USER IF NOT EXISTS 'ipoid_reader'@'%' IDENTIFIED BY 'REPLACE_WITH_READER_PASSWORD';
GRANT SELECT ON `ipoid`.* TO 'ipoid_reader'@'%';

-- The update job (IPOID_DB_URL, on the primary). The import writes rows (SELECT, INSERT,
-- UPDATE, DELETE) and stages the keys it has seen in temporary tables. IPoid also migrates
-- the schema whenever it opens the database for writing, so this user holds the DDL too,
-- on this database only: CREATE (tables; also checked for CREATE TABLE IF NOT EXISTS on
-- every start), DROP (CREATE OR REPLACE of the ip_reputation view needs it), CREATE VIEW,
-- REFERENCES (foreign keys), and ALTER and INDEX for later schema versions. No global
-- privilege: the import lock is GET_LOCK, which needs none.
CREATE USER IF NOT EXISTS 'ipoid_importer'@'%' IDENTIFIED BY 'REPLACE_WITH_IMPORTER_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES,
      CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW
   ON `ipoid`.* TO 'ipoid_importer'@'%';
