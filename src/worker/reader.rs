//! The reader thread: binlog events become batches, each with its log rows (unless for direct
//! replay) and its replay plan, sent to the worker's main thread. It never calls PostgreSQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use chameleon_core::batch::{Batch, BatchBuilder};
use chameleon_core::binlog::{BinlogReader, Position};
use chameleon_core::conn::MysqlConn;
use chameleon_core::replay::{plan_batch, Unit};
use chameleon_core::Error;

use super::apply::Work;
use super::tables::ReplicatedTables;

/// A batch ready for the main thread: its log rows and its replay plan were made here.
pub struct Prepared {
    pub batch: Batch,
    pub work: Work,
}

/// Where the reader reads from and how it builds batches.
pub struct Stream {
    pub conn: MysqlConn,
    pub server_id: u32,
    pub from: Position,
    pub builder: BatchBuilder,
    pub defs: ReplicatedTables,
    /// plans the main thread applied, freed here (`apply::Used`)
    pub applied: Receiver<Vec<Unit>>,
}

/// Reads until `stop`, the main thread is gone, or an error (sent before it returns).
/// `direct` says which replay path the next batches are prepared for.
pub fn read_binlog(
    s: Stream,
    stop: Arc<AtomicBool>,
    direct: Arc<AtomicBool>,
    tx: SyncSender<Result<Prepared, Error>>,
) {
    let Stream {
        conn,
        server_id,
        from,
        mut builder,
        mut defs,
        applied,
    } = s;
    let mut reader = match BinlogReader::open(&conn, server_id, &from, false) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    defs.set_naming(reader.naming());
    // Some(direct) while a transaction comes in parts: how its first part went
    let mut parts_direct: Option<bool> = None;
    while !stop.load(Ordering::Relaxed) {
        // (as soon as the main thread is done with them: memory stays bounded)
        applied.try_iter().for_each(drop);
        // Idle (a heartbeat: nothing for 100 ms) flushes what is committed
        let mut batch = match reader
            .next_change()
            .and_then(|c| builder.push(c, &mut defs))
        {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        // a batch's rows come before the statement that may end it: planned with the shape
        // they were read with (a batch with a statement is replayed from its log rows)
        let shape = &defs.shape;
        let plan = |events| plan_batch(events, &shape.targets, &shape.linked);
        // every part of a transaction goes the way its first did; on the two-step path the
        // parts are replayed from their log rows, a page at a time. take_replay_events moves
        // the images out, so the log rows are made first; it moves nothing from a batch with a
        // statement, which is always stored with its log rows
        let direct_now = parts_direct.unwrap_or_else(|| direct.load(Ordering::Relaxed));
        let in_parts = parts_direct.is_some() || batch.continues;
        parts_direct = batch.continues.then_some(direct_now);
        let work = if in_parts && !direct_now {
            // (the images go: the log rows carry the part)
            let rows = batch.log_rows();
            batch.events.clear();
            Work::Stored { rows, units: None }
        } else if let Some(events) = direct_now.then(|| batch.take_replay_events()).flatten() {
            Work::Direct(plan(events))
        } else {
            let rows = batch.log_rows();
            Work::Stored {
                rows,
                units: batch.take_replay_events().map(plan),
            }
        };
        if tx.send(Ok(Prepared { batch, work })).is_err() {
            return; // the worker is gone
        }
        if defs.failed {
            return; // a statement stops the source: its replay says so
        }
    }
}
