//! The source worker: reads the binlog on a thread that never calls PostgreSQL, builds
//! batches on transaction boundaries, stores each batch with its resume position in one
//! transaction, and replays it in another. A crash anywhere loses and duplicates nothing:
//! the position moves only with the batch it covers, and a stored batch is replayed once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use chameleon_core::batch::{Batch, BatchBuilder, Columns, LogRows, StatementEvent};
use chameleon_core::binlog::{BinlogReader, Position};
use chameleon_core::conn::MysqlConn;
use chameleon_core::names::pg_truncated;
use chameleon_core::replay::{plan_batch, Target, Unit};
use chameleon_core::schema_change::{Model, Outcome, Registration, Translation};
use chameleon_core::snapshot::{read_tables, select_tables, TableDef};
use chameleon_core::types::{map_column, MysqlColumn, PgColumn};
use chameleon_core::{Error, SqlState};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use serde_json::json;

use super::slots::{self, Refused};
use super::store::{self, Source};
use crate::settings;

type Defs = Arc<Vec<(MysqlColumn, PgColumn)>>;

/// The replicated tables as the binlog has them at the reader's position: chameleon's model
/// (columns, keys, indexes; schema changes move it forward), each table's column decoders,
/// and the shape replay plans with.
struct TableDefs {
    model: Model,
    tables: HashMap<String, Defs>,
    shape: store::Shape,
    /// on_error = 'skip': a statement that cannot be replicated does not stop reading
    skip_errors: bool,
    /// a statement could not be replicated and the source stops: read no further
    failed: bool,
}

impl Columns for TableDefs {
    fn columns(
        &mut self,
        schema: &str,
        table: &str,
    ) -> chameleon_core::error::Result<Option<Defs>> {
        Ok(if schema == self.model.database {
            self.tables.get(table).cloned()
        } else {
            None
        })
    }

    fn statement(&mut self, schema: &str, query: &str) -> StatementEvent {
        let failed = |e: Error| json!({"mysql": query, "error": {"sqlstate": e.state.code(), "message": e.message, "detail": e.detail, "hint": e.hint}});
        match self.model.translate(schema, query) {
            Ok(Outcome::Ignored(_)) => StatementEvent::Ignored,
            Ok(Outcome::Apply(t)) => {
                let table = t
                    .registrations
                    .iter()
                    .map(|r| match r {
                        Registration::Table { table, .. } | Registration::Gone { table } => {
                            table.clone()
                        }
                    })
                    .next()
                    .unwrap_or_default();
                if let Err(e) = self.follow(&t) {
                    self.failed = !self.skip_errors;
                    return StatementEvent::Failed {
                        table,
                        data: failed(e),
                    };
                }
                StatementEvent::Ddl {
                    sql: t.statements.join(";\n"),
                    table,
                    data: t.event_data(query),
                }
            }
            Err(e) => {
                self.failed = !self.skip_errors;
                StatementEvent::Failed {
                    table: self.model.table_of(schema, query).unwrap_or_default(),
                    data: failed(e),
                }
            }
        }
    }
}

impl TableDefs {
    /// After a schema change: the decoders and the replay shape of the tables it touched.
    fn follow(&mut self, t: &Translation) -> Result<(), Error> {
        for r in &t.registrations {
            match r {
                Registration::Gone { table } => {
                    self.tables.remove(table);
                    self.shape.targets.remove(table);
                }
                Registration::Table {
                    table,
                    renamed_from,
                    pkey,
                    ..
                } => {
                    if let Some(old) = renamed_from {
                        self.tables.remove(old);
                        self.shape.targets.remove(old);
                    }
                    let def = &self.model.tables[table];
                    let defs = def
                        .columns
                        .iter()
                        .map(|c| {
                            map_column(table, c, &self.model.overrides).map(|pg| (c.clone(), pg))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    self.tables.insert(table.clone(), Arc::new(defs));
                    self.shape.targets.insert(
                        table.clone(),
                        Target {
                            schema: self.model.dest.clone(),
                            table: table.clone(),
                            // row images are keyed by PostgreSQL's names (63 bytes at most)
                            key: pkey.iter().map(|k| pg_truncated(k).to_string()).collect(),
                            columns: def
                                .columns
                                .iter()
                                .map(|c| pg_truncated(&c.name).to_string())
                                .collect(),
                        },
                    );
                }
            }
        }
        // tables a foreign key links keep binlog order among themselves
        self.shape.linked = self
            .model
            .tables
            .values()
            .flat_map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|f| self.model.tables.contains_key(&f.ref_table))
                    .flat_map(|f| [t.name.clone(), f.ref_table.clone()])
            })
            .collect();
        Ok(())
    }
}

