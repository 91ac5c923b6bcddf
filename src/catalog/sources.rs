//! t_sources and t_source_secrets: a source's settings, state, resume position and password.

use chameleon_core::binlog::Position;
use chameleon_core::conn::MysqlConn;
use chameleon_core::state::{SourceState, Status, Transition};
use chameleon_core::{Error, Result, SqlState};
use pgrx::prelude::*;

use super::{keeps_table_models, layout, query_opt, Layout};
use crate::error::{catalogue, notice, OrRaise};

/// What the copy and the worker need of a source: settings, the connection with its
/// password, the resume position.
pub struct SourceConfig {
    pub id: i64,
    pub name: String,
    pub dest_schema: String,
    pub running: bool,
    pub replay_paused: bool,
    pub conn: MysqlConn,
    pub server_id: u32,
    pub batch_size: usize,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub type_overrides: serde_json::Value,
    pub copy_options: serde_json::Value,
    pub position: Position,
    pub layout: Layout,
    /// on_error = 'skip': a statement that cannot be replicated is logged and skipped instead
    /// of stopping the source
    pub skip_errors: bool,
    /// the catalogue keeps table models and counts of changed values (1.4 and later)
    pub keeps_models: bool,
}

pub fn load_source(id: i64) -> Option<SourceConfig> {
    let row = Spi::connect(|c| {
        let t = c.select(
            "SELECT s.t_source, s.t_dest_schema, s.enm_status = 'running', s.b_replay_paused, s.t_mysql_url,
                    coalesce(x.t_mysql_password, ''), s.i_server_id, s.i_batch_size, s.t_include_tables,
                    s.t_exclude_tables, s.jsb_type_overrides, s.jsb_copy_options, s.t_binlog_name,
                    s.i_binlog_position, s.t_gtid, s.t_on_error = 'skip'
               FROM sch_chameleon.t_sources s LEFT JOIN sch_chameleon.t_source_secrets x USING (i_id_source)
              WHERE s.i_id_source = $1",
            Some(1),
            &[id.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let t = t.first();
        Ok::<_, pgrx::spi::SpiError>(Some((
            (t.get::<String>(1)?.unwrap_or_default(), t.get::<String>(2)?.unwrap_or_default()),
            (t.get::<bool>(3)?.unwrap_or(false), t.get::<bool>(4)?.unwrap_or(false)),
            (t.get::<String>(5)?.unwrap_or_default(), t.get::<String>(6)?.unwrap_or_default()),
            (t.get::<i64>(7)?.unwrap_or(1), t.get::<i32>(8)?.unwrap_or(10_000)),
            (t.get::<Vec<String>>(9)?.unwrap_or_default(), t.get::<Vec<String>>(10)?.unwrap_or_default()),
            (
                t.get::<pgrx::JsonB>(11)?.map(|j| j.0).unwrap_or_default(),
                t.get::<pgrx::JsonB>(12)?.map(|j| j.0).unwrap_or_default(),
            ),
            (t.get::<String>(13)?.unwrap_or_default(), t.get::<i64>(14)?.unwrap_or(4), t.get::<String>(15)?),
            t.get::<bool>(16)?.unwrap_or(false),
        )))
    })
    .or_raise()?;
    let (
        (name, dest_schema),
        (running, replay_paused),
        (url, password),
        (server_id, batch_size),
        (include, exclude),
        (type_overrides, copy_options),
        (file, pos, gtid),
        skip_errors,
    ) = row;
    let mut conn = MysqlConn::parse(&url).or_raise();
    conn.password = password;
    Some(SourceConfig {
        id,
        name,
        dest_schema,
        running,
        replay_paused,
        conn,
        server_id: server_id as u32,
        batch_size: batch_size.max(1) as usize,
        include,
        exclude,
        type_overrides,
        copy_options,
        position: Position {
            file,
            pos: pos as u64,
            gtid,
        },
        layout: layout(),
        skip_errors,
        keeps_models: keeps_table_models(),
    })
}

/// A source an API call has found and locked (FOR UPDATE) for its transaction.
#[derive(Debug, Clone)]
pub struct LockedSource {
    pub id: i64,
    pub dest_schema: String,
    pub state: SourceState,
}

/// Finds `name` and locks its row until the end of the transaction.
pub fn lock_source(name: &str) -> LockedSource {
    find_source(name, " FOR UPDATE")
}

/// Finds `name` as the latest committed state shows it, without locking it (a caller that
/// waits for background workers must not hold their source's row).
pub fn peek_source(name: &str) -> LockedSource {
    find_source(name, "")
}

fn find_source(name: &str, lock: &str) -> LockedSource {
    // FOR UPDATE needs a read-write SPI call (pgrx runs read-only until something mutated);
    // a read-write call also reads with a new snapshot
    let row = Spi::connect_mut(|client| {
        let t = client.update(
            &format!(
                "SELECT i_id_source, t_dest_schema, enm_status::text, b_enabled, t_binlog_name IS NOT NULL
                   FROM sch_chameleon.t_sources WHERE t_source = $1{lock}"
            ),
            None,
            &[name.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let t = t.first();
        Ok::<_, pgrx::spi::SpiError>(Some((
            t.get::<i64>(1)?.unwrap_or_default(),
            t.get::<String>(2)?.unwrap_or_default(),
            t.get::<String>(3)?.unwrap_or_default(),
            t.get::<bool>(4)?.unwrap_or(true),
            t.get::<bool>(5)?.unwrap_or(false),
        )))
    })
    .or_raise();
    let Some((id, dest_schema, status, enabled, has_position)) = row else {
        let known = query_opt::<String>(
            "SELECT string_agg(quote_literal(t_source), ', ' ORDER BY t_source) FROM sch_chameleon.t_sources",
            &[],
        );
        crate::error::raise(
            Error::new(
                SqlState::UndefinedObject,
                format!("source \"{name}\" does not exist"),
            )
            .hint(match known {
                Some(k) => {
                    format!("Known sources: {k}. SELECT * FROM chameleon.show_status() lists them.")
                }
                None => {
                    "No source is registered yet: SELECT chameleon.add_source(...).".to_string()
                }
            }),
        );
    };
    let status = Status::parse(&status).unwrap_or(Status::Error);
    LockedSource {
        id,
        dest_schema,
        state: SourceState {
            status,
            enabled,
            has_position,
        },
    }
}

/// Writes a transition decided by `chameleon_core::state::plan`.
pub fn apply(source: &LockedSource, t: &Transition) {
    if let Some(msg) = &t.notice {
        notice(msg);
    }
    if t.to.is_none() && t.enabled.is_none() {
        return;
    }
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET enm_status = coalesce($2::sch_chameleon.en_src_status, enm_status),
                b_enabled  = coalesce($3, b_enabled)
          WHERE i_id_source = $1",
        &[
            source.id.into(),
            t.to.map(|s| s.as_str()).into(),
            t.enabled.into(),
        ],
    )
    .or_raise();
}

/// Which unique setting of t_sources a new source must not share.
#[derive(Clone, Copy)]
pub enum Unique {
    Name,
    DestSchema,
}

/// The source that already uses `value` as its name or destination schema.
pub fn source_using(what: Unique, value: &str) -> Option<String> {
    let column = match what {
        Unique::Name => "t_source",
        Unique::DestSchema => "t_dest_schema",
    };
    query_opt::<String>(
        &format!("SELECT t_source FROM sch_chameleon.t_sources WHERE {column} = $1"),
        &[value.into()],
    )
}

/// Keeps other sessions from registering sources until the end of the transaction, so that
/// the INSERT sees the catalogue the name checks saw.
pub fn lock_for_registration() {
    Spi::run("LOCK TABLE sch_chameleon.t_sources IN SHARE ROW EXCLUSIVE MODE").or_raise();
}

pub fn next_source_id() -> i64 {
    query_opt::<i64>("SELECT nextval('sch_chameleon.t_sources_i_id_source_seq')", &[])
        .unwrap_or_default()
}

/// Registers a source: its row, its password in t_source_secrets, in 1.3 and later its own
/// pair of log tables, then its settings as alter_source writes them.
pub fn insert_source(id: i64, name: &str, dest_schema: &str, settings: SourceChanges) {
    let per_source = layout() == Layout::PerSource;
    let url = settings
        .conn
        .as_ref()
        .map(|c| c.redacted_url())
        .unwrap_or_default();
    let mut args: Vec<pgrx::datum::DatumWithOid> = vec![
        id.into(),
        name.into(),
        dest_schema.into(),
        url.as_str().into(),
        settings.server_id.into(),
    ];
    let (log_col, log_val) = if per_source {
        args.push(chameleon_core::names::log_table_pair(id).to_vec().into());
        (", v_log_table", ", $6::varchar[]")
    } else {
        ("", "")
    };
    Spi::run_with_args(
        &format!(
            "INSERT INTO sch_chameleon.t_sources (i_id_source, t_source, t_dest_schema, t_mysql_url, i_server_id{log_col})
             VALUES ($1, $2, $3, $4, $5{log_val})"
        ),
        &args,
    )
    .or_raise();
    Spi::run_with_args(
        "INSERT INTO sch_chameleon.t_source_secrets (i_id_source, t_mysql_password) VALUES ($1, '')",
        &[id.into()],
    )
    .or_raise();
    if per_source {
        Spi::run("SELECT sch_chameleon.fn_refresh_parts()").or_raise();
    }
    update_source(id, settings);
}

/// add_source's and alter_source's settings: None leaves a setting as it is (add_source: the
/// column's default).
pub struct SourceChanges {
    pub conn: Option<MysqlConn>,
    pub server_id: Option<i64>,
    pub batch_size: Option<i32>,
    pub batch_retention: Option<pgrx::datum::Interval>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub type_overrides: Option<pgrx::JsonB>,
    pub copy_options: Option<pgrx::JsonB>,
    pub on_error: Option<String>,
    pub replay_paused: Option<bool>,
}

/// Writes alter_source's changes; a URL with a password replaces the stored password.
pub fn update_source(id: i64, ch: SourceChanges) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET
            t_mysql_url        = coalesce($2, t_mysql_url),
            i_server_id        = coalesce($3, i_server_id),
            i_batch_size       = coalesce($4, i_batch_size),
            iv_batch_retention = coalesce($5, iv_batch_retention),
            t_include_tables   = coalesce($6, t_include_tables),
            t_exclude_tables   = coalesce($7, t_exclude_tables),
            jsb_type_overrides = coalesce($8, jsb_type_overrides),
            jsb_copy_options   = coalesce($9, jsb_copy_options),
            t_on_error         = coalesce($10, t_on_error),
            b_replay_paused    = coalesce($11, b_replay_paused)
          WHERE i_id_source = $1",
        &[
            id.into(),
            ch.conn.as_ref().map(|c| c.redacted_url()).into(),
            ch.server_id.into(),
            ch.batch_size.into(),
            ch.batch_retention.into(),
            ch.include.into(),
            ch.exclude.into(),
            ch.type_overrides.into(),
            ch.copy_options.into(),
            ch.on_error.into(),
            ch.replay_paused.into(),
        ],
    )
    .or_raise();
    if let Some(c) = ch.conn.filter(|c| !c.password.is_empty()) {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_source_secrets SET t_mysql_password = $2 WHERE i_id_source = $1",
            &[id.into(), c.password.as_str().into()],
        )
        .or_raise();
    }
}

