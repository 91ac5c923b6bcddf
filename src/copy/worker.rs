//! Copy workers: dynamic background workers that copy a source's queued tables (init_replica
//! with `wait => false`). Each opens one consistent snapshot of MySQL (a short global read
//! lock) and copies table after table from it, each table in a PostgreSQL transaction of its
//! own that also records the table's copy point — so a table appears complete and indexed,
//! and a crash, a kill or a restart loses one table's work, not the copy. The last worker to
//! find nothing left adds the foreign keys and makes the source `initialised` at the earliest
//! copy point; replication then skips, per table, what its copy holds
//! (`chameleon_core::handover`).

use std::time::Instant;

use chameleon_core::mysql::Conn;
use chameleon_core::snapshot::{self, Coordinates};
use chameleon_core::snapshot::TableDef;
use chameleon_core::types::PgColumn;
use chameleon_core::{copy, handover, options, Error, SqlState};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, DynamicBackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

use crate::catalog::copies::Purpose;
use crate::catalog::{self, SourceConfig};
use crate::error::{notice, OrRaise};
use crate::worker::backend::{self, tx};

/// backend_type of the copy workers in pg_stat_activity
pub const COPY_WORKER_TYPE: &str = "chameleon copy";

fn app_name(source: &str) -> String {
    format!("{COPY_WORKER_TYPE} {source}")
}

/// Starts `n` copy workers for the source (from a backend of its database).
pub fn launch(id: i64, source: &str, db: &str, n: usize) {
    for i in 0..n.max(1) {
        let started = BackgroundWorkerBuilder::new(&format!("{} {i}", app_name(source)))
            .set_type(COPY_WORKER_TYPE)
            .set_library("chameleon")
            .set_function("chameleon_copy_main")
            .enable_spi_access()
            .set_extra(&format!("{id}:{db}"))
            .load_dynamic();
        if started.is_err() {
            warning!("chameleon: could not start copy worker {i} of \"{source}\": no free background worker slot (raise max_worker_processes); the launcher retries");
        }
    }
}

/// Starts the copy worker that queues the source's tables in its own transaction and starts
/// the copy workers after its commit (init_replica with `wait => true`: the caller only waits,
/// and `notify_pid` hears when it starts and stops). None when no worker slot is free.
pub fn launch_queueing(id: i64, source: &str, db: &str, notify_pid: i32) -> Option<DynamicBackgroundWorker> {
    BackgroundWorkerBuilder::new(&format!("{} 0", app_name(source)))
        .set_type(COPY_WORKER_TYPE)
        .set_library("chameleon")
        .set_function("chameleon_copy_main")
        .enable_spi_access()
        .set_extra(&format!("{QUEUE}{id}:{db}"))
        .set_notify_pid(notify_pid)
        .load_dynamic()
        .ok()
}

/// The mark of a copy worker that queues the tables first (in its extra, before the id).
const QUEUE: char = 'q';

/// The copy workers alive in this database, per source id.
pub fn live() -> Vec<(i64, i32)> {
    catalog::sources::workers_in_activity(COPY_WORKER_TYPE, &app_name(""))
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn chameleon_copy_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let extra = BackgroundWorker::get_extra().to_owned();
    let Some((id, db)) = extra.split_once(':') else { return };
    let (queue, id) = match id.strip_prefix(QUEUE) {
        Some(id) => (true, id),
        None => (false, id),
    };
    let Ok(id) = id.parse::<i64>() else { return };
    BackgroundWorker::connect_worker_to_spi(Some(db), None);
    // a failure before the tables are queued is the waiting caller's to report; nothing changed
    let queued = std::cell::Cell::new(!queue);
    backend::run_worker(
        &format!("chameleon copy {id}"),
        || run(id, queue, &queued),
        |why| match queued.get() {
            true => catalog::copies::fail(id, why),
            false => catalog::sources::record_error(id, why),
        },
    );
}

fn run(id: i64, queue: bool, queued: &std::cell::Cell<bool>) -> Result<(), Error> {
    let Some(src) = tx(|| Ok(catalog::load_source(id))) else { return Ok(()) };
    backend::set_appname(&app_name(&src.name));
    if queue {
        // the copy workers it starts after its commit open their snapshots together, before
        // any of them reads a table (a later global read lock would wait for a running copy);
        // nothing selected any more: the waiting caller sees nothing queued and says so
        tx(|| Ok(super::queue_copy(&src.name)));
        queued.set(true);
        return Ok(());
    }
    // this worker's snapshot, opened at its first table and kept for the next ones
    let mut reader: Option<(Conn, Coordinates)> = None;
    loop {
        if BackgroundWorker::sigterm_received() {
            return Ok(());
        }
        let copied = tx(|| {
            // (none: disabled, failed elsewhere, or dropped)
            let Some(purpose) = catalog::copies::purpose(id) else { return Ok(None) };
            let Some((table, estimate)) = catalog::copies::claim(id) else { return Ok(Some(false)) };
            let (conn, point) = match reader.take() {
                Some(r) => r,
                None => {
                    let (mut conns, point) = super::open_snapshot(&src, 1);
                    (conns.remove(0), point)
                }
            };
            let conn = copy_table(&src, (&table, estimate), conn, &point, purpose);
            reader = Some((conn, point));
            Ok(Some(true))
        });
        match copied {
            None => return Ok(()),
            Some(true) => continue,
            Some(false) => break,
        }
    }
    drop(reader); // (the snapshot ends with its connection)
    tx(|| {
        finish(&src);
        Ok(())
    });
    Ok(())
}

