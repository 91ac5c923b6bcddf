//! Replica workers: one dynamic background worker per running source. start_replica starts it
//! once its transaction commits; the worker stops by itself when its source is no longer
//! `running` (stop_replica, disable_replica) or on SIGTERM, always between batches.
//!
//! One file per job (docs/architecture.md): `process` (the worker's loop, retries, the
//! reader thread's life), `reader` (the binlog thread: batches and their plans), `tables` (the
//! replicated tables' shape, built in one place), `store` (a batch and its position written),
//! `apply` (the two replay paths behind one entry point, and schema changes), `backend` (all
//! unsafe dealings with PostgreSQL), `slots` (shared memory), `launcher` (restarts).

mod apply;
pub(crate) mod backend;
pub use backend::{database_id, database_name};
pub mod launcher;
mod process;
mod reader;
pub mod slots;
mod store;
mod tables;

use pgrx::bgworkers::BackgroundWorkerBuilder;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

/// backend_type of the workers in pg_stat_activity
pub const WORKER_TYPE: &str = "chameleon replica";

/// application_name of a source's worker in pg_stat_activity
pub fn app_name(source: &str) -> String {
    format!("chameleon replica {source}")
}

/// Starts the source's worker after the calling transaction commits: a start_replica that
/// rolls back starts nothing.
pub fn start_after_commit(source_id: i64, source: &str) {
    let db = backend::database_name();
    let source = source.to_string();
    register_xact_callback(PgXactCallbackEvent::Commit, move || {
        launch(source_id, &source, &db, false)
    });
}

/// Registers the source's worker now (without preload too: a dynamic worker). Called from a
/// backend of the source's database; `by_launcher` counts towards the restart backoff.
pub fn launch(source_id: i64, source: &str, db: &str, by_launcher: bool) {
    slots::launched(backend::database_id(), source_id, by_launcher);
    let name = app_name(source);
    let started = BackgroundWorkerBuilder::new(&name)
        .set_type(WORKER_TYPE)
        .set_library("chameleon")
        .set_function("chameleon_replica_main")
        .enable_spi_access()
        .set_extra(&format!("{source_id}:{db}"))
        .load_dynamic();
    if started.is_err() {
        warning!("chameleon: could not start the worker of \"{name}\": no free background worker slot (raise max_worker_processes)");
    }
}

/// A worker running now.
pub struct Live {
    pub source: i64,
    pub pid: i32,
    /// failed attempts in a row to reach MySQL, and why (0: streaming)
    pub retries: u32,
    pub reason: String,
}

/// The workers of this database's sources: from the shared-memory slots, or, without
/// preload, from pg_stat_activity (no retry information then).
pub fn live_workers() -> Vec<Live> {
    if slots::ready() {
        return slots::of_this_database()
            .iter()
            .filter(|s| s.pid != 0)
            .map(|s| Live {
                source: s.source,
                pid: s.pid,
                retries: s.retries,
                reason: s.reason().to_string(),
            })
            .collect();
    }
    crate::catalog::sources::workers_in_activity(WORKER_TYPE, &app_name(""))
        .into_iter()
        .map(|(source, pid)| Live {
            source,
            pid,
            retries: 0,
            reason: String::new(),
        })
        .collect()
}