/// The stored connection (with its password) and include list of a source.
pub fn stored_connection(id: i64) -> (MysqlConn, Vec<String>) {
    let url = query_opt::<String>(
        "SELECT t_mysql_url FROM sch_chameleon.t_sources WHERE i_id_source = $1",
        &[id.into()],
    )
    .unwrap_or_default();
    let mut conn = MysqlConn::parse(&url).or_raise();
    conn.password = query_opt::<String>(
        "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets WHERE i_id_source = $1",
        &[id.into()],
    )
    .unwrap_or_default();
    let include = query_opt::<Vec<String>>(
        "SELECT t_include_tables FROM sch_chameleon.t_sources WHERE i_id_source = $1",
        &[id.into()],
    )
    .unwrap_or_default();
    (conn, include)
}

/// Removes a source from the catalogue: its log tables (1.3 and later) and every row about it.
pub fn remove_source(src: &LockedSource) {
    if layout() == Layout::PerSource {
        let tables = query_opt::<Vec<String>>(
            "SELECT v_log_table::text[] FROM sch_chameleon.t_sources WHERE i_id_source = $1",
            &[src.id.into()],
        )
        .unwrap_or_default();
        for t in tables {
            Spi::run(&format!(
                "DROP TABLE IF EXISTS sch_chameleon.{}",
                spi::quote_identifier(&t)
            ))
            .or_raise();
        }
    }
    // batches, log rows (1.2), secrets, tables, index definitions and discarded rows cascade
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_sources WHERE i_id_source = $1",
        &[src.id.into()],
    )
    .or_raise();
}

