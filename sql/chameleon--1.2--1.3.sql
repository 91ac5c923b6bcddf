-- chameleon 1.2 -> 1.3: per-source log tables (pg_chameleon 1.3 release note).
-- FROZEN once released. Runs in one transaction: interrupted, it leaves the 1.2 catalogue.
\echo Use "ALTER EXTENSION chameleon UPDATE TO '1.3'" to load this file. \quit

-- 0. The release note's first step, enforced: every source stopped (or not yet replicating).
--    The locks keep statuses, batches and log rows still until the upgrade commits.
LOCK TABLE sch_chameleon.t_sources, sch_chameleon.t_replica_batch,
           sch_chameleon.t_log_replica_1, sch_chameleon.t_log_replica_2 IN EXCLUSIVE MODE;
DO $$
DECLARE
    v_busy text;
BEGIN
    SELECT string_agg(format('%s (%s)', t_source, enm_status), ', ' ORDER BY t_source) INTO v_busy
      FROM sch_chameleon.t_sources
     WHERE enm_status NOT IN ('stopped', 'ready', 'initialised');
    IF v_busy IS NOT NULL THEN
        RAISE EXCEPTION 'chameleon cannot migrate its catalogue to 1.3 while sources are replicating or copying'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Sources not stopped: %s. Nothing was changed.', v_busy),
                  HINT = 'Stop them (SELECT chameleon.stop_replica(...); sources in error: chameleon.enable_replica(...)) until chameleon.show_status() shows every source stopped, back up sch_chameleon with pg_dump, then run ALTER EXTENSION chameleon UPDATE again.';
    END IF;
END
$$;

-- 1. v_log_table on t_sources, filled for every existing source
ALTER TABLE sch_chameleon.t_sources ADD COLUMN v_log_table varchar[];
UPDATE sch_chameleon.t_sources
   SET v_log_table = ARRAY[format('t_log_replica_1_src_%s', i_id_source),
                           format('t_log_replica_2_src_%s', i_id_source)]::varchar[];
ALTER TABLE sch_chameleon.t_sources ALTER COLUMN v_log_table SET NOT NULL;
ALTER TABLE sch_chameleon.t_sources
    ADD CONSTRAINT ck_t_sources_log_table_pair CHECK (cardinality(v_log_table) = 2);

-- 2. fn_refresh_parts()
CREATE FUNCTION sch_chameleon.fn_refresh_parts() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $BODY$
DECLARE
    r       record;
    v_table varchar;
BEGIN
    FOR r IN SELECT i_id_source, v_log_table FROM sch_chameleon.t_sources ORDER BY i_id_source LOOP
        FOREACH v_table IN ARRAY r.v_log_table LOOP
            IF to_regclass(format('sch_chameleon.%I', v_table)) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE sch_chameleon.%I ('
                    ' CONSTRAINT %I PRIMARY KEY (i_id_event),'
                    ' CONSTRAINT %I FOREIGN KEY (i_id_batch)'
                    '   REFERENCES sch_chameleon.t_replica_batch (i_id_batch) ON DELETE CASCADE'
                    ') INHERITS (sch_chameleon.t_log_replica)',
                    v_table, 'pk_' || v_table, 'fk_' || v_table || '_batch');
                EXECUTE format('CREATE INDEX %I ON sch_chameleon.%I (i_id_batch, i_id_event)',
                    'idx_' || v_table || '_batch', v_table);
            END IF;
        END LOOP;
    END LOOP;
END
$BODY$;
REVOKE ALL ON FUNCTION sch_chameleon.fn_refresh_parts() FROM PUBLIC;

-- 3. every source's log tables, and every pending row moved into its source's first table
--    (rows of one batch stay together, in event order). PostgreSQL runs extension scripts with
--    client_min_messages at WARNING at least; progress NOTICEs are wanted here.
SET LOCAL client_min_messages = notice;
SELECT sch_chameleon.fn_refresh_parts();
DO $$
DECLARE
    r        record;
    v_total  bigint;
    v_moved  bigint := 0;
    v_rows   bigint;
    v_copied bigint;
BEGIN
    SELECT count(*) INTO v_total FROM sch_chameleon.t_log_replica;
    RAISE NOTICE 'chameleon 1.2 -> 1.3: moving % pending log rows into per-source log tables', v_total;
    FOR r IN SELECT s.i_id_source, s.t_source, s.v_log_table FROM sch_chameleon.t_sources s ORDER BY s.i_id_source LOOP
        -- created by this script, they would be extension members; a fresh 1.3 source's are not
        EXECUTE format('ALTER EXTENSION chameleon DROP TABLE sch_chameleon.%I', r.v_log_table[1]);
        EXECUTE format('ALTER EXTENSION chameleon DROP TABLE sch_chameleon.%I', r.v_log_table[2]);
        EXECUTE format(
            'INSERT INTO sch_chameleon.%I
                    (i_id_event, i_id_batch, v_table_name, v_schema_name, enm_binlog_event, t_binlog_name,
                     i_binlog_position, ts_event_datetime, jsb_event_data, jsb_event_update, t_query)
             SELECT l.i_id_event, l.i_id_batch, l.v_table_name, l.v_schema_name, l.enm_binlog_event, l.t_binlog_name,
                    l.i_binlog_position, l.ts_event_datetime, l.jsb_event_data, l.jsb_event_update, l.t_query
               FROM sch_chameleon.t_log_replica l
               JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)
              WHERE b.i_id_source = $1
              ORDER BY l.i_id_batch, l.i_id_event', r.v_log_table[1])
            USING r.i_id_source;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_moved := v_moved + v_rows;
        RAISE NOTICE 'chameleon 1.2 -> 1.3: source "%": % rows moved to sch_chameleon.% (% of % done)',
            r.t_source, v_rows, r.v_log_table[1], v_moved, v_total;
    END LOOP;
    -- nothing may be lost: every row of the shared tables has found its source's table
    SELECT count(*) INTO v_copied FROM ONLY sch_chameleon.t_log_replica_1;
    SELECT v_copied + count(*) INTO v_copied FROM ONLY sch_chameleon.t_log_replica_2;
    IF v_moved <> v_copied OR v_copied <> v_total THEN
        RAISE EXCEPTION 'chameleon 1.2 -> 1.3: moved % log rows but the shared tables hold %', v_moved, v_copied
            USING HINT = 'Nothing was changed. Report this with a pg_dump of sch_chameleon.';
    END IF;
END
$$;

-- 4. the shared log tables go (first out of the extension, which also takes them off
--    pg_extension.extconfig: a plain DROP would leave their OIDs behind there)
ALTER EXTENSION chameleon DROP TABLE sch_chameleon.t_log_replica_1;
ALTER EXTENSION chameleon DROP TABLE sch_chameleon.t_log_replica_2;
DROP TABLE sch_chameleon.t_log_replica_1, sch_chameleon.t_log_replica_2;

-- 5. t_replica_batch.v_log_table goes
ALTER TABLE sch_chameleon.t_replica_batch DROP COLUMN v_log_table;

-- the version and the verbs that differ in 1.3
CREATE OR REPLACE VIEW sch_chameleon.v_version AS SELECT '1.3'::text AS t_version;
CREATE OR REPLACE FUNCTION chameleon."sync_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_replica_disabled_wrapper';
