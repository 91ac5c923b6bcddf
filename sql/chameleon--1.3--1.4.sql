-- chameleon 1.3 -> 1.4: the model of each replicated table is kept with the resume position
-- (t_replica_tables.jsb_columns), so that a worker starting after schema changes on MySQL
-- decodes the binlog with the shape it had at the position. FROZEN once released.
-- Safe while sources run: existing tables get NULL (a worker then reads MySQL's shape, as in
-- 1.3); init_replica and each replicated schema change fill it.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.4'" to load this file. \quit

ALTER TABLE sch_chameleon.t_replica_tables ADD COLUMN jsb_columns jsonb;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.4'::text AS t_version;