/// The replicated tables' shape where the source resumes: as the catalogue keeps it (1.4:
/// init_replica and each replayed schema change write it, schema changes stored but not yet
/// replayed are applied on top), or as MySQL has it now (older catalogues, tables not kept
/// yet: right unless MySQL's schema changed after the resume position).
fn table_defs(src: &Source) -> Result<TableDefs, Error> {
    let kept = store::kept_models(src);
    let mut model = BTreeMap::new();
    let mut from_mysql = Vec::new();
    for (table, json) in kept.iter().flat_map(|k| &k.tables) {
        match json
            .clone()
            .and_then(|j| serde_json::from_value::<TableDef>(j).ok())
        {
            Some(def) => {
                model.insert(table.clone(), def);
            }
            None => from_mysql.push(table.clone()),
        }
    }
    if kept.is_none() || !from_mysql.is_empty() {
        let mut conn = chameleon_core::source::connect(&src.conn)?;
        let facts = chameleon_core::source::gather_facts(&mut conn, &src.conn.database)?;
        let selected = select_tables(&facts.tables, &src.include, &src.exclude);
        let names: Vec<String> = match &kept {
            Some(_) => selected
                .into_iter()
                .filter(|t| from_mysql.contains(t))
                .collect(),
            None => selected,
        };
        for t in read_tables(&mut conn, &src.conn.database, &names)? {
            model.insert(t.name.clone(), t);
        }
    }
    // schema changes stored while replay is paused: the resume position is past them
    for regs in kept.iter().flat_map(|k| &k.pending) {
        for r in regs.as_array().into_iter().flatten() {
            let table = r["table"].as_str().unwrap_or_default().to_string();
            if let Some(from) = r["renamed_from"].as_str() {
                model.remove(from);
            }
            match serde_json::from_value::<TableDef>(r["model"].clone()) {
                Ok(def) if r["gone"].as_bool() != Some(true) => {
                    model.insert(table, def);
                }
                _ => {
                    model.remove(&table);
                }
            }
        }
    }
    let mut tables = HashMap::new();
    for t in model.values() {
        let defs = t
            .columns
            .iter()
            .map(|c| map_column(&t.name, c, &src.type_overrides).map(|pg| (c.clone(), pg)))
            .collect::<Result<Vec<_>, _>>()?;
        tables.insert(t.name.clone(), Arc::new(defs));
    }
    Ok(TableDefs {
        model: Model {
            database: src.conn.database.clone(),
            dest: src.dest_schema.clone(),
            include: src.include.clone(),
            exclude: src.exclude.clone(),
            overrides: src.type_overrides.clone(),
            tables: model,
        },
        tables,
        shape: store::Shape::default(),
        skip_errors: src.skip_errors,
        failed: false,
    })
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn chameleon_replica_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let extra = BackgroundWorker::get_extra().to_owned();
    let Some((id, db)) = extra.split_once(':') else {
        return;
    };
    let Ok(id) = id.parse::<i64>() else { return };
    BackgroundWorker::connect_worker_to_spi(Some(db), None);
    let outcome = PgTryBuilder::new(|| run(id))
        .catch_others(|e| {
            // an ERROR inside a transaction: abort it, then say why the source stopped
            unsafe { pg_sys::AbortCurrentTransaction() };
            let msg = match &e {
                pgrx::pg_sys::panic::CaughtError::PostgresError(r)
                | pgrx::pg_sys::panic::CaughtError::ErrorReport(r) => r.message().to_string(),
                pgrx::pg_sys::panic::CaughtError::RustPanic { ereport, .. } => {
                    ereport.message().to_string()
                }
            };
            Err(Error::new(SqlState::ConnectionFailure, msg))
        })
        .execute();
    if let Err(e) = outcome {
        log!("chameleon replica {id}: stopped in error: {}", e.message);
        store::record_error(id, &e);
    }
}

