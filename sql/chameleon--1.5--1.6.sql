-- chameleon 1.5 -> 1.6: init_replica(source, wait => false) copies in the background, table by
-- table, with parallel_tables copy workers, resumably; sync_tables(source, tables) copies
-- tables again while the source replicates the others (so do tables newly included); each
-- table keeps the point its copy was taken at and replication skips what that copy holds
-- (docs/large-copies.md); show_copy() follows the copies, show_status() says how far a copy
-- is (copy_progress; the function is made again, its grants kept). Tables copied before keep a NULL copy point (nothing to skip: replication
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
    ADD COLUMN ts_queued timestamptz,
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

-- grants on show_status() outlive its new definition
CREATE TEMP TABLE chameleon_show_status_grants ON COMMIT DROP AS
    SELECT a.grantee::regrole::text AS grantee
      FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
     WHERE p.oid = 'chameleon.show_status()'::regprocedure AND a.privilege_type = 'EXECUTE'
       AND a.grantee <> 0 AND a.grantee <> p.proowner;
DROP FUNCTION chameleon.show_status();
CREATE FUNCTION chameleon."show_status"() RETURNS TABLE (
	"source" TEXT,
	"dest_schema" TEXT,
	"status" TEXT,
	"enabled" bool,
	"replay_paused" bool,
	"worker_pid" INT,
	"read_lag" interval,
	"replay_lag" interval,
	"last_received_event" timestamp with time zone,
	"last_replayed_event" timestamp with time zone,
	"binlog_file" TEXT,
	"binlog_position" bigint,
	"gtid" TEXT,
	"batches_pending" bigint,
	"events_pending" bigint,
	"tables" bigint,
	"tables_without_pk" bigint,
	"discarded_rows" bigint,
	"last_error" TEXT,
	"mysql_conn" TEXT,
	"copy_progress" TEXT
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_status_v16_wrapper';
REVOKE ALL ON FUNCTION chameleon.show_status() FROM PUBLIC;
DO $$
DECLARE
    g text;
BEGIN
    FOR g IN SELECT grantee FROM chameleon_show_status_grants LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION chameleon.show_status() TO %s', g);
    END LOOP;
END
$$;
DROP TABLE chameleon_show_status_grants;

CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.6'::text AS t_version;
