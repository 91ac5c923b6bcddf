//! The source worker's process: its entry point, the retry loop around MySQL, and one
//! connection's life (catch up stored batches, start the reader thread, store and apply what it
//! prepares). A crash anywhere loses and duplicates nothing: the position moves only with the
//! batch it covers, and a stored batch is replayed once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chameleon_core::batch::{Batch, BatchBuilder};
use chameleon_core::handover::Handover;
use chameleon_core::{Error, SqlState};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

use super::apply::{apply, apply_parts, replay_pending, Used, Work};
use super::backend::{self, tx};
use super::reader::{read_binlog, Prepared, Stream};
use super::slots::{self, Refused};
use super::store::store_position;
use crate::catalog::{self, SourceConfig};
use crate::settings;

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
    // a batch commits with its position: nothing to wait for at each commit (bench/replica)
    backend::commit_without_flush();
    backend::run_worker(&format!("chameleon replica {id}"), || run(id), |why| {
        catalog::sources::stop_in_error(id, why)
    });
}

/// A session-level advisory lock on the source: a second worker for it leaves at once.
fn take_source_lock(id: i64) -> bool {
    tx(|| {
        Ok(catalog::query_opt::<bool>(
            "SELECT pg_try_advisory_lock(hashtext('chameleon replica'), $1::int)",
            &[(id as i32).into()],
        ))
    })
    .unwrap_or(false)
}

fn load(id: i64) -> Option<SourceConfig> {
    tx(|| Ok(catalog::load_source(id)))
}

fn run(id: i64) -> Result<(), Error> {
    // one worker per source, whoever started it
    if !take_source_lock(id) {
        return Ok(());
    }
    let Some(src) = load(id) else {
        return Ok(());
    };
    backend::set_appname(&super::app_name(&src.name));
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
            Ok(true) => continue, // copies swapped in: stream again from the position set
            Ok(false) => return Ok(()),
            Err(e) if e.state == SqlState::ConnectionFailure => e,
            Err(e) => return Err(e),
        };
        if streamed {
            attempt = 0; // the last attempt worked: this is a new incident
        }
        let wait = settings::retry_delay(attempt);
        attempt += 1;
        let reason = e.reason();
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
        if tx(|| catalog::sources::still_running(id)).is_none() {
            return false;
        }
    }
    true
}

/// One connection's life: catch up stored batches, stream from the stored position, store and
/// replay. Ok(false) when the worker should leave, Ok(true) when it should stream again from
/// the stored position (tables copied again were swapped in); Err when the stream or the
/// source failed (`streamed`: after at least one event arrived).
fn session(id: i64, streamed: &mut bool) -> Result<bool, Error> {
    let Some(src) = load(id) else {
        return Ok(false);
    };
    if !src.running {
        return Ok(false);
    }
    // batches stored before a stop, a crash or an upgrade are replayed first, once (their
    // schema changes then are in the kept table models)
    if !src.replay_paused && !replay_pending(&src) {
        return Ok(false); // a schema change stopped the source
    }
    // copies made while the worker was away (sync_tables) take their place first
    if !src.replay_paused && swapped(&src) {
        return Ok(true);
    }
    let defs = super::tables::at_resume_position(&src)?;
    // tables copied after the resume position (a background copy): what their copies hold is
    // skipped
    let points = tx(|| catalog::copies::points(id));
    let handover = Handover::new(&src.conn.database, points, &src.position);

    // the reader thread decodes, builds batches and plans them; this thread only runs SQL
    let (tx, rx) = sync_channel::<Result<Prepared, Error>>(2);
    // and the plans this thread applied go back to it to be freed (`apply::Used`)
    let (used, applied) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let direct = Arc::new(AtomicBool::new(false));
    let stream = Stream {
        conn: src.conn.clone(),
        server_id: src.server_id,
        from: src.position.clone(),
        builder: BatchBuilder::new(src.batch_size)
            .with_max_delay(Duration::from_millis(settings::BATCH_DELAY.get().max(1) as u64))
            .with_max_memory(settings::MAX_BATCH_MEMORY.get().max(1024) as usize * 1024)
            .with_handover(handover),
        defs,
        applied,
    };
    let reader = {
        let (stop, direct) = (stop.clone(), direct.clone());
        std::thread::Builder::new()
            .name("chameleon-binlog".into())
            .spawn(move || {
                // a panic in decoding (a library's bug on some value) stops the source with the
                // reason, instead of a reconnect that would meet it again forever
                let report = tx.clone();
                let read = std::panic::AssertUnwindSafe(|| read_binlog(stream, stop, direct, tx));
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
                    SqlState::Internal,
                    format!("could not start the binlog thread: {e}"),
                )
            })?
    };
    let outcome = store_and_apply(id, &src, &direct, rx, &used, streamed);
    // the reader leaves at its next event or heartbeat (every 100 ms); wait for it, so that two
    // streams with one server_id never overlap
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    outcome
}