fn run(id: i64) -> Result<(), Error> {
    // one worker per source, whoever started it
    if !store::take_source_lock(id) {
        return Ok(());
    }
    let Some(src) = store::load(id) else {
        return Ok(());
    };
    let name = std::ffi::CString::new(super::app_name(&src.name)).unwrap_or_default();
    // SAFETY: a NUL-terminated string that outlives the call
    unsafe { pg_sys::pgstat_report_appname(name.as_ptr()) };
    if !src.running {
        return Ok(());
    }
    match slots::attach(id, settings::MAX_WORKERS.get().max(1) as usize) {
        Ok(()) => {}
        Err(Refused::Taken) => return Ok(()),
        Err(Refused::Full(n)) => {
            return Err(Error::new(SqlState::ConfigurationLimitExceeded, format!("{n} chameleon workers run already (chameleon.max_workers)"))
                .hint("Raise chameleon.max_workers (and max_worker_processes if needed) and reload, or stop another source; then enable_replica and start_replica."))
        }
    }
    // MySQL unreachable or the stream cut: wait (1 s, 2 s, 4 s, … chameleon.max_retry_delay) and
    // stream again from the stored position; every other error stops the source
    let mut attempt = 0u32;
    loop {
        let mut streamed = false;
        let e = match session(id, &mut streamed) {
            Ok(()) => return Ok(()),
            Err(e) if e.state == SqlState::ConnectionFailure => e,
            Err(e) => return Err(e),
        };
        if streamed {
            attempt = 0; // the last attempt worked: this is a new incident
        }
        let wait = settings::retry_delay(attempt);
        attempt += 1;
        let reason = match &e.detail {
            Some(d) => format!("{} ({d})", e.message),
            None => e.message.clone(),
        };
        log!(
            "chameleon replica {id}: {reason}; attempt {attempt} in {} s",
            wait.as_secs()
        );
        slots::set_retries(id, attempt, &reason);
        if !sleep_while_running(id, wait) {
            return Ok(());
        }
    }
}

/// Waits `d`, false as soon as the worker should leave (SIGTERM, postmaster death, source
/// stopped).
fn sleep_while_running(id: i64, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if !BackgroundWorker::wait_latch(Some(
            (until - Instant::now()).min(Duration::from_millis(500)),
        )) {
            return false;
        }
        if store::still_running(id).is_none() {
            return false;
        }
    }
    true
}

/// A batch ready for the main thread: its log rows and its replay plan were made on the
/// reader thread.
struct Prepared {
    batch: Batch,
    work: Work,
}

#[allow(clippy::large_enum_variant)] // one value per batch, moved once
enum Work {
    /// chameleon.direct_replay with replay not paused: stored and replayed in one transaction,
    /// so no log rows are made
    Direct(Vec<Unit>),
    /// stored with its log rows, then replayed from the plan (None: the batch holds a
    /// statement and is replayed from its log rows)
    Stored {
        rows: LogRows,
        units: Option<Vec<Unit>>,
    },
}

/// One connection's life: catch up stored batches, stream from the stored position, store and
/// replay. Ok when the worker should leave; Err when the stream or the source failed
/// (`streamed`: after at least one event arrived).
fn session(id: i64, streamed: &mut bool) -> Result<(), Error> {
    let Some(src) = store::load(id) else {
        return Ok(());
    };
    if !src.running {
        return Ok(());
    }
    // batches stored before a stop, a crash or an upgrade are replayed first, once (their
    // schema changes then are in the kept table models)
    if !src.replay_paused && !replay_pending(&src) {
        return Ok(()); // a schema change stopped the source
    }
    let mut defs = table_defs(&src)?;
    defs.shape = store::shape(&src, &defs.tables);

    // the reader thread decodes, builds batches and plans them; this thread only runs SQL
    let (tx, rx) = sync_channel::<Result<Prepared, Error>>(2);
    let stop = Arc::new(AtomicBool::new(false));
    let direct = Arc::new(AtomicBool::new(false));
    let reader = {
        let (conn, server_id, from, stop, direct) = (
            src.conn.clone(),
            src.server_id,
            src.position.clone(),
            stop.clone(),
            direct.clone(),
        );
        let builder = BatchBuilder::new(src.batch_size).with_max_delay(Duration::from_millis(
            settings::BATCH_DELAY.get().max(1) as u64,
        ));
        std::thread::Builder::new()
            .name("chameleon-binlog".into())
            .spawn(move || {
                // a panic in decoding (a library's bug on some value) stops the source with the
                // reason, instead of a reconnect that would meet it again forever
                let report = tx.clone();
                let read = std::panic::AssertUnwindSafe(|| {
                    read_binlog(conn, server_id, from, builder, defs, stop, direct, tx)
                });
                if let Err(p) = std::panic::catch_unwind(read) {
                    let why = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let _ = report.send(Err(Error::new(
                        SqlState::InvalidBinaryRepresentation,
                        format!("the binlog reader failed: {why}"),
                    )));
                }
            })
            .map_err(|e| {
                Error::new(
                    SqlState::ConnectionFailure,
                    format!("could not start the binlog thread: {e}"),
                )
            })?
    };
    let outcome = follow(id, &src, &direct, rx, streamed);
    // the reader leaves at its next event or heartbeat (every 100 ms); wait for it, so that two
    // streams with one server_id never overlap
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    outcome
}

