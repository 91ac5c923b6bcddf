//! Typed access to the catalogue schema `sch_chameleon`.
//!
//! Every API function goes through here to find and lock a source, so that two sessions
//! cannot move the same source through two transitions at once.

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

/// The first column of the first row, or None when there is no row (pgrx's `get_one` calls
/// an empty result an error).
pub fn query_opt<T: FromDatum + IntoDatum>(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Option<T> {
    Spi::connect(|c| {
        let t = c.select(sql, Some(1), args)?;
        if t.is_empty() {
            return Ok(None);
        }
        t.first().get::<T>(1)
    })
    .or_raise()
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
            Error::new(SqlState::UndefinedObject, format!("source \"{name}\" does not exist")).hint(match known {
                Some(k) => format!("Known sources: {k}. SELECT * FROM chameleon.show_status() lists them."),
                None => "No source is registered yet: SELECT chameleon.add_source(...).".to_string(),
            }),
        );
    };
    let status = Status::parse(&status).unwrap_or(Status::Error);
    Source { id, dest_schema, state: SourceState { status, enabled, has_position } }
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
        &[source.id.into(), t.to.map(|s| s.as_str()).into(), t.enabled.into()],
    )
    .or_raise();
}
