//! The rows of a copy: a reader thread streams them from MySQL (`chameleon_core::copy`), this
//! backend COPYs them (`feed`), table after table; a large table may come in key ranges read
//! at once.

use std::time::Instant;

use chameleon_core::snapshot::TableDef;
use chameleon_core::types::PgColumn;
use chameleon_core::{Error, SqlState};

use super::{feed, regclass};
use crate::error::{notice, raise};

/// The rows: a reader thread streams them from the snapshot, this backend COPYs. Per table:
/// (rows, values changed on their way); and the reader's connection, its snapshot open.
pub(super) fn copy_rows(
    source: &str,
    db: &str,
    reader: chameleon_core::mysql::Conn,
    dest: &str,
    mapped: &[(TableDef, Vec<PgColumn>)],
) -> (chameleon_core::mysql::Conn, Vec<(u64, u64)>) {
    let work = mapped.iter().map(|(t, c)| reading(t, c)).collect();
    let db = db.to_string();
    copy_fed(source, dest, mapped, move |tx| chameleon_core::copy::run_reader(reader, &db, work, tx))
}

/// One table read in key ranges at once, a connection of one snapshot each (`copy::Split`).
pub(super) fn copy_split(
    source: &str,
    db: &str,
    readers: Vec<chameleon_core::mysql::Conn>,
    dest: &str,
    (t, cols): &(TableDef, Vec<PgColumn>),
    split: chameleon_core::copy::Split,
) -> (u64, u64) {
    let work = reading(t, cols);
    let db = db.to_string();
    let mapped = [(t.clone(), cols.clone())];
    let (_, copied) = copy_fed(source, dest, &mapped, move |tx| {
        chameleon_core::copy::run_split_reader(readers, &db, work, &split, tx)
    });
    copied[0]
}

/// What the reader needs of a table: its name, MySQL column names and PostgreSQL columns.
fn reading(t: &TableDef, cols: &[PgColumn]) -> (String, Vec<String>, Vec<PgColumn>) {
    (t.name.clone(), t.columns.iter().map(|m| m.name.clone()).collect(), cols.to_vec())
}

/// COPYs `mapped` table after table from what `reader` sends on its own thread; what the
/// reader gives back, and per table (rows, values changed on their way).
fn copy_fed<R: Send + 'static>(
    source: &str,
    dest: &str,
    mapped: &[(TableDef, Vec<PgColumn>)],
    reader: impl FnOnce(std::sync::mpsc::SyncSender<feed::Msg>) -> R + Send + 'static,
) -> (R, Vec<(u64, u64)>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let reader_thread = std::thread::Builder::new()
        .name("chameleon-copy".into())
        .spawn(move || reader(tx))
        .unwrap_or_else(|e| {
            raise(Error::new(
                SqlState::Internal,
                format!("could not start the copy thread: {e}"),
            ))
        });
    let guard = feed::FeedGuard::install(rx);
    let mut copied = Vec::new();
    for (t, _) in mapped {
        let t0 = Instant::now();
        let (rows, zero_dates) = feed::copy_table(&guard, regclass(dest, &t.name));
        let secs = t0.elapsed().as_secs_f64();
        notice(&format!(
            "init_replica \"{source}\": {}: {rows} rows in {secs:.2} s ({:.0} rows/s){}",
            t.name,
            rows as f64 / secs.max(1e-6),
            if zero_dates > 0 {
                format!(", {zero_dates} zero dates replaced")
            } else {
                String::new()
            }
        ));
        copied.push((rows, zero_dates));
    }
    drop(guard);
    let back = reader_thread.join().unwrap_or_else(|_| {
        raise(Error::new(SqlState::Internal, "the copy thread panicked"))
    });
    (back, copied)
}

