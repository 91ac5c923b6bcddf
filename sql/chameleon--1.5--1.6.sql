-- chameleon 1.5 -> 1.6: init_replica(source, wait => false) copies in the background, table by
-- table, with parallel_tables copy workers, resumably; sync_tables(source, tables) copies
-- tables again while the source replicates the others (so do tables newly included); each
-- table keeps the point its copy was taken at and replication skips what that copy holds
-- (docs/large-copies.md); show_copy() follows the copies. Tables copied before keep a NULL copy point (nothing to skip: replication
-- starts where their copy was taken). FROZEN once released.
-- Safe while sources run: a running worker reads copy points only when it (re)starts.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.6'" to load this file. \quit

CREATE TYPE sch_chameleon.en_copy_state AS ENUM ('waiting', 'staged', 'copied');
ALTER TABLE sch_chameleon.t_replica_tables
    ADD COLUMN enm_copy_state sch_chameleon.en_copy_state NOT NULL DEFAULT 'copied',
    ADD COLUMN t_copy_binlog_name text,
    ADD COLUMN i_copy_binlog_position bigint,
    ADD COLUMN t_copy_gtid text,
    ADD COLUMN i_rows_estimate bigint,
    ADD COLUMN jsb_copy_columns jsonb;

DROP FUNCTION chameleon.init_replica(text);
CREATE FUNCTION chameleon."init_replica"(
	"source" TEXT,
	"wait" bool DEFAULT true
) RETURNS bigint
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'init_replica_v16_wrapper';
REVOKE ALL ON FUNCTION chameleon.init_replica(text, boolean) FROM PUBLIC;

CREATE FUNCTION chameleon."show_copy"(
	"source" TEXT DEFAULT NULL
) RETURNS TABLE (
	"source_name" TEXT,
	"table_name" TEXT,
	"state" TEXT,
	"rows_estimate" bigint,
	"rows_copied" bigint,
	"copied_at" timestamp with time zone,
	"copy_point" TEXT
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_copy_wrapper';
REVOKE ALL ON FUNCTION chameleon.show_copy(text) FROM PUBLIC;

CREATE FUNCTION chameleon."sync_tables"(
	"source" TEXT,
	"tables" TEXT[]
) RETURNS bigint
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'sync_tables_wrapper';
REVOKE ALL ON FUNCTION chameleon.sync_tables(text, text[]) FROM PUBLIC;

CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.6'::text AS t_version;
