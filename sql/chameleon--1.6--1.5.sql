-- chameleon 1.6 -> 1.5: refused while a background copy or sync_tables has tables waiting or staged (a half-copied
-- source has no 1.5 meaning: finish it, or drop the source); otherwise the copy state and
-- copy points go (1.5 replays from the source's position alone: stop a source whose
-- copy points are still ahead of it, i.e. started after a background copy and not yet past
-- them, only once show_status shows it caught up). FROZEN once released.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.5'" to load this file. \quit

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM sch_chameleon.t_replica_tables WHERE enm_copy_state <> 'copied') THEN
        RAISE EXCEPTION 'chameleon 1.6 -> 1.5: a background copy or sync_tables has tables waiting or staged'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Let it finish (SELECT * FROM chameleon.show_copy()), or drop the source, then downgrade.';
    END IF;
END
$$;

DROP FUNCTION chameleon.sync_tables(text, text[]);
DROP FUNCTION chameleon.show_copy(text);
DROP FUNCTION chameleon.init_replica(text, boolean);
CREATE FUNCTION chameleon."init_replica"(
	"source" TEXT
) RETURNS bigint
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'init_replica_wrapper';
REVOKE ALL ON FUNCTION chameleon.init_replica(text) FROM PUBLIC;

ALTER TABLE sch_chameleon.t_replica_tables
    DROP COLUMN enm_copy_state,
    DROP COLUMN t_copy_binlog_name,
    DROP COLUMN i_copy_binlog_position,
    DROP COLUMN t_copy_gtid,
    DROP COLUMN i_rows_estimate,
    DROP COLUMN ts_queued,
    DROP COLUMN jsb_copy_columns;
DROP TYPE sch_chameleon.en_copy_state;

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
	"mysql_conn" TEXT
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'show_status_wrapper';
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

CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.5'::text AS t_version;
