-- chameleon 1.6 catalogue: the bootstrap part of the generated chameleon--1.6.sql.
-- It must stay equal to 1.2 + chameleon--1.2--1.3.sql + chameleon--1.3--1.4.sql +
-- chameleon--1.4--1.5.sql + chameleon--1.5--1.6.sql (tests/e2e/catalogue.rs proves it). 1.3,
-- 1.4 and 1.5 are frozen in sql/.
-- Released: change it only through a new version with its own upgrade script.

-- The API's schema is created here, as a member of the extension (not by the control
-- file), so that pg_dump leaves it to CREATE EXTENSION and a dump restores into a database
-- where the extension was created first at an older version.
CREATE SCHEMA chameleon;
COMMENT ON SCHEMA chameleon IS 'chameleon SQL API';

CREATE SCHEMA sch_chameleon;
REVOKE ALL ON SCHEMA sch_chameleon FROM PUBLIC;
COMMENT ON SCHEMA sch_chameleon IS 'chameleon replication catalogue';

CREATE TYPE sch_chameleon.en_src_status AS ENUM
    ('ready', 'initialising', 'initialised', 'stopped', 'running', 'error');
CREATE TYPE sch_chameleon.en_binlog_event AS ENUM ('delete', 'update', 'insert', 'ddl');
-- 1.6: a table's copy: waiting for a copy worker, staged (a re-copy beside the table, for the
-- replica worker to swap in), or in
CREATE TYPE sch_chameleon.en_copy_state AS ENUM ('waiting', 'staged', 'copied');

-- One row per MySQL source. The password is not here: see t_source_secrets.
CREATE TABLE sch_chameleon.t_sources (
    i_id_source        bigserial PRIMARY KEY,
    t_source           text NOT NULL UNIQUE,
    t_dest_schema      text NOT NULL UNIQUE,
    enm_status         sch_chameleon.en_src_status NOT NULL DEFAULT 'ready',
    ts_last_event      timestamptz,
    t_mysql_url        text NOT NULL,
    i_server_id        bigint NOT NULL CHECK (i_server_id BETWEEN 1 AND 4294967295),
    i_batch_size       integer NOT NULL DEFAULT 10000 CHECK (i_batch_size > 0),
    iv_batch_retention interval NOT NULL DEFAULT '7 days',
    t_include_tables   text[] NOT NULL DEFAULT '{}',
    t_exclude_tables   text[] NOT NULL DEFAULT '{}',
    jsb_type_overrides jsonb NOT NULL DEFAULT '{}',
    jsb_copy_options   jsonb NOT NULL DEFAULT '{}',
    t_on_error         text NOT NULL DEFAULT 'stop' CHECK (t_on_error IN ('stop', 'skip')),
    b_enabled          boolean NOT NULL DEFAULT true,
    b_replay_paused    boolean NOT NULL DEFAULT false,
    t_binlog_name      text,
    i_binlog_position  bigint,
    t_gtid             text,
    ts_last_replayed   timestamptz,
    t_last_error       text,
    ts_last_error      timestamptz,
    ts_created         timestamptz NOT NULL DEFAULT now(),
    v_log_table        varchar[] NOT NULL
                       CONSTRAINT ck_t_sources_log_table_pair CHECK (cardinality(v_log_table) = 2)
);

-- The MySQL password of each source: readable by the catalogue's owner only.
CREATE TABLE sch_chameleon.t_source_secrets (
    i_id_source      bigint PRIMARY KEY REFERENCES sch_chameleon.t_sources (i_id_source) ON DELETE CASCADE,
    t_mysql_password text NOT NULL
);

CREATE TABLE sch_chameleon.t_replica_batch (
    i_id_batch        bigserial PRIMARY KEY,
    i_id_source       bigint NOT NULL REFERENCES sch_chameleon.t_sources (i_id_source) ON DELETE CASCADE,
    t_binlog_name     text NOT NULL,
    i_binlog_position bigint NOT NULL,
    t_gtid            text,
    b_started         boolean NOT NULL DEFAULT false,
    b_processed       boolean NOT NULL DEFAULT false,
    b_replayed        boolean NOT NULL DEFAULT false,
    ts_created        timestamptz NOT NULL DEFAULT clock_timestamp(),
    ts_processed      timestamptz,
    ts_replayed       timestamptz,
    i_replayed        bigint NOT NULL DEFAULT 0,
    i_skipped         bigint NOT NULL DEFAULT 0,
    i_ddl             bigint NOT NULL DEFAULT 0
);
CREATE INDEX idx_t_replica_batch_source ON sch_chameleon.t_replica_batch (i_id_source, b_replayed, i_id_batch);

