//! Every read and write of the catalogue schema `sch_chameleon`, one file per part of it:
//! `sources` (t_sources, t_source_secrets), `batches` (t_replica_batch and the log tables),
//! `tables` (t_replica_tables, t_index_def), `discarded` (t_discarded_rows) and `status` (what
//! the show_* functions read). The copy, the worker and the API call these; no catalogue SQL
//! lives anywhere else.
//!
//! Every API function goes through `sources::lock_source` to find and lock a source, so that
//! two sessions cannot move the same source through two transitions at once. Functions the
//! worker calls return errors (SQLSTATE XX000 with what they were doing) instead of raising.

pub mod batches;
pub mod copies;
pub mod discarded;
pub mod sources;
pub mod status;
pub mod tables;

use pgrx::prelude::*;

pub use sources::{apply, load_source, lock_source, LockedSource, SourceConfig};

use crate::error::OrRaise;

extension_sql!(
    r#"
-- The API and the catalogue are for the catalogue's owner (and roles it grants them to).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chameleon FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA sch_chameleon FROM PUBLIC;
"#,
    name = "privileges",
    finalize
);

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
    replica_tables_have("jsb_columns")
}

/// Whether the installed catalogue's t_replica_tables has `column` (what its version keeps).
pub fn replica_tables_have(column: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_replica_tables'::regclass
                          AND attname = $1 AND NOT attisdropped)",
        &[column.into()],
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

/// `query_opt` for a statement that locks or writes (FOR UPDATE needs a read-write SPI call).
pub fn update_opt<T: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> Option<T> {
    Spi::connect_mut(|c| {
        let t = c.update(sql, Some(1), args)?;
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