/// Staged copies swapped in (`copy::swap_staged`), in a transaction of their own.
fn swapped(src: &SourceConfig) -> bool {
    tx(|| Ok(crate::copy::swap_staged(src))).is_some()
}

/// Stores and applies what the reader prepares until the worker should leave (false) or
/// stream again (true: copies swapped in).
fn store_and_apply(
    id: i64,
    src: &SourceConfig,
    direct: &AtomicBool,
    rx: Receiver<Result<Prepared, Error>>,
    used: &Used,
    streaming: &mut bool,
) -> Result<bool, Error> {
    let began = Instant::now();
    let mut healthy = false;
    let mut checked = Instant::now();
    let mut cleaned: Option<Instant> = None;
    let mut paused = src.replay_paused;
    loop {
        // SIGTERM or a dead postmaster: leave between batches (what was not stored is read
        // again next time)
        if !BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
            return Ok(false);
        }
        if BackgroundWorker::sighup_received() {
            backend::reload_config();
        }
        if checked.elapsed() > Duration::from_millis(500) {
            checked = Instant::now();
            match tx(|| catalog::sources::still_running(id)) {
                Some(p) => {
                    if paused && !p && !replay_pending(src) {
                        // replay resumed: what was stored meanwhile first, in order
                        return Ok(false);
                    }
                    paused = p;
                }
                None => return Ok(false), // stopped, disabled or dropped
            }
            if !paused && swapped(src) {
                return Ok(true);
            }
            if cleaned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                cleaned = Some(Instant::now());
                tx(|| catalog::batches::clean_old_batches(id));
            }
            if !healthy && began.elapsed() > Duration::from_secs(60) {
                healthy = true;
                slots::healthy(id);
            }
        }
        // the reader prepares the next batches for the mode in force now
        direct.store(!paused && settings::DIRECT_REPLAY.get(), Ordering::Relaxed);
        let Some(ready) = receive(&rx)? else {
            continue;
        };
        if !*streaming {
            *streaming = true;
            slots::set_retries(id, 0, "");
        }
        let Prepared { batch, work } = ready;
        if batch.continues {
            if !apply_parts(src, (batch, work), paused, used, || next_part(&rx))? {
                return Ok(false); // a schema change stopped the source
            }
            continue;
        }
        if batch.is_empty() {
            store_position(src, &batch.end);
            continue;
        }
        if !apply(src, &batch, work, paused, used) {
            return Ok(false); // a schema change stopped the source
        }
    }
}

/// What the reader prepared, if anything within 100 ms; Err when the stream failed or the
/// reader ended without a word (stream again from the stored position).
fn receive(rx: &Receiver<Result<Prepared, Error>>) -> Result<Option<Prepared>, Error> {
    match rx.recv_timeout(Duration::from_millis(100)) {
        Ok(ready) => ready.map(Some),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(Error::new(SqlState::ConnectionFailure, "the binlog stream ended")),
    }
}

/// The next part of a transaction applied in parts: None when the worker must leave (SIGTERM,
/// postmaster death), Err when the stream broke.
fn next_part(rx: &Receiver<Result<Prepared, Error>>) -> Result<Option<(Batch, Work)>, Error> {
    while BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
        if let Some(p) = receive(rx)? {
            return Ok(Some((p.batch, p.work)));
        }
    }
    Ok(None)
}
