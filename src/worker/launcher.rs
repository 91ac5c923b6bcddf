//! The launcher keeps running sources running. It is a static background worker (loaded by
//! shared_preload_libraries) that finds the databases by itself: every
//! `chameleon.launcher_naptime` seconds it visits each database with a short-lived scan
//! worker, one at a time. A scan starts a worker for every source that is `running`, enabled
//! and has had no worker for a second — after a crash, a server restart or a killed worker.
//! A source in `error` is left for the operator (enable_replica, start_replica).

use std::time::Duration;

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;

/// Called from _PG_init: the settings always; shared memory and the launcher only when
/// preloaded.
pub fn init() {
    crate::settings::define();
    if super::backend::preloading() {
        super::slots::init();
        BackgroundWorkerBuilder::new("chameleon launcher")
            .set_type("chameleon launcher")
            .set_library("chameleon")
            .set_function("chameleon_launcher_main")
            .enable_spi_access()
            .set_start_time(BgWorkerStartTime::RecoveryFinished)
            .set_restart_time(Some(Duration::from_secs(5)))
            .load();
    }
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn chameleon_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    // no database: the shared catalogs are enough to list the databases
    BackgroundWorker::connect_worker_to_spi(None, None);
    super::backend::set_appname("chameleon launcher");
    loop {
        let mut dbs = super::backend::databases();
        dbs.sort();
        for db in dbs {
            let scan = BackgroundWorkerBuilder::new(&format!("chameleon scan {db}"))
                .set_type("chameleon scan")
                .set_library("chameleon")
                .set_function("chameleon_scan_main")
                .enable_spi_access()
                .set_extra(&db)
                .set_notify_pid(super::backend::pid())
                .load_dynamic();
            // one scan at a time: scans never take the workers' slots
            match scan {
                Ok(w) => {
                    let _ = w.wait_for_shutdown();
                }
                // (no free background worker slot: the database waits for the next round)
                Err(_) => log!("chameleon launcher: could not start the scan of database \"{db}\" (max_worker_processes reached?)"),
            }
            if BackgroundWorker::sigterm_received() {
                return;
            }
        }
        if !BackgroundWorker::wait_latch(Some(Duration::from_secs(
            crate::settings::LAUNCHER_NAPTIME.get().max(1) as u64,
        ))) {
            return; // SIGTERM or postmaster death
        }
        if BackgroundWorker::sighup_received() {
            super::backend::reload_config();
        }
    }
}

/// Whether this database has the extension (a scan visits every database).
fn installed() -> bool {
    Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'chameleon')")
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Sources that should run but have no worker now.
fn orphans() -> Vec<(i64, String)> {
    BackgroundWorker::transaction(|| {
        let installed = installed();
        if !installed {
            return Vec::new();
        }
        let running = crate::catalog::sources::running_sources().unwrap_or_else(|e| {
            log!("chameleon launcher: could not read the running sources: {e:?}");
            Vec::new()
        });
        let live = super::live_workers();
        running
            .into_iter()
            .filter(|(id, _)| !live.iter().any(|w| w.source == *id))
            .collect()
    })
}

/// Background copies (1.6) with tables waiting and no copy worker: (source, name, workers
/// to start).
fn unfinished_copies() -> Vec<(i64, String, usize)> {
    BackgroundWorker::transaction(|| {
        let installed = installed();
        if !installed || !crate::catalog::copies::keeps_copy_points() {
            return Vec::new();
        }
        let live = crate::copy::worker::live();
        crate::catalog::copies::unfinished()
            .into_iter()
            .filter(|(id, _)| !live.iter().any(|(s, _)| s == id))
            .filter_map(|(id, name)| {
                let src = crate::catalog::load_source(id)?;
                let waiting = crate::catalog::copies::waiting(id).max(1) as usize;
                Some((id, name, chameleon_core::options::copy_workers(&src.copy_options).min(waiting)))
            })
            .collect()
    })
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn chameleon_scan_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let db = BackgroundWorker::get_extra().to_owned();
    BackgroundWorker::connect_worker_to_spi(Some(&db), None);
    let first = orphans();
    let copies = unfinished_copies();
    if first.is_empty() && copies.is_empty() {
        return;
    }
    // a second look a second later: a worker that start_replica or init_replica just launched
    // has registered by then, and a status set by hand for a moment is not taken for a crash
    if !BackgroundWorker::wait_latch(Some(Duration::from_secs(1))) {
        return;
    }
    let again = unfinished_copies();
    for (id, name, n) in copies.into_iter().filter(|c| again.contains(c)) {
        // after a crash, a restart, a killed worker or enable_replica: the tables copied stay
        log!("chameleon launcher: resuming the copy of source \"{name}\" in database \"{db}\" with {n} copy workers");
        crate::copy::worker::launch(id, &name, &db, n);
    }
    let second = orphans();
    let oid = super::backend::database_id();
    for (id, name) in first.into_iter().filter(|s| second.contains(s)) {
        // backoff: a worker that keeps dying is restarted after 1 s, 2 s, 4 s, …
        if let Some(slot) = super::slots::get(oid, id).filter(|s| s.launched_at != 0) {
            let wait = crate::settings::retry_delay(slot.restarts);
            if super::slots::age(slot.launched_at) < wait {
                debug1!("chameleon launcher: source \"{name}\" in database \"{db}\" waits {wait:?} after restart {}", slot.restarts);
                continue;
            }
            log!("chameleon launcher: restarting the worker of source \"{name}\" in database \"{db}\" (restart {} in a row)", slot.restarts + 1);
        } else {
            log!("chameleon launcher: restarting the worker of source \"{name}\" in database \"{db}\"");
        }
        super::launch(id, &name, &db, true);
    }
}