-- Root of the log tables. Children inherit from it; the root itself holds no rows.
CREATE TABLE sch_chameleon.t_log_replica (
    i_id_event        bigserial PRIMARY KEY,
    i_id_batch        bigint NOT NULL REFERENCES sch_chameleon.t_replica_batch (i_id_batch) ON DELETE CASCADE,
    v_table_name      varchar NOT NULL,
    v_schema_name     varchar NOT NULL,
    enm_binlog_event  sch_chameleon.en_binlog_event NOT NULL,
    t_binlog_name     text,
    i_binlog_position bigint,
    ts_event_datetime timestamptz,
    jsb_event_data    jsonb,
    jsb_event_update  jsonb,
    t_query           text,
    CONSTRAINT ck_t_log_replica_root_empty CHECK (false) NO INHERIT
);

-- Replicated tables, named as in MySQL (v_schema_name is the MySQL database).
CREATE TABLE sch_chameleon.t_replica_tables (
    i_id_source   bigint NOT NULL REFERENCES sch_chameleon.t_sources (i_id_source) ON DELETE CASCADE,
    v_table_name  varchar NOT NULL,
    v_schema_name varchar NOT NULL,
    v_table_pkey  varchar[] NOT NULL DEFAULT '{}',
    i_rows_copied bigint,
    i_zero_dates  bigint NOT NULL DEFAULT 0,
    ts_copied     timestamptz,
    -- 1.4: the table as MySQL had it at the source's resume position (columns in order,
    -- indexes, foreign keys), kept by init_replica and by each replicated schema change; NULL:
    -- read from MySQL when a worker starts
    jsb_columns   jsonb,
    -- 1.4: values replication changed on their way (zero dates, NUL removed, bytes invalid in
    -- their character set replaced; docs/types.md); i_zero_dates counts the copy's
    i_values_changed bigint NOT NULL DEFAULT 0,
    -- 1.6: the background copy's state, and the point each table's copy was taken at (binlog
    -- coordinates and GTID state of its snapshot): replication skips what the copy holds
    enm_copy_state sch_chameleon.en_copy_state NOT NULL DEFAULT 'copied',
    t_copy_binlog_name     text,
    i_copy_binlog_position bigint,
    t_copy_gtid            text,
    -- 1.6: MySQL's row estimate when the table was queued (largest first), and when
    i_rows_estimate        bigint,
    ts_queued              timestamptz,
    -- 1.6: a staged copy's model (jsb_columns once swapped in)
    jsb_copy_columns       jsonb,
    PRIMARY KEY (i_id_source, v_schema_name, v_table_name)
);

-- Keys, indexes and foreign keys of the destination, built after the copy.
CREATE TABLE sch_chameleon.t_index_def (
    i_id_def      bigserial PRIMARY KEY,
    i_id_source   bigint NOT NULL REFERENCES sch_chameleon.t_sources (i_id_source) ON DELETE CASCADE,
    v_schema_name varchar NOT NULL,
    v_table_name  varchar NOT NULL,
    v_index_name  varchar NOT NULL,
    v_kind        varchar NOT NULL CHECK (v_kind IN ('primary', 'unique', 'index', 'foreign')),
    t_index_def   text NOT NULL,
    UNIQUE (i_id_source, v_schema_name, v_table_name, v_index_name)
);

-- Rows and statements that could not be stored or replayed, with the reason.
CREATE TABLE sch_chameleon.t_discarded_rows (
    i_id_discarded    bigserial PRIMARY KEY,
    i_id_source       bigint NOT NULL REFERENCES sch_chameleon.t_sources (i_id_source) ON DELETE CASCADE,
    i_id_batch        bigint,
    ts_discarded      timestamptz NOT NULL DEFAULT clock_timestamp(),
    v_schema_name     varchar,
    v_table_name      varchar,
    enm_binlog_event  sch_chameleon.en_binlog_event,
    t_binlog_name     text,
    i_binlog_position bigint,
    jsb_event_data    jsonb,
    jsb_event_update  jsonb,
    t_query           text,
    t_sqlstate        text,
    t_reason          text NOT NULL
);
CREATE INDEX idx_t_discarded_rows_source ON sch_chameleon.t_discarded_rows (i_id_source, i_id_discarded);

CREATE VIEW sch_chameleon.v_version AS SELECT '1.6'::text AS t_version;

-- Creates every source's pair of log tables that does not exist yet (1.3 layout).
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

-- pg_dump carries the replica setup: these tables hold user state.
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_sources', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_sources_i_id_source_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_source_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_replica_batch', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_replica_batch_i_id_batch_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_log_replica_i_id_event_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_replica_tables', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_index_def', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_index_def_i_id_def_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_discarded_rows', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_discarded_rows_i_id_discarded_seq', '');