/// Replays the stored batches not yet replayed, in order; false when a schema change stopped
/// the source.
fn replay_pending(src: &Source) -> bool {
    store::pending_batches(src.id)
        .into_iter()
        .all(|batch| store::replay(src, batch))
}

fn follow(
    id: i64,
    src: &Source,
    direct: &AtomicBool,
    rx: Receiver<Result<Prepared, Error>>,
    streaming: &mut bool,
) -> Result<(), Error> {
    let began = Instant::now();
    let mut healthy = false;
    let mut checked = Instant::now();
    let mut cleaned: Option<Instant> = None;
    let mut paused = src.replay_paused;
    loop {
        // SIGTERM or a dead postmaster: leave between batches (what was not stored is read
        // again next time)
        if !BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
            return Ok(());
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: the documented way to reload settings in a worker
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        if checked.elapsed() > Duration::from_millis(500) {
            checked = Instant::now();
            match store::still_running(id) {
                Some(p) => {
                    if paused && !p && !replay_pending(src) {
                        // replay resumed: what was stored meanwhile first, in order
                        return Ok(());
                    }
                    paused = p;
                }
                None => return Ok(()), // stopped, disabled or dropped
            }
            if cleaned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                cleaned = Some(Instant::now());
                store::clean_old_batches(id);
            }
            if !healthy && began.elapsed() > Duration::from_secs(60) {
                healthy = true;
                slots::healthy(id);
            }
        }
        // the reader prepares the next batches for the mode in force now
        direct.store(!paused && settings::DIRECT_REPLAY.get(), Ordering::Relaxed);
        let ready = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => return Err(e),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::new(
                    SqlState::ConnectionFailure,
                    "the binlog reader stopped",
                ))
            }
        };
        if !*streaming {
            *streaming = true;
            slots::set_retries(id, 0, "");
        }
        let Prepared { batch, work } = ready;
        if batch.events.is_empty() {
            store::store_position(src, &batch.end);
            continue;
        }
        match work {
            Work::Direct(units) => store::store_and_replay(src, &batch, units),
            Work::Stored { rows, units } => {
                let stored = store::store(src, &batch, rows);
                if !paused {
                    match units {
                        Some(units) => {
                            store::replay_planned(src, stored, units, batch.last_timestamp())
                        }
                        None => {
                            if !store::replay(src, stored) {
                                return Ok(()); // a schema change stopped the source
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The reader thread: binlog events become batches, each with its log rows (unless for direct
/// replay) and replay plan, on the channel. Never calls PostgreSQL.
#[allow(clippy::too_many_arguments)]
fn read_binlog(
    conn: MysqlConn,
    server_id: u32,
    from: Position,
    mut builder: BatchBuilder,
    mut defs: TableDefs,
    stop: Arc<AtomicBool>,
    direct: Arc<AtomicBool>,
    tx: SyncSender<Result<Prepared, Error>>,
) {
    let mut reader = match BinlogReader::open(&conn, server_id, &from, false) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
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
        // take_replay_events moves the images out, so the log rows are made first; it moves
        // nothing from a batch with a statement, which is always stored with its log rows
        let work = match direct
            .load(Ordering::Relaxed)
            .then(|| batch.take_replay_events())
            .flatten()
        {
            Some(events) => Work::Direct(plan(events)),
            None => {
                let rows = batch.log_rows();
                Work::Stored {
                    rows,
                    units: batch.take_replay_events().map(plan),
                }
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
