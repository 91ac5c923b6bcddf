-- chameleon 1.3 -> 1.4: the model of each replicated table is kept with the resume position
-- (t_replica_tables.jsb_columns), so that a worker starting after schema changes on MySQL
-- decodes the binlog with the shape it had at the position; values replication changes on
-- their way are counted per table (i_values_changed) and shown by chameleon.show_tables().
-- FROZEN once released.
-- Safe while sources run: existing tables get NULL (a worker then reads MySQL's shape, as in
-- 1.3); init_replica and each replicated schema change fill it.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.4'" to load this file. \quit

ALTER TABLE sch_chameleon.t_replica_tables ADD COLUMN jsb_columns jsonb,
    ADD COLUMN i_values_changed bigint NOT NULL DEFAULT 0;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.4'::text AS t_version;

-- per table: primary key, rows copied, values changed by the copy and by replication, rows set
-- aside (as the generated 1.4 script defines it)
CREATE FUNCTION chameleon."show_tables"(
	"source" TEXT DEFAULT NULL
) RETURNS TABLE (
	"source_name" TEXT,
	"table_name" TEXT,
	"primary_key" TEXT[],
	"rows_copied" bigint,
	"values_changed_by_copy" bigint,
	"values_changed_by_replication" bigint,
	"rows_set_aside" bigint
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_tables_wrapper';
REVOKE ALL ON FUNCTION chameleon.show_tables(text) FROM PUBLIC;
