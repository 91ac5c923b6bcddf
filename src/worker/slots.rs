//! Worker slots in shared memory: one per source that has (or had) a worker since the server
//! started. The slot says which worker runs a source now, how many were started, when the last
//! one left, and whether it is trying to reach MySQL. show_status and the launcher read it;
//! only the worker itself and a launch write it. A crash of any backend makes the postmaster
//! re-create shared memory, so a slot never outlives the processes it describes.
//!
//! Without shared_preload_libraries there is no shared memory: `ready()` is false and callers
//! fall back to pg_stat_activity.

use pgrx::lwlock::PgLwLock;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory};

/// Slots in the cluster; chameleon.max_workers may use up to this many.
pub const SLOTS: usize = 256;

#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// database OID; 0 marks a free slot
    pub db: u32,
    pub source: i64,
    /// the running worker; 0 when none runs
    pub pid: i32,
    /// workers started for this source since the server started
    pub generation: u32,
    /// TimestampTz of the last worker's start and exit, and of the last launch
    pub started_at: i64,
    pub exited_at: i64,
    pub launched_at: i64,
    /// launches by the launcher since the source last ran for a minute (the backoff's exponent)
    pub restarts: u32,
    /// failed attempts in a row to reach MySQL; 0 while streaming
    pub retries: u32,
    /// why the last attempt failed (UTF-8, NUL-padded, cut at a character boundary)
    pub reason: [u8; 200],
}

impl Slot {
    const FREE: Slot = Slot {
        db: 0,
        source: 0,
        pid: 0,
        generation: 0,
        started_at: 0,
        exited_at: 0,
        launched_at: 0,
        restarts: 0,
        retries: 0,
        reason: [0; 200],
    };
}

// SAFETY: plain data, no pointers: any bit pattern another process wrote is a valid Slot
unsafe impl PGRXSharedMemory for Slot {}

// SAFETY: the only lock of this name, initialised once by pg_shmem_init! during preload
static TABLE: PgLwLock<[Slot; SLOTS]> = unsafe { PgLwLock::new(c"chameleon_worker_slots") };
static READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From _PG_init while shared_preload_libraries is processed: asks for the shared memory.
#[allow(unexpected_cfgs)] // the macro tests pgrx's pg13…pg18 features
pub fn init() {
    pg_shmem_init!(TABLE = [Slot::FREE; SLOTS]);
    READY.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn ready() -> bool {
    READY.load(std::sync::atomic::Ordering::Relaxed)
}

use super::backend::{database_id as my_db, now};

/// The slot of (db, source), or a free one claimed for it; None when every slot is taken.
fn find_or_claim(t: &mut [Slot; SLOTS], db: u32, source: i64) -> Option<&mut Slot> {
    let i = t
        .iter()
        .position(|s| s.db == db && s.source == source)
        .or_else(|| {
            // a free slot, or one whose source has no worker and left longest ago
            t.iter().position(|s| s.db == 0).or_else(|| {
                t.iter()
                    .enumerate()
                    .filter(|(_, s)| s.pid == 0)
                    .min_by_key(|(_, s)| s.exited_at.max(s.launched_at))
                    .map(|(i, _)| i)
            })
        })?;
    let s = &mut t[i];
    if s.db != db || s.source != source {
        *s = Slot {
            db,
            source,
            ..Slot::FREE
        };
    }
    Some(s)
}

/// What one source's slot says now (a copy).
pub fn get(db: u32, source: i64) -> Option<Slot> {
    if !ready() {
        return None;
    }
    TABLE
        .share()
        .iter()
        .find(|s| s.db == db && s.source == source)
        .copied()
}

/// The slots of this database's sources (copies).
pub fn of_this_database() -> Vec<Slot> {
    if !ready() {
        return Vec::new();
    }
    let db = my_db();
    TABLE
        .share()
        .iter()
        .filter(|s| s.db == db)
        .copied()
        .collect()
}

/// A worker is being launched for the source; `by_launcher` counts towards the backoff.
pub fn launched(db: u32, source: i64, by_launcher: bool) {
    if !ready() {
        return;
    }
    let mut t = TABLE.exclusive();
    if let Some(s) = find_or_claim(&mut t, db, source) {
        s.launched_at = now();
        s.restarts = if by_launcher {
            s.restarts.saturating_add(1)
        } else {
            0
        };
    }
}

/// Why a worker may not take its source's slot.
pub enum Refused {
    /// another live worker holds it
    Taken,
    /// chameleon.max_workers workers run already
    Full(usize),
}

/// The calling worker takes its source's slot; the slot is released when the process exits.
pub fn attach(source: i64, max_workers: usize) -> Result<(), Refused> {
    if !ready() {
        return Ok(());
    }
    let (db, pid) = (my_db(), super::backend::pid());
    {
        let mut t = TABLE.exclusive();
        let running = t
            .iter()
            .filter(|s| s.pid != 0 && !(s.db == db && s.source == source))
            .count();
        if running >= max_workers {
            return Err(Refused::Full(running));
        }
        let Some(s) = find_or_claim(&mut t, db, source) else {
            return Err(Refused::Full(running));
        };
        if s.pid != 0 && s.pid != pid && super::backend::process_exists(s.pid) {
            return Err(Refused::Taken);
        }
        s.pid = pid;
        s.generation = s.generation.wrapping_add(1);
        s.started_at = now();
        s.retries = 0;
    }
    super::backend::on_exit(detach, source);
    Ok(())
}

/// At the worker's exit: its slot is free for the next one.
#[pg_guard]
unsafe extern "C-unwind" fn detach(_code: i32, arg: pg_sys::Datum) {
    with_own_slot(arg.value() as i64, |s| {
        s.pid = 0;
        s.exited_at = now();
    });
}

impl Slot {
    pub fn reason(&self) -> &str {
        let end = self
            .reason
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.reason.len());
        std::str::from_utf8(&self.reason[..end]).unwrap_or_default()
    }
}

/// Changes the calling worker's own slot (the one it attached to).
fn with_own_slot(source: i64, f: impl FnOnce(&mut Slot)) {
    if !ready() {
        return;
    }
    let (db, pid) = (my_db(), super::backend::pid());
    let mut t = TABLE.exclusive();
    if let Some(s) = t
        .iter_mut()
        .find(|s| s.db == db && s.source == source && s.pid == pid)
    {
        f(s);
    }
}

/// The worker's MySQL connection: `retries` failed attempts in a row, and why (0: streaming).
pub fn set_retries(source: i64, retries: u32, reason: &str) {
    with_own_slot(source, |s| {
        s.retries = retries;
        let mut cut = reason.len().min(s.reason.len());
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        s.reason = [0; 200];
        s.reason[..cut].copy_from_slice(&reason.as_bytes()[..cut]);
    });
}

/// Called by a worker that has run healthily for a while: restarts start from 1 s again.
pub fn healthy(source: i64) {
    with_own_slot(source, |s| s.restarts = 0);
}

/// Microseconds since `ts` (a TimestampTz from a slot).
pub fn age(ts: i64) -> std::time::Duration {
    std::time::Duration::from_micros((now() - ts).max(0) as u64)
}
