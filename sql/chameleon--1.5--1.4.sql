-- chameleon 1.5 -> 1.4: show_tables() as 1.4 had it. FROZEN once released.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.4'" to load this file. \quit

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
	"rows_set_aside" bigint
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_tables_wrapper';
REVOKE ALL ON FUNCTION chameleon.show_tables(text) FROM PUBLIC;
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.4'::text AS t_version;
