-- chameleon 1.4 -> 1.3: the kept table models are dropped (a 1.3 worker reads MySQL's shape).
-- FROZEN once released.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.3'" to load this file. \quit

ALTER TABLE sch_chameleon.t_replica_tables DROP COLUMN jsb_columns;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.3'::text AS t_version;
