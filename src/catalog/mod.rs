//! Typed access to the catalogue schema `sch_chameleon`.
//!
//! Every API function goes through here to find and lock a source, so that two sessions
//! cannot move the same source through two transitions at once.

use chameleon_core::binlog::Position;
use chameleon_core::conn::MysqlConn;
use chameleon_core::state::{SourceState, Status, Transition};
use chameleon_core::{Error, SqlState};
use pgrx::prelude::*;

use crate::error::{notice, OrRaise};

/// The catalogue layout of the installed extension version (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 1.2: two log tables shared by all sources, t_replica_batch.v_log_table says which.
    Shared,
    /// 1.3: a pair of log tables per source, t_sources.v_log_table, rotated per batch.
    PerSource,
}

pub fn layout() -> Layout {
    let v = Spi::get_one::<String>("SELECT t_version FROM sch_chameleon.v_version").or_raise();
    match v.as_deref() {
        Some("1.2") => Layout::Shared,
        _ => Layout::PerSource,
    }
}

/// 1.4 and later keep each replicated table's MySQL model with the resume position
/// (t_replica_tables.jsb_columns); 1.2 and 1.3 do not.
pub fn keeps_table_models() -> bool {
    Spi::get_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_replica_tables'::regclass
                          AND attname = 'jsb_columns' AND NOT attisdropped)",
    )
    .or_raise()
    .unwrap_or(false)
}

/// The first column of the first row, or None when there is no row (pgrx's `get_one` calls
/// an empty result an error).
pub fn query_opt<T: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> Option<T> {
    Spi::connect(|c| {
        let t = c.select(sql, Some(1), args)?;
        if t.is_empty() {
            return Ok(None);
        }
        t.first().get::<T>(1)
    })
    .or_raise()
}

/// One column of every row of a query.
pub fn query_column<T: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> Vec<T> {
    Spi::connect(|c| {
        c.select(sql, None, args)?
            .map(|r| r.get::<T>(1))
            .collect::<Result<Vec<_>, _>>()
    })
    .or_raise()
    .into_iter()
    .flatten()
    .collect()
}

/// Like [`query_opt`], for statements that write (UPDATE/INSERT ... RETURNING).
pub fn write_opt<T: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> Option<T> {
    Spi::connect_mut(|c| c.update(sql, Some(1), args)?.first().get::<T>(1)).or_raise()
}

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

#[derive(Debug, Clone)]
pub struct Source {
    pub id: i64,
    pub dest_schema: String,
    pub state: SourceState,
}

/// Finds `name` and locks its row until the end of the transaction.
pub fn lock_source(name: &str) -> Source {
    // FOR UPDATE needs a read-write SPI call (pgrx runs read-only until something mutated)
    let row = Spi::connect_mut(|client| {
        let t = client.update(
            "SELECT i_id_source, t_dest_schema, enm_status::text, b_enabled, t_binlog_name IS NOT NULL
               FROM sch_chameleon.t_sources WHERE t_source = $1 FOR UPDATE",
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
    Source {
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
pub fn apply(source: &Source, t: &Transition) {
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
