-- chameleon 1.4 -> 1.5: chameleon.show_tables() also says which of a table's MySQL CHECK
-- constraints PostgreSQL does not get, and why (read from the table model 1.4 keeps in
-- t_replica_tables.jsb_columns; nothing to migrate). FROZEN once released.
-- Safe while sources run: only the function changes.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.5'" to load this file. \quit

DROP FUNCTION chameleon.show_tables(text);
CREATE FUNCTION chameleon."show_tables"(
	"source" TEXT DEFAULT NULL
) RETURNS TABLE (
	"source_name" TEXT,
	"table_name" TEXT,
	"primary_key" TEXT[],
	"rows_copied" bigint,
	"values_changed_by_copy" bigint,
	"values_changed_by_replication" bigint,
	"rows_set_aside" bigint,
	"checks_not_carried" TEXT[]
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_tables_v15_wrapper';
REVOKE ALL ON FUNCTION chameleon.show_tables(text) FROM PUBLIC;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.5'::text AS t_version;
