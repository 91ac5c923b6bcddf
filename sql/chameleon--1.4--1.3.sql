-- chameleon 1.4 -> 1.3: the kept table models, the replication's counts of changed values and
-- show_tables() are dropped (a 1.3 worker reads MySQL's shape).
-- FROZEN once released.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.3'" to load this file. \quit

DROP FUNCTION chameleon.show_tables(text);
ALTER TABLE sch_chameleon.t_replica_tables DROP COLUMN jsb_columns, DROP COLUMN i_values_changed;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.3'::text AS t_version;
