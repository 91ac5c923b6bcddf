//! Replica workers: one dynamic background worker per running source. start_replica starts it
//! once its transaction commits; the worker stops by itself when its source is no longer
//! `running` (stop_replica, disable_replica) or on SIGTERM, always between batches.

pub mod launcher;
mod replica;
pub mod slots;
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
    register_xact_callback(PgXactCallbackEvent::Commit, move || {
        launch(source_id, &source, &db, false)
    });
}

/// Registers the source's worker now (without preload too: a dynamic worker). Called from a
/// backend of the source's database; `by_launcher` counts towards the restart backoff.
pub fn launch(source_id: i64, source: &str, db: &str, by_launcher: bool) {
    // SAFETY: a backend global
    slots::launched(
        unsafe { pg_sys::MyDatabaseId }.to_u32(),
        source_id,
        by_launcher,
    );
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
    Spi::connect(|c| {
        c.select(
            "SELECT s.i_id_source, a.pid FROM sch_chameleon.t_sources s
               JOIN pg_stat_activity a ON a.backend_type = $1 AND a.datname = current_database()
                                      AND a.application_name = $2 || s.t_source",
            None,
            &[WORKER_TYPE.into(), app_name("").into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>(Live {
                source: r.get::<i64>(1)?.unwrap_or_default(),
                pid: r.get::<i32>(2)?.unwrap_or_default(),
                retries: 0,
                reason: String::new(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
    })
    .unwrap_or_default()
}