/// One table, in the current transaction: created, filled from the snapshot, indexed, and
/// recorded with the snapshot's coordinates as its copy point. A first copy goes into the
/// destination schema; a copy again (sync_tables) into the source's staging schema, for the
/// replica worker to swap in (`super::sync`). A large table may be read in key ranges at once
/// from a snapshot of its own (`in_ranges`).
fn copy_table(src: &SourceConfig, (table, estimate): (&str, u64), mut conn: Conn, point: &Coordinates, purpose: Purpose) -> Conn {
    let db = &src.conn.database;
    backend::report_activity(&catalog::copies::activity(src.id, table));
    let started = Instant::now();
    let defs = snapshot::read_tables(&mut conn, db, &[table.to_string()]).or_raise();
    if defs.is_empty() {
        notice(&format!("init_replica \"{}\": table \"{table}\" is gone from MySQL; not copied", src.name));
        catalog::copies::forget(src.id, db, table);
        return conn;
    }
    let into = match purpose {
        Purpose::Init => src.dest_schema.clone(),
        Purpose::Sync => super::sync::staging(src.id),
    };
    let parts = options::key_ranges(
        &src.copy_options,
        estimate,
        options::copy_workers(&src.copy_options),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    if parts > 1 && copy::split_key(&defs[0]).is_some() {
        in_ranges(src, table, &into, parts, purpose, started);
        return conn;
    }
    let mapped = super::map_tables(src, defs);
    create(&into, &mapped, purpose);
    super::reading_from_mysql();
    let (conn, copied) = super::copy_rows(&src.name, db, conn, &into, &mapped);
    for (table, (rows, changed)) in mapped.iter().zip(copied) {
        done(src, &into, table, (rows, changed), point, purpose, started);
    }
    conn
}

/// A large table read in `parts` key ranges at once, each on a connection of one new snapshot
/// (its copy point), all fed into this worker's one COPY.
fn in_ranges(src: &SourceConfig, table: &str, into: &str, parts: usize, purpose: Purpose, started: Instant) {
    let db = &src.conn.database;
    let (mut readers, point) = super::open_snapshot(src, parts);
    super::reading_from_mysql();
    // the table as this snapshot has it
    let defs = snapshot::read_tables(&mut readers[0], db, &[table.to_string()]).or_raise();
    if defs.is_empty() {
        catalog::copies::forget(src.id, db, table);
        return;
    }
    let mapped = super::map_tables(src, defs);
    let split = match copy::split_key(&mapped[0].0) {
        Some(key) => copy::key_bounds(&mut readers[0], db, table, &key)
            .or_raise()
            .and_then(|(min, max)| copy::Split::even(&key, min, max, parts))
            .unwrap_or(copy::Split { key, bounds: Vec::new() }),
        None => copy::Split { key: String::new(), bounds: Vec::new() },
    };
    readers.truncate(split.bounds.len() + 1);
    create(into, &mapped, purpose);
    let copied = super::copy_split(&src.name, db, readers, into, &mapped[0], split);
    log!("chameleon copy \"{}\": {table}: read in {parts} key ranges at once", src.name);
    done(src, into, &mapped[0], copied, &point, purpose, started);
}

/// The tables, made empty where their copy goes.
fn create(into: &str, mapped: &[(TableDef, Vec<PgColumn>)], purpose: Purpose) {
    for (t, cols) in mapped {
        if purpose == Purpose::Sync {
            super::sync::prepare_staging(into, &t.name);
        }
        Spi::run(&chameleon_core::ddl::create_table(into, &t.name, cols)).or_raise();
    }
}

/// A table's rows are in: its keys and indexes, and its copy recorded with its copy point.
fn done(
    src: &SourceConfig,
    into: &str,
    (t, cols): &(TableDef, Vec<PgColumn>),
    (rows, changed): (u64, u64),
    point: &Coordinates,
    purpose: Purpose,
    started: Instant,
) {
    let db = &src.conn.database;
    let made = super::keys(&src.name, into, t, cols);
    if purpose == Purpose::Sync {
        catalog::copies::mark_staged(src.id, db, t, rows, changed, point);
    } else {
        catalog::copies::mark_copied(src.id, db, &t.name, t.primary_key(), rows, changed, point);
        catalog::tables::record_table(src.id, db, t, &made);
    }
    log!(
        "chameleon copy \"{}\": {}: {rows} rows in {:.1} s, copy point {}:{}",
        src.name,
        t.name,
        started.elapsed().as_secs_f64(),
        point.binlog_file,
        point.binlog_position
    );
    backend::report_activity("");
}

/// The last worker out: foreign keys between the copied tables, then the source is
/// initialised at the earliest copy point. Under the source's row lock, so one worker does it.
fn finish(src: &SourceConfig) {
    if !catalog::copies::lock_for_finish(src.id) || catalog::copies::waiting(src.id) > 0 {
        return;
    }
    let db = &src.conn.database;
    let defs = catalog::tables::models(src.id, db);
    let made = super::foreign_keys(&src.dest_schema, &defs.iter().collect::<Vec<_>>());
    catalog::tables::record_all_made(src.id, db, &made);
    let points: Vec<Coordinates> = catalog::copies::points(src.id).or_raise().into_iter().map(|(_, p)| p).collect();
    let Some(start) = handover::earliest(&points) else {
        crate::error::raise(Error::new(SqlState::Internal, "no copy point recorded"))
    };
    catalog::batches::forget_batches(src.id).or_raise();
    catalog::sources::mark_initialised(src.id, start);
    log!(
        "chameleon copy \"{}\": {} tables copied; replication starts at {}:{}",
        src.name,
        points.len(),
        start.binlog_file,
        start.binlog_position
    );
}
