//! Replica workers: one dynamic background worker per running source. start_replica starts it
//! once its transaction commits; the worker stops by itself when its source is no longer
//! `running` (stop_replica, disable_replica) or on SIGTERM, always between batches.

pub mod launcher;
mod replica;
mod store;

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
    // SAFETY: plain reads of backend globals
    let db = unsafe { std::ffi::CStr::from_ptr(pg_sys::get_database_name(pg_sys::MyDatabaseId)) }
        .to_string_lossy()
        .into_owned();
    let source = source.to_string();
    register_xact_callback(PgXactCallbackEvent::Commit, move || launch(source_id, &source, &db));
}

/// Registers the source's worker now (without preload too: a dynamic worker).
pub fn launch(source_id: i64, source: &str, db: &str) {
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
