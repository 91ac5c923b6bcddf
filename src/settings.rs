//! The `chameleon.*` settings (GUCs). All can change with a reload (SIGHUP); workers and the
//! launcher re-read them in their loops. `chameleon.direct_replay` may also be set per
//! database (superuser): a worker takes its database's settings when it connects.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Seconds between the launcher's visits to each database.
pub static LAUNCHER_NAPTIME: GucSetting<i32> = GucSetting::<i32>::new(5);
/// Source workers that may run at once in the cluster (at most `worker::slots::SLOTS`).
pub static MAX_WORKERS: GucSetting<i32> = GucSetting::<i32>::new(16);
/// Longest time a replicated row waits in the worker for its batch to fill (milliseconds).
pub static BATCH_DELAY: GucSetting<i32> = GucSetting::<i32>::new(200);
/// Replay a batch in the transaction that stores it, without log rows, while replay is not
/// paused (on by default: writing every row image into a log table and deleting it again
/// cost three quarters of the worker's time; exactly once either way).
pub static DIRECT_REPLAY: GucSetting<bool> = GucSetting::<bool>::new(true);
/// A MySQL transaction whose row images pass this many kB is applied in parts (kB).
pub static MAX_BATCH_MEMORY: GucSetting<i32> = GucSetting::<i32>::new(8 * 1024);
/// Longest wait between two attempts to reach MySQL, or to restart a worker that died.
pub static MAX_RETRY_DELAY: GucSetting<i32> = GucSetting::<i32>::new(30);

pub fn define() {
    GucRegistry::define_int_guc(
        c"chameleon.launcher_naptime",
        c"Seconds between the launcher's visits to each database.",
        c"The launcher restarts the workers of running sources that have none (after a crash or a restart).",
        &LAUNCHER_NAPTIME,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"chameleon.max_workers",
        c"Source workers that may run at once in this cluster.",
        c"Each running source takes one worker and one of max_worker_processes; a source beyond the limit stops in error.",
        &MAX_WORKERS,
        1,
        crate::worker::slots::SLOTS as i32,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"chameleon.batch_delay",
        c"Longest time a replicated row waits for its batch to fill.",
        c"A batch ends at the first commit after this delay, or at batch_size rows, whichever comes first; lower means less lag, higher fewer transactions.",
        &BATCH_DELAY,
        1,
        60_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"chameleon.direct_replay",
        c"Replay each batch in the transaction that stores it, without writing log rows.",
        c"Exactly once either way; off stores every batch in the log tables and replays it in a second transaction (the pg_chameleon data path). Settable per database (ALTER DATABASE ... SET).",
        &DIRECT_REPLAY,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"chameleon.max_batch_memory",
        c"Memory a MySQL transaction's rows may take in a worker before it is applied in parts.",
        c"A bigger transaction is read and applied part by part inside one PostgreSQL transaction that commits at MySQL's commit (exactly once either way), so a worker's memory stays bounded whatever the transaction's size. Direct replay only: with chameleon.direct_replay off or replay paused a transaction is kept whole. Settable per database.",
        &MAX_BATCH_MEMORY,
        1024,
        i32::MAX / 1024,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"chameleon.max_retry_delay",
        c"Longest wait between attempts to reconnect to MySQL or to restart a worker that died.",
        c"Waits start at one second and double up to this limit.",
        &MAX_RETRY_DELAY,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
}

/// The wait before attempt `n` (0-based): 1 s, 2 s, 4 s, … up to chameleon.max_retry_delay.
pub fn retry_delay(n: u32) -> std::time::Duration {
    let max = MAX_RETRY_DELAY.get().max(1) as u64;
    std::time::Duration::from_secs((1u64 << n.min(20)).min(max))
}
