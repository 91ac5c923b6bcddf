//! Where a table's copy hands over to replication (docs/large-copies.md): a binlog transaction
//! changes the copied table only when it committed after the table's copy point; one at or
//! before it is already in the copied rows. Decided by GTIDs when both sides have them (exact
//! across a failover), else by binlog file and position.

use crate::binlog::Position;
use crate::gtid::{is_mysql_set, GtidSet};
use crate::snapshot::Coordinates;

/// Whether the transaction that ends at `commit` came after the copy taken at `point`.
pub fn after(point: &Coordinates, commit: &Position) -> bool {
    match commit.gtid.as_deref() {
        Some(done) if !point.gtid.is_empty() && is_mysql_set(&point.gtid) && is_mysql_set(done) => {
            // MySQL: the executed set up to and with the transaction, against the set the copy
            // saw; a parse failure falls back to the position, never to a guess
            match (GtidSet::parse(&point.gtid), GtidSet::parse(done)) {
                (Ok(copied), Ok(done)) => !copied.includes(&done),
                _ => after_position(point, commit),
            }
        }
        Some(gtid) if !point.gtid.is_empty() && !is_mysql_set(&point.gtid) => match mariadb(gtid) {
            // MariaDB: the copy saw each domain up to its last sequence number
            Some((domain, seq)) => point
                .gtid
                .split(',')
                .filter_map(|g| mariadb(g.trim()))
                .find(|(d, _)| *d == domain)
                .is_none_or(|(_, last)| seq > last),
            None => after_position(point, commit),
        },
        _ => after_position(point, commit),
    }
}

/// MariaDB's `domain-server-seq`: (domain, seq).
fn mariadb(gtid: &str) -> Option<(u32, u64)> {
    let mut parts = gtid.split('-');
    let domain = parts.next()?.parse().ok()?;
    let _server: u32 = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((domain, seq))
}

/// By binlog coordinates: files in the order of their numeric suffix, then the position.
fn after_position(point: &Coordinates, commit: &Position) -> bool {
    let number = |file: &str| file.rsplit('.').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    (number(&commit.file), commit.pos) > (number(&point.binlog_file), point.binlog_position)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "4e11fa47-71ca-11e1-9e33-c80aa9429562";

    fn point(file: &str, pos: u64, gtid: &str) -> Coordinates {
        Coordinates { binlog_file: file.into(), binlog_position: pos, gtid: gtid.into() }
    }
    fn commit(file: &str, pos: u64, gtid: Option<&str>) -> Position {
        Position { file: file.into(), pos, gtid: gtid.map(Into::into) }
    }

    #[test]
    fn without_gtids_the_binlog_coordinates_decide() {
        let p = point("mysql-bin.000009", 500, "");
        assert!(!after(&p, &commit("mysql-bin.000009", 500, None)), "the transaction the copy ends with");
        assert!(after(&p, &commit("mysql-bin.000009", 501, None)));
        assert!(!after(&p, &commit("mysql-bin.000008", 90_000, None)));
        // files compare by number, not as text
        assert!(after(&point("b.999999", 500, ""), &commit("b.1000000", 4, None)));
    }

    #[test]
    fn mysql_gtid_sets_decide_whatever_the_file() {
        let p = point("a.000001", 100, &format!("{A}:1-10,{B}:1-3"));
        assert!(!after(&p, &commit("a.000002", 9, Some(&format!("{A}:1-10,{B}:1-3")))), "in the set: copied");
        assert!(after(&p, &commit("a.000001", 50, Some(&format!("{A}:1-11,{B}:1-3")))), "one more: after, at a lower position too");
        assert!(after(&p, &commit("a.000001", 50, Some(&format!("{A}:1-10,{B}:1-3,{A}:12")))));
    }

    #[test]
    fn mariadb_gtids_compare_per_domain() {
        let p = point("m.000003", 100, "0-1-40,1-2-7");
        assert!(!after(&p, &commit("m.000009", 1, Some("0-1-40"))));
        assert!(after(&p, &commit("m.000001", 1, Some("0-1-41"))));
        assert!(!after(&p, &commit("m.000009", 1, Some("1-5-7"))), "the same domain, another server");
        assert!(after(&p, &commit("m.000001", 1, Some("2-1-1"))), "a domain the copy did not see");
        // an unreadable GTID falls back to the coordinates
        assert!(after(&p, &commit("m.000003", 101, Some("x"))));
    }
}
