//! The workers' dealings with the PostgreSQL backend they run in: transactions and
//! subtransactions, running as another role, statistics, settings, backend globals. All the
//! unsafe code of the workers is here, each block with why it is sound.

use std::panic::AssertUnwindSafe;

use chameleon_core::Error;
use pgrx::bgworkers::BackgroundWorker;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;

/// Runs `f` in a transaction that commits when it returns Ok. An Err is raised as an ERROR:
/// the transaction rolls back, and the worker's entry point records why the source stopped.
pub fn tx<R>(f: impl FnOnce() -> Result<R, Error>) -> R {
    tx_or_abandon(|| f().map(Some)).expect("a transaction whose body returned Some commits")
}

/// Runs `f` in a transaction that commits when it returns Ok(Some) and is abandoned — rolled
/// back, no error — when it returns Ok(None) (a transaction applied in parts whose stream
/// broke, or that SIGTERM interrupted). An Err is raised as an ERROR, as in `tx`.
pub fn tx_or_abandon<R>(f: impl FnOnce() -> Result<Option<R>, Error>) -> Option<R> {
    // SAFETY: what pgrx's BackgroundWorker::transaction does, with an abort instead of the
    // commit when asked; an ERROR inside unwinds through PgTryBuilder to the worker's entry point,
    // which aborts the transaction, as for `tx`
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let r = PgTryBuilder::new(AssertUnwindSafe(|| match f() {
        Ok(r) => r,
        Err(e) => crate::error::raise(e),
    }))
    .execute();
    // SAFETY: the transaction started above, still current
    unsafe {
        pg_sys::PopActiveSnapshot();
        if r.is_some() {
            pg_sys::CommitTransactionCommand();
        } else {
            pg_sys::AbortCurrentTransaction();
        }
    }
    report_stats();
    r
}

/// A worker's body, `run`, with what ends it in error recorded: an ERROR inside a transaction
/// (its SQLSTATE kept) aborts it, then `record` says why in the catalogue (best effort: the
/// catalogue itself may be what failed). `what` names the worker in the log.
pub fn run_worker(
    what: &str,
    run: impl FnOnce() -> Result<(), Error>,
    record: impl FnOnce(&str) -> Result<(), Error>,
) {
    let outcome = PgTryBuilder::new(AssertUnwindSafe(run))
        .catch_others(|e| {
            abort_transaction();
            Err(crate::error::from_caught(&e))
        })
        .execute();
    if let Err(e) = outcome {
        log!("{what}: stopped in error ({}): {}", e.state.code(), e.reason());
        PgTryBuilder::new(AssertUnwindSafe(|| tx(|| record(&e.report()))))
            .catch_others(|_| ())
            .execute();
    }
}

/// Runs `f` with PostgreSQL's allocations in a memory context of its own, deleted when it
/// returns: what one part of a long transaction leaves behind (statement parameters, arrays
/// of log rows) does not pile up until the commit.
pub fn in_own_memory<R>(f: impl FnOnce() -> R) -> R {
    let mut part = PgMemoryContexts::new("chameleon part");
    // SAFETY: the context was just made under the current one and is deleted when `part` drops
    // (on an ERROR too, which then aborts the transaction anyway); what the transaction keeps,
    // PostgreSQL keeps in its own longer-lived contexts
    unsafe { part.switch_to(|_| f()) }
}

/// A backend reports its table statistics when idle; a worker never is, so it reports them
/// itself (at most once a second): without them autovacuum would not see the dead rows that
/// replay and the log tables leave.
fn report_stats() {
    // SAFETY: outside a transaction, as PostgreSQL's own apply worker does
    unsafe { pg_sys::pgstat_report_stat(false) };
}

/// An ERROR's SQLSTATE and message, as replay records a row or statement it set aside.
pub type Failure = (String, String);

/// Runs `f` in a subtransaction: all it does, or nothing (the error's SQLSTATE and message).
pub fn subtransaction(f: impl FnOnce() -> Result<(), Failure>) -> Result<(), Failure> {
    // SAFETY: the subtransaction pattern of PL/pgSQL's exception blocks: keep the caller's
    // memory context and resource owner, release on success, roll back on error
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let outcome = PgTryBuilder::new(AssertUnwindSafe(f))
            .catch_others(|e| {
                let e = crate::error::from_caught(&e);
                Err((e.state.code().to_string(), e.message))
            })
            .execute();
        if outcome.is_ok() {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        outcome
    }
}

