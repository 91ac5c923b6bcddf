//! Consistent snapshots of MySQL for copies, and the global read lock MySQL needs for them
//! kept away from running copies (docs/large-copies.md, "Snapshots").

use chameleon_core::snapshot;
use pgrx::prelude::*;

use super::lock_timeout_s;
use crate::catalog;
use crate::error::OrRaise;

/// A consistent snapshot of the source for `readers` connections at once. MySQL's global read
/// lock would wait for every running statement while it blocks every write, so it is never
/// taken while a copy of this database reads MySQL (`reading_from_mysql` holds them off);
/// MariaDB needs none for one reader.
pub(crate) fn open_snapshot(s: &catalog::SourceConfig, readers: usize) -> (Vec<chameleon_core::mysql::Conn>, snapshot::Coordinates) {
    if readers <= 1 {
        if let Some((conn, coords)) = snapshot::without_lock(&s.conn).or_raise() {
            return (vec![conn], coords);
        }
    }
    gate("pg_advisory_lock");
    // (nothing between the lock and its release raises: a client backend keeps a session
    // lock until it ends)
    let opened = snapshot::consistent_snapshots(&s.conn, lock_timeout_s(s), readers);
    gate("pg_advisory_unlock");
    opened.or_raise()
}

/// Until this transaction ends, this backend reads MySQL for a copy: no global read lock is
/// taken meanwhile (`open_snapshot`).
pub(crate) fn reading_from_mysql() {
    gate("pg_advisory_xact_lock_shared");
}

fn gate(call: &str) {
    Spi::run(&format!("SELECT {call}(hashtext('chameleon.copy_snapshot'), 0)")).or_raise();
}

