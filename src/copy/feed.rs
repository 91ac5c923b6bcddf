//! Feeding PostgreSQL's COPY FROM machinery (BeginCopyFrom/CopyFrom, as the logical
//! replication table sync does) from a channel of COPY-text chunks. The producer is a thread
//! that never calls PostgreSQL; only this backend's main thread runs COPY.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use pgrx::pg_sys;
use pgrx::prelude::*;

pub use chameleon_core::copy::Msg;

struct Feed {
    rx: Receiver<Msg>,
    buf: Vec<u8>,
    pos: usize,
    /// set when the table's EndTable arrived
    end: Option<(u64, u64)>,
}

thread_local! {
    static FEED: RefCell<Option<Feed>> = const { RefCell::new(None) };
}

/// COPY's data source: hands out the buffered chunk, waits for the next one (checking for
/// cancel requests), returns 0 at the end of the table.
#[pg_guard]
unsafe extern "C-unwind" fn copy_source(
    outbuf: *mut c_void,
    _minread: c_int,
    maxread: c_int,
) -> c_int {
    loop {
        let step = FEED.with(|f| {
            let mut f = f.borrow_mut();
            let feed = f.as_mut().expect("COPY feed installed");
            if feed.pos < feed.buf.len() {
                let n = (feed.buf.len() - feed.pos).min(maxread as usize);
                // SAFETY: COPY gives us a buffer of maxread bytes
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        feed.buf[feed.pos..].as_ptr(),
                        outbuf as *mut u8,
                        n,
                    )
                };
                feed.pos += n;
                return Ok(Some(n as c_int));
            }
            if feed.end.is_some() {
                return Ok(Some(0));
            }
            match feed.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Rows(chunk)) => {
                    feed.buf = chunk;
                    feed.pos = 0;
                    Ok(None)
                }
                Ok(Msg::EndTable { rows, zero_dates }) => {
                    feed.end = Some((rows, zero_dates));
                    Ok(Some(0))
                }
                Ok(Msg::Failed(e)) => Err(e),
                Err(RecvTimeoutError::Timeout) => Ok(None),
                Err(RecvTimeoutError::Disconnected) => {
                    Err("the MySQL reader stopped unexpectedly".to_string())
                }
            }
        });
        match step {
            Ok(Some(n)) => return n,
            Ok(None) => {
                pg_sys::check_for_interrupts!();
            }
            Err(e) => ereport!(
                PgLogLevel::ERROR,
                PgSqlErrorCode::ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                format!("copying from MySQL failed: {e}")
            ),
        }
    }
}

/// Keeps the receiver installed for the whole copy, and removes it however the copy ends
/// (dropping it tells the reader thread to stop).
pub struct FeedGuard;

impl FeedGuard {
    pub fn install(rx: Receiver<Msg>) -> FeedGuard {
        FEED.with(|f| {
            *f.borrow_mut() = Some(Feed {
                rx,
                buf: Vec::new(),
                pos: 0,
                end: None,
            })
        });
        FeedGuard
    }
}

impl Drop for FeedGuard {
    fn drop(&mut self) {
        FEED.with(|f| *f.borrow_mut() = None);
    }
}

/// COPYs the next table's rows from the feed into `rel`; returns (rows, zero dates) as the
/// reader counted them.
pub fn copy_table(_guard: &FeedGuard, rel: pg_sys::Oid) -> (u64, u64) {
    FEED.with(|f| {
        let mut f = f.borrow_mut();
        let feed = f.as_mut().expect("COPY feed installed");
        feed.end = None;
        feed.buf.clear();
        feed.pos = 0;
    });
    // SAFETY: plain backend calls, in a transaction, on a table this transaction created
    let copied = unsafe {
        let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
        let relation = pg_sys::table_open(rel, lock);
        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        pg_sys::addRangeTableEntryForRelation(
            pstate,
            relation,
            lock,
            std::ptr::null_mut(),
            false,
            false,
        );
        let cstate = pg_sys::BeginCopyFrom(
            pstate,
            relation,
            std::ptr::null_mut(),
            std::ptr::null(),
            false,
            Some(copy_source),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        let n = pg_sys::CopyFrom(cstate);
        pg_sys::EndCopyFrom(cstate);
        pg_sys::free_parsestate(pstate);
        pg_sys::table_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
        n
    };
    let (rows, zero_dates) = FEED
        .with(|f| f.borrow().as_ref().and_then(|f| f.end))
        .unwrap_or((copied, 0));
    debug_assert_eq!(rows, copied);
    (copied, zero_dates)
}