/// enable_replica: the last error is forgotten with the error status.
pub fn clear_error(id: i64) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET t_last_error = NULL, ts_last_error = NULL WHERE i_id_source = $1",
        &[id.into()],
    )
    .or_raise();
}

/// The sources of this database that should have a worker: (id, name).
pub fn running_sources() -> Result<Vec<(i64, String)>> {
    Spi::connect(|c| {
        c.select(
            "SELECT s.i_id_source, s.t_source FROM sch_chameleon.t_sources s
              WHERE s.enm_status = 'running' AND s.b_enabled ORDER BY 1",
            None,
            &[],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<i64>(1)?.unwrap_or_default(),
                r.get::<String>(2)?.unwrap_or_default(),
            ))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .map_err(catalogue("reading the running sources"))
}

/// Without preload (no worker slots): each source's worker as pg_stat_activity shows it,
/// found by its backend type and application name. (source id, pid)
pub fn workers_in_activity(backend_type: &str, app_prefix: &str) -> Vec<(i64, i32)> {
    Spi::connect(|c| {
        c.select(
            "SELECT s.i_id_source, a.pid FROM sch_chameleon.t_sources s
               JOIN pg_stat_activity a ON a.backend_type = $1 AND a.datname = current_database()
                                      AND a.application_name = $2 || s.t_source",
            None,
            &[backend_type.into(), app_prefix.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<i64>(1)?.unwrap_or_default(),
                r.get::<i32>(2)?.unwrap_or_default(),
            ))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .unwrap_or_default()
}

/// Some(replay paused?) while the source should run; None once it should stop.
pub fn still_running(id: i64) -> Result<Option<bool>> {
    Spi::connect(|c| {
        let t = c.select(
            "SELECT b_replay_paused FROM sch_chameleon.t_sources WHERE i_id_source = $1 AND enm_status = 'running' AND b_enabled",
            Some(1),
            &[id.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        t.first().get::<bool>(1)
    })
    .map_err(catalogue("reading the source's status"))
}

/// Why something the source's caller waited for failed, its status unchanged.
pub fn record_error(id: i64, why: &str) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET t_last_error = $2, ts_last_error = clock_timestamp() WHERE i_id_source = $1",
        &[id.into(), why.into()],
    )
    .map_err(catalogue("recording why the copy could not start"))
}

/// A running source stops in `error`, with why.
pub fn stop_in_error(id: i64, why: &str) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET enm_status = 'error', t_last_error = $2, ts_last_error = clock_timestamp()
          WHERE i_id_source = $1 AND enm_status = 'running'",
        &[id.into(), why.into()],
    )
    .map_err(catalogue("recording why the source stopped"))
}

/// The source's resume position, and the commit time of the last event it covers (0: none).
pub fn write_position(id: i64, end: &Position, last_ts: u32) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET t_binlog_name = $2, i_binlog_position = $3, t_gtid = coalesce($4, t_gtid),
                ts_last_event = CASE WHEN $5 > 0 THEN to_timestamp($5) ELSE ts_last_event END
          WHERE i_id_source = $1",
        &[
            id.into(),
            end.file.as_str().into(),
            (end.pos as i64).into(),
            end.gtid.clone().into(),
            i64::from(last_ts).into(),
        ],
    )
    .map_err(catalogue("storing the resume position"))
}

/// The commit time of the last event replayed (None: unchanged).
pub fn write_replay_time(id: i64, last_ts: Option<i64>) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET ts_last_replayed = coalesce(to_timestamp($2), ts_last_replayed) WHERE i_id_source = $1",
        &[id.into(), last_ts.filter(|t| *t > 0).map(|t| t as f64).into()],
    )
    .map_err(catalogue("storing the replay time"))
}

/// init_replica's end: the source is initialised at the snapshot's coordinates.
pub fn mark_initialised(id: i64, coords: &chameleon_core::snapshot::Coordinates) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET enm_status = 'initialised', t_binlog_name = $2, i_binlog_position = $3, t_gtid = nullif($4, ''),
                ts_last_event = NULL, ts_last_replayed = NULL, t_last_error = NULL, ts_last_error = NULL
          WHERE i_id_source = $1",
        &[id.into(), coords.binlog_file.as_str().into(), (coords.binlog_position as i64).into(), coords.gtid.as_str().into()],
    )
    .or_raise();
}
