-- chameleon 1.2: FROZEN install script. Released scripts never change: a fix is a new version.
\echo Use "CREATE EXTENSION chameleon VERSION '1.2'" to load this file. \quit

CREATE SCHEMA chameleon;
COMMENT ON SCHEMA chameleon IS 'chameleon SQL API';

CREATE SCHEMA sch_chameleon;
REVOKE ALL ON SCHEMA sch_chameleon FROM PUBLIC;
COMMENT ON SCHEMA sch_chameleon IS 'chameleon replication catalogue';

CREATE TYPE sch_chameleon.en_src_status AS ENUM
    ('ready', 'initialising', 'initialised', 'stopped', 'running', 'error');
CREATE TYPE sch_chameleon.en_binlog_event AS ENUM ('delete', 'update', 'insert', 'ddl');

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
    ts_created         timestamptz NOT NULL DEFAULT now()
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
    i_ddl             bigint NOT NULL DEFAULT 0,
    v_log_table       varchar NOT NULL DEFAULT 't_log_replica_1'
                      CONSTRAINT ck_t_replica_batch_log_table CHECK (v_log_table IN ('t_log_replica_1', 't_log_replica_2'))
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

-- 1.2 layout: two log tables shared by all sources; each source flips between them per batch.
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

CREATE VIEW sch_chameleon.v_version AS SELECT '1.2'::text AS t_version;

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
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_log_replica_1', '');
SELECT pg_catalog.pg_extension_config_dump('sch_chameleon.t_log_replica_2', '');

-- The SQL API (schema chameleon). Same C symbols as the library of any later version.
CREATE  FUNCTION chameleon."add_source"(
	"source" TEXT, /* Option < & str > */
	"dest_schema" TEXT, /* Option < & str > */
	"mysql_conn" TEXT, /* Option < & str > */
	"server_id" bigint DEFAULT NULL, /* Option < i64 > */
	"batch_size" INT DEFAULT 10000, /* i32 */
	"batch_retention" interval DEFAULT '7 days', /* Interval */
	"include_tables" TEXT[] DEFAULT '{}', /* Vec < String > */
	"exclude_tables" TEXT[] DEFAULT '{}', /* Vec < String > */
	"type_overrides" jsonb DEFAULT '{}', /* JsonB */
	"copy_options" jsonb DEFAULT '{}', /* JsonB */
	"on_error" TEXT DEFAULT 'stop', /* & str */
	"check_source" bool DEFAULT true /* bool */
) RETURNS bigint /* i64 */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'add_source_wrapper';
CREATE  FUNCTION chameleon."alter_source"(
	"source" TEXT, /* Option < & str > */
	"mysql_conn" TEXT DEFAULT NULL, /* Option < & str > */
	"server_id" bigint DEFAULT NULL, /* Option < i64 > */
	"batch_size" INT DEFAULT NULL, /* Option < i32 > */
	"batch_retention" interval DEFAULT NULL, /* Option < Interval > */
	"include_tables" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < String > > */
	"exclude_tables" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < String > > */
	"type_overrides" jsonb DEFAULT NULL, /* Option < JsonB > */
	"copy_options" jsonb DEFAULT NULL, /* Option < JsonB > */
	"on_error" TEXT DEFAULT NULL, /* Option < & str > */
	"replay_paused" bool DEFAULT NULL, /* Option < bool > */
	"check_source" bool DEFAULT true /* bool */
) RETURNS void

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'alter_source_wrapper';
CREATE  FUNCTION chameleon."detach_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'detach_replica_wrapper';
CREATE  FUNCTION chameleon."disable_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'disable_replica_wrapper';
CREATE  FUNCTION chameleon."drop_source"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'drop_source_wrapper';
CREATE  FUNCTION chameleon."enable_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'enable_replica_wrapper';
CREATE  FUNCTION chameleon."init_replica"(
	"source" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'init_replica_wrapper';
CREATE  FUNCTION chameleon."show_errors"(
	"source" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"source_name" TEXT,  /* String */
	"id" bigint,  /* i64 */
	"logged_at" timestamp with time zone,  /* TimestampWithTimeZone */
	"batch_id" bigint,  /* Option < i64 > */
	"schema_name" TEXT,  /* Option < String > */
	"table_name" TEXT,  /* Option < String > */
	"event" TEXT,  /* Option < String > */
	"binlog_file" TEXT,  /* Option < String > */
	"binlog_position" bigint,  /* Option < i64 > */
	"sqlstate" TEXT,  /* Option < String > */
	"reason" TEXT,  /* String */
	"event_data" jsonb,  /* Option < JsonB > */
	"query" TEXT  /* Option < String > */
)

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'show_errors_wrapper';
CREATE  FUNCTION chameleon."show_status"() RETURNS TABLE (
	"source" TEXT,  /* String */
	"dest_schema" TEXT,  /* String */
	"status" TEXT,  /* String */
	"enabled" bool,  /* bool */
	"replay_paused" bool,  /* bool */
	"worker_pid" INT,  /* Option < i32 > */
	"read_lag" interval,  /* Option < Interval > */
	"replay_lag" interval,  /* Option < Interval > */
	"last_received_event" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_replayed_event" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"binlog_file" TEXT,  /* Option < String > */
	"binlog_position" bigint,  /* Option < i64 > */
	"gtid" TEXT,  /* Option < String > */
	"batches_pending" bigint,  /* i64 */
	"events_pending" bigint,  /* i64 */
	"tables" bigint,  /* i64 */
	"tables_without_pk" bigint,  /* i64 */
	"discarded_rows" bigint,  /* i64 */
	"last_error" TEXT,  /* Option < String > */
	"mysql_conn" TEXT  /* String */
)
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'show_status_wrapper';
CREATE  FUNCTION chameleon."start_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'start_replica_wrapper';
CREATE  FUNCTION chameleon."stop_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'stop_replica_wrapper';
CREATE  FUNCTION chameleon."sync_replica"(
	"source" TEXT /* & str */
) RETURNS void
STRICT  
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_replica_wrapper';

-- The API and the catalogue are for the catalogue's owner (and roles it grants them to).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chameleon FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sch_chameleon FROM PUBLIC;
