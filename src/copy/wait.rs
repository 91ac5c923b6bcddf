//! init_replica(source, wait => true) through the copy workers. A SQL function cannot commit,
//! so the caller only checks (the source, its tables' mapping, the destination schema) and
//! waits: a copy worker queues the tables in a transaction of its own and copies with the
//! others, table by table, resumably, as with `wait => false`. The caller reports each table
//! as it is copied and returns when the source is initialised. Cancelling the call leaves the
//! copy running (it says so); calling again waits for it.
//!
//! The copy stays in the caller's transaction, all or nothing (1.5's copy), when the source's
//! copy option `parallel_tables` is 0, and where copy workers could not see what the caller
//! sees: a transaction that has written (it may have
//! registered or changed the source), one at REPEATABLE READ or above (its snapshot would never
//! see the workers' progress), or no free background worker slot.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use chameleon_core::state::{plan, Status, Verb};
use chameleon_core::{options, snapshot, watch, Error, SqlState};
use pgrx::bgworkers::{BackgroundWorkerStatus, DynamicBackgroundWorker};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;

use crate::catalog;
use crate::error::{notice, raise, OrRaise};

/// init_replica with `wait`: returns the rows copied.
pub fn init_replica_waiting(source: &str) -> i64 {
    // (asked first: the calls below may give this transaction an id)
    let stays = stays_in_this_transaction();
    super::background::one_init_at_a_time(source);
    if let Some(why) = stays {
        notice(&format!("init_replica \"{source}\": copying in this transaction ({why})"));
        return super::init_replica(source, Verb::Init);
    }
    let src = catalog::sources::peek_source(source);
    let started = Instant::now();
    if src.state.status == Status::Initialising {
        // (a paused one is refused by the first look, with how to resume it)
        if src.state.enabled {
            notice(&format!("init_replica \"{source}\": a copy is under way; waiting for it"));
        }
        let since = catalog::copies::queued_at(src.id);
        return wait(source, src.id, since, None, started);
    }
    plan(source, Verb::Init, src.state).or_raise();
    let s = super::source_config(src.id, source);
    if options::copies_in_caller(&s.copy_options) {
        return super::init_replica(source, Verb::Init);
    }
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let selected = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    if selected.is_empty() {
        return super::init_replica(source, Verb::Init);
    }
    // what would refuse the copy is refused here, by this call, before anything changes
    super::check_mapping(&s, &selected);
    super::check_destination(src.id, &src.dest_schema);
    let since = catalog::copies::clock();
    let db = crate::worker::database_name();
    // SAFETY: a plain read of a backend global
    let me = unsafe { pg_sys::MyProcPid };
    let Some(first) = super::worker::launch_queueing(src.id, source, &db, me) else {
        notice(&format!("init_replica \"{source}\": no free background worker slot (max_worker_processes); copying in this transaction"));
        return super::init_replica(source, Verb::Init);
    };
    notice(&format!(
        "init_replica \"{source}\": {} tables go to copy workers (copy option parallel_tables), each table committed when complete; cancelling this call leaves the copy running",
        selected.len()
    ));
    wait(source, src.id, since, Some(first), started)
}

/// Why copy workers could not do this caller's copy, if they could not.
fn stays_in_this_transaction() -> Option<&'static str> {
    // SAFETY: plain reads of the backend's transaction state
    let (xid, isolation) = unsafe { (pg_sys::GetTopTransactionIdIfAny(), pg_sys::XactIsoLevel) };
    if xid != pg_sys::TransactionId::INVALID {
        return Some("it has written: copy workers would not see what it wrote");
    }
    if isolation >= pg_sys::XACT_REPEATABLE_READ as i32 {
        return Some("its isolation level would hide the copy workers' progress from it");
    }
    if !catalog::copies::keeps_copy_points() {
        return Some("the catalogue predates copy workers");
    }
    None
}

/// Waits for the source's copy (queued at or after `since`), reporting each table copied.
fn wait(source: &str, id: i64, since: Since, first: Option<DynamicBackgroundWorker>, started: Instant) -> i64 {
    let mut told = HashSet::new();
    // (tables copied, queued) at the last look, for a cancel to say
    let so_far = std::cell::Cell::new((0usize, 0i64));
    let seen = AssertUnwindSafe(&so_far);
    let waited = PgTryBuilder::new(AssertUnwindSafe(|| loop {
        // (asked before the catalogue is read: a worker that has stopped wrote what it did)
        let first_gone = first.as_ref().is_none_or(|w| matches!(w.pid(), Err(BackgroundWorkerStatus::Stopped)));
        let w = catalog::copies::watch(id, since).unwrap_or_else(|| {
            raise(Error::new(SqlState::UndefinedObject, format!("source \"{source}\" was dropped during its copy")))
        });
        for (table, rows) in &w.copied {
            if told.insert(table.clone()) {
                notice(&format!("init_replica \"{source}\": {table}: {rows} rows copied ({} of {} tables)", told.len(), w.queued));
            }
        }
        if watch::outcome(source, &w, first_gone).or_raise() {
            return w;
        }
        so_far.set((w.copied.len(), w.queued));
        sleep_interruptibly(100);
    }))
    .catch_when(PgSqlErrorCode::ERRCODE_QUERY_CANCELED, move |_: CaughtError| {
        let (copied, queued) = seen.get();
        raise(
            Error::new(SqlState::Reported(*b"57014"), format!("init_replica \"{source}\": canceled; the copy goes on in the background"))
                .detail(format!("{copied} of {queued} tables copied so far."))
                .hint(format!("SELECT * FROM chameleon.show_copy('{source}') follows it; SELECT chameleon.init_replica('{source}') waits for it again; chameleon.disable_replica('{source}') pauses it.")),
        )
    })
    .execute();
    let rows = waited.rows;
    notice(&format!(
        "init_replica \"{source}\": {rows} rows in {} tables copied in {:.1} s; replication starts at {}",
        waited.queued,
        started.elapsed().as_secs_f64(),
        waited.position
    ));
    rows
}

/// The moment a copy's tables were queued, as the catalogue stores it.
pub type Since = pgrx::datum::TimestampWithTimeZone;

/// Sleeps `ms` or until the latch is set (a worker this backend started starts or stops);
/// a cancel or termination is raised here.
fn sleep_interruptibly(ms: i64) {
    // SAFETY: MyLatch is this backend's own; WaitLatch and ResetLatch are how a backend
    // sleeps, and CHECK_FOR_INTERRUPTS raises a pending cancel as an ERROR
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            ms as _,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pg_sys::check_for_interrupts!();
}
