-- chameleon 1.3 -> 1.2: the release note's rollback path, without a restore.
-- FROZEN once released. Runs in one transaction: interrupted, it leaves the 1.3 catalogue.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.2'" to load this file. \quit

LOCK TABLE sch_chameleon.t_sources, sch_chameleon.t_replica_batch IN EXCLUSIVE MODE;
DO $$
DECLARE
    v_busy text;
BEGIN
    SELECT string_agg(format('%s (%s)', t_source, enm_status), ', ' ORDER BY t_source) INTO v_busy
      FROM sch_chameleon.t_sources
     WHERE enm_status NOT IN ('stopped', 'ready', 'initialised');
    IF v_busy IS NOT NULL THEN
        RAISE EXCEPTION 'chameleon cannot migrate its catalogue to 1.2 while sources are replicating or copying'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Sources not stopped: %s. Nothing was changed.', v_busy),
                  HINT = 'Stop them (SELECT chameleon.stop_replica(...); sources in error: chameleon.enable_replica(...)) until chameleon.show_status() shows every source stopped, then run ALTER EXTENSION chameleon UPDATE again.';
    END IF;
END
$$;

-- the shared log tables of 1.2, as its install script makes them
CREATE TABLE sch_chameleon.t_log_replica_1 (
    CONSTRAINT pk_t_log_replica_1 PRIMARY KEY (i_id_event),
    CONSTRAINT fk_t_log_replica_1_batch FOREIGN KEY (i_id_batch)
        REFERENCES sch_chameleon.t_replica_batch (i_id_batch) ON DELETE CASCADE
) INHERITS (sch_chameleon.t_log_replica);
CREATE INDEX idx_t_log_replica_1_batch ON sch_chameleon.t_log_replica_1 (i_id_batch, i_id_event);
CREATE TABLE sch_chameleon.t_log_replica_2 (
    CONSTRAINT pk_t_log_replica_2 PRIMARY KEY (i_id_event),
    CONSTRAINT fk_t_log_replica_2_batch FOREIGN KEY (i_id_batch)
        REFERENCES sch_chameleon.t_replica_batch (i_id_batch) ON DELETE CASCADE
) INHERITS (sch_chameleon.t_log_replica);
CREATE INDEX idx_t_log_replica_2_batch ON sch_chameleon.t_log_replica_2 (i_id_batch, i_id_event);
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_log_replica_1', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_log_replica_2', '');

-- every batch goes to t_log_replica_1 (the default), so every row moves there
ALTER TABLE sch_chameleon.t_replica_batch
    ADD COLUMN v_log_table varchar NOT NULL DEFAULT 't_log_replica_1'
    CONSTRAINT ck_t_replica_batch_log_table CHECK (v_log_table IN ('t_log_replica_1', 't_log_replica_2'));

SET LOCAL client_min_messages = notice;
DO $$
DECLARE
    r       record;
    v_total bigint;
    v_moved bigint := 0;
    v_rows  bigint;
BEGIN
    SELECT count(*) INTO v_total FROM sch_chameleon.t_log_replica;
    RAISE NOTICE 'chameleon 1.3 -> 1.2: moving % pending log rows into t_log_replica_1', v_total;
    FOR r IN SELECT s.i_id_source, s.t_source, s.v_log_table FROM sch_chameleon.t_sources s ORDER BY s.i_id_source LOOP
        IF to_regclass(format('sch_chameleon.%I', r.v_log_table[1])) IS NOT NULL THEN
            EXECUTE format(
                'INSERT INTO sch_chameleon.t_log_replica_1
                        (i_id_event, i_id_batch, v_table_name, v_schema_name, enm_binlog_event, t_binlog_name,
                         i_binlog_position, ts_event_datetime, jsb_event_data, jsb_event_update, t_query)
                 SELECT i_id_event, i_id_batch, v_table_name, v_schema_name, enm_binlog_event, t_binlog_name,
                        i_binlog_position, ts_event_datetime, jsb_event_data, jsb_event_update, t_query
                   FROM (SELECT * FROM sch_chameleon.%I UNION ALL SELECT * FROM sch_chameleon.%I) l
                  ORDER BY i_id_batch, i_id_event', r.v_log_table[1], r.v_log_table[2]);
            GET DIAGNOSTICS v_rows = ROW_COUNT;
            v_moved := v_moved + v_rows;
            RAISE NOTICE 'chameleon 1.3 -> 1.2: source "%": % rows moved (% of % done)',
                r.t_source, v_rows, v_moved, v_total;
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS sch_chameleon.%I, sch_chameleon.%I', r.v_log_table[1], r.v_log_table[2]);
    END LOOP;
    IF v_moved <> v_total THEN
        RAISE EXCEPTION 'chameleon 1.3 -> 1.2: moved % log rows of %', v_moved, v_total
            USING HINT = 'Nothing was changed. A log table outside its source''s pair holds rows: report this with a pg_dump of sch_chameleon.';
    END IF;
END
$$;

DROP FUNCTION sch_chameleon.fn_refresh_parts();
ALTER TABLE sch_chameleon.t_sources DROP COLUMN v_log_table;

CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.2'::text AS t_version;
CREATE OR REPLACE FUNCTION chameleon."sync_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_replica_wrapper';