/// Runs `f` as `role`, in a security-restricted operation (no SET ROLE and the like from what
/// it runs). Call inside a subtransaction: an error there restores the user on rollback.
pub fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
    // SAFETY: plain reads and writes of the backend's current user, as PostgreSQL's
    // SwitchToUntrustedUser does; restored below, and by subtransaction abort on error
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            role,
            context
                | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION)
                    as i32,
        );
    }
    let r = f();
    // SAFETY: as above
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    r
}

/// After an ERROR caught at the worker's entry point: the transaction it broke is aborted.
pub fn abort_transaction() {
    // SAFETY: called where no transaction body runs any more, as PostgreSQL's own workers do
    unsafe { pg_sys::AbortCurrentTransaction() };
}

/// Settings changed with a reload take effect (after SIGHUP).
pub fn reload_config() {
    // SAFETY: the documented way to reload settings in a worker
    unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
}

/// Commits of this backend do not wait for their WAL to reach disk (`synchronous_commit =
/// off`, for this session only). Sound for a worker whose every commit carries its own resume
/// point: a crash that loses the last commits loses their position with them, and the binlog is
/// read again from the one before (what PostgreSQL's own subscriptions do by default).
pub fn commit_without_flush() {
    // SAFETY: NUL-terminated literals; a session-level USERSET setting, allowed at any time
    unsafe {
        pg_sys::SetConfigOption(
            c"synchronous_commit".as_ptr(),
            c"off".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
        )
    };
}

/// The query text pg_stat_activity shows for this process (what it is doing now).
pub fn report_activity(what: &str) {
    let c = std::ffi::CString::new(what).unwrap_or_default();
    // SAFETY: a NUL-terminated string that outlives the call (PostgreSQL copies it)
    unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, c.as_ptr()) };
}

/// The application_name pg_stat_activity shows for this process.
pub fn set_appname(name: &str) {
    let c = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: a NUL-terminated string that outlives the call
    unsafe { pg_sys::pgstat_report_appname(c.as_ptr()) };
}

pub fn database_id() -> u32 {
    // SAFETY: a plain read of a backend global
    unsafe { pg_sys::MyDatabaseId }.to_u32()
}

/// The name of the database this backend is connected to.
pub fn database_name() -> String {
    // SAFETY: get_database_name returns a palloc'd copy (or NULL for a dropped database)
    let name = unsafe { pg_sys::get_database_name(pg_sys::MyDatabaseId) };
    if name.is_null() {
        return String::new();
    }
    // SAFETY: a NUL-terminated string PostgreSQL made
    unsafe { std::ffi::CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

pub fn pid() -> i32 {
    // SAFETY: a plain read of a backend global
    unsafe { pg_sys::MyProcPid }
}

/// Whether shared_preload_libraries is being processed (the only time to ask for shared
/// memory and register static workers).
pub fn preloading() -> bool {
    // SAFETY: a plain read of a backend global
    unsafe { pg_sys::process_shared_preload_libraries_in_progress }
}

/// PostgreSQL's clock (TimestampTz: microseconds since 2000-01-01).
pub fn now() -> i64 {
    // SAFETY: reads the clock
    unsafe { pg_sys::GetCurrentTimestamp() }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Whether process `pid` exists.
pub fn process_exists(pid: i32) -> bool {
    // SAFETY: kill(pid, 0) only asks whether the process exists
    unsafe { libc_kill(pid, 0) == 0 }
}

/// Calls `f(code, arg)` when this process leaves shared memory (its exit).
pub fn on_exit(f: unsafe extern "C-unwind" fn(i32, pg_sys::Datum), arg: i64) {
    // SAFETY: registers a plain function; the Datum carries a plain integer
    unsafe { pg_sys::before_shmem_exit(Some(f), pg_sys::Datum::from(arg)) };
}

/// The databases one can connect to. Without a database SQL cannot run (names resolve
/// through pg_class), so pg_database is scanned directly, as pglogical's supervisor does.
pub fn databases() -> Vec<String> {
    BackgroundWorker::transaction(|| {
        // SAFETY: a catalog scan inside a transaction, closed before it ends
        unsafe {
            let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
            let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, lock);
            let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
            let mut out = Vec::new();
            loop {
                let tuple =
                    pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
                if tuple.is_null() {
                    break;
                }
                let db = &*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple);
                if db.datallowconn && !db.datistemplate {
                    out.push(
                        std::ffi::CStr::from_ptr(db.datname.data.as_ptr())
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
            pg_sys::table_endscan(scan);
            pg_sys::table_close(rel, lock);
            out
        }
    })
}
