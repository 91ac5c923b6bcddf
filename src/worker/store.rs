//! A batch written with its resume position: the batch row, its log rows in the table the
//! catalogue's layout picks, the values it changed on their way, and the position, all in the
//! caller's transaction (exactly once: the position moves only with what it covers).

use chameleon_core::batch::{Batch, LogColumns};
use chameleon_core::binlog::Position;
use chameleon_core::Result;

use super::backend::tx;
use crate::catalog::{self, SourceConfig};

/// Stores `b` with its log rows (none for direct replay) and the source's new resume
/// position. Returns the batch id.
pub fn store_in_tx(src: &SourceConfig, b: &Batch, rows: LogColumns) -> Result<i64> {
    let (batch_id, log_table) = catalog::batches::insert_batch(src, &b.end, !rows.tables.is_empty())?;
    if let Some(table) = log_table {
        catalog::batches::insert_log_rows(&table, batch_id, rows)?;
    }
    store_end(src, &b.end, b.last_timestamp(), &b.changed)?;
    Ok(batch_id)
}

/// The source's new resume position (`last_ts`: the commit time of its last transaction) and
/// the values changed on their way in what it covers, counted per table with it (1.4
/// catalogues, which keep table models, have the counter).
pub fn store_end(src: &SourceConfig, end: &Position, last_ts: u32, changed: &[(String, u64)]) -> Result<()> {
    catalog::sources::write_position(src.id, end, last_ts)?;
    if !changed.is_empty() && src.keeps_models {
        catalog::tables::count_changed_values(src.id, &src.conn.database, changed)?;
    }
    Ok(())
}

/// Moves the resume point past transactions that touched no replicated table.
pub fn store_position(src: &SourceConfig, end: &Position) {
    tx(|| catalog::sources::write_position(src.id, end, 0));
}
