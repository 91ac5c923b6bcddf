//! Where a table's copy hands over to replication (docs/large-copies.md): a binlog transaction
//! changes the copied table only when it committed after the table's copy point; one at or
//! before it is already in the copied rows. Decided by GTIDs when both sides have them (exact
//! across a failover), else by binlog file and position.

use std::collections::HashMap;

use crate::binlog::Position;
use crate::gtid::{is_mysql_set, GtidSet};
use crate::snapshot::Coordinates;

/// A table's copy point, its GTID state parsed once.
#[derive(Debug, Clone)]
pub struct CopyPoint {
    coords: Coordinates,
    /// MySQL: the executed set the copy saw
    mysql: Option<GtidSet>,
    /// MariaDB: the last sequence number the copy saw, per domain
    mariadb: Option<Vec<(u32, u64)>>,
}

impl CopyPoint {
    pub fn new(coords: Coordinates) -> CopyPoint {
        let g = coords.gtid.as_str();
        let mysql = (!g.is_empty() && is_mysql_set(g)).then(|| GtidSet::parse(g).ok()).flatten();
        let mariadb = (!g.is_empty() && !is_mysql_set(g))
            .then(|| g.split(',').map(|d| mariadb(d.trim())).collect::<Option<Vec<_>>>())
            .flatten();
        CopyPoint { coords, mysql, mariadb }
    }

    /// Whether the transaction at `at` is in the copy: `at` is its commit position (the
    /// executed GTID set up to and with it, or its MariaDB GTID), or its start
    /// (`Change::Begin`: its own GTID). A GTID that does not parse falls back to the
    /// coordinates, never to a guess.
    pub fn covers(&self, at: &Position) -> bool {
        match (at.gtid.as_deref(), &self.mysql, &self.mariadb) {
            (Some(done), Some(copied), _) if is_mysql_set(done) => match GtidSet::parse(done) {
                Ok(done) => copied.includes(&done),
                Err(_) => self.covers_position(at),
            },
            (Some(gtid), _, Some(copied)) if !is_mysql_set(gtid) => match mariadb(gtid) {
                Some((domain, seq)) => copied.iter().any(|(d, last)| *d == domain && seq <= *last),
                None => self.covers_position(at),
            },
            _ => self.covers_position(at),
        }
    }

    /// By binlog coordinates: files in the order of their numeric suffix, then the position.
    /// (The copy point is between transactions: a start after it is after it.)
    fn covers_position(&self, at: &Position) -> bool {
        (file_number(&at.file), at.pos) <= (file_number(&self.coords.binlog_file), self.coords.binlog_position)
    }

    /// Whether a stream resuming at `resume` reads nothing the copy holds (the point is behind
    /// it: nothing left to filter).
    pub fn passed_by(&self, resume: &Position) -> bool {
        match (&self.mysql, resume.gtid.as_deref()) {
            (Some(copied), Some(done)) if is_mysql_set(done) => {
                GtidSet::parse(done).is_ok_and(|done| done.includes(copied))
            }
            _ => {
                (file_number(&resume.file), resume.pos)
                    >= (file_number(&self.coords.binlog_file), self.coords.binlog_position)
            }
        }
    }
}

/// Whether the transaction that ends at `commit` came after the copy taken at `point`.
pub fn after(point: &Coordinates, commit: &Position) -> bool {
    !CopyPoint::new(point.clone()).covers(commit)
}

/// The copy points of a source's tables that a stream may still meet (replay skips what they
/// cover). Tables of the source's one MySQL database, by name.
#[derive(Debug, Clone, Default)]
pub struct Handover {
    db: String,
    points: HashMap<String, CopyPoint>,
}

impl Handover {
    /// The points a stream resuming at `resume` can still meet.
    pub fn new(db: &str, points: Vec<(String, Coordinates)>, resume: &Position) -> Handover {
        let points = points
            .into_iter()
            .map(|(t, c)| (t, CopyPoint::new(c)))
            .filter(|(_, p)| !p.passed_by(resume))
            .collect();
        Handover { db: db.to_string(), points }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Whether the change to `schema.table` of the transaction at `at` is already in the
    /// table's copy.
    pub fn covers(&self, schema: &str, table: &str, at: &Position) -> bool {
        schema == self.db && self.covers_table(table, at)
    }

    /// `covers` for a table of the source's database.
    pub fn covers_table(&self, table: &str, at: &Position) -> bool {
        self.points.get(table).is_some_and(|p| p.covers(at))
    }

    /// The tables whose copy holds the transaction at `at` (decided once per transaction).
    pub fn covering(&self, at: &Position) -> Vec<String> {
        self.points.iter().filter(|(_, p)| p.covers(at)).map(|(t, _)| t.clone()).collect()
    }

    pub fn in_source_db(&self, schema: &str) -> bool {
        schema == self.db
    }

    /// Forgets the points a stream at `at` has passed (nothing after it is in their copies).
    pub fn prune(&mut self, at: &Position) {
        self.points.retain(|_, p| !p.passed_by(at));
    }
}

/// The earliest of several copy points (taken from one server, in time order: binlog file
/// and position order them) — where a stream that must meet them all starts.
pub fn earliest(points: &[Coordinates]) -> Option<&Coordinates> {
    points.iter().min_by_key(|p| in_binlog_order(p))
}

/// Points of one server in binlog order: files by their numeric suffix, then the position.
fn in_binlog_order(p: &Coordinates) -> (u64, u64) {
    (file_number(&p.binlog_file), p.binlog_position)
}

/// The point of a table that holds what both points hold: its copy point `held`, and `applied`
/// replayed into it since. MySQL: the union of the GTID sets (and the later coordinates); else
/// the later coordinates. A table's point never moves back: a stream set back to an earlier
/// copy point re-reads transactions the table already has, and its point must skip them.
pub fn later(held: &Coordinates, applied: &Coordinates) -> Coordinates {
    let mut later = if in_binlog_order(applied) >= in_binlog_order(held) { applied.clone() } else { held.clone() };
    if is_mysql_set(&held.gtid) && is_mysql_set(&applied.gtid) {
        if let (Ok(a), Ok(b)) = (GtidSet::parse(&held.gtid), GtidSet::parse(&applied.gtid)) {
            later.gtid = a.union(&b).to_string();
        }
    }
    later
}

/// MariaDB's `domain-server-seq`: (domain, seq).
fn mariadb(gtid: &str) -> Option<(u32, u64)> {
    let mut parts = gtid.split('-');
    let domain = parts.next()?.parse().ok()?;
    let _server: u32 = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((domain, seq))
}

fn file_number(file: &str) -> u64 {
    file.rsplit('.').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
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
    fn a_tables_point_never_moves_back() {
        // a second swap: the stream was set back to another copy's earlier point (…:1-827);
        // the table already holds …:1-840
        let held = point("binlog.000003", 900, &format!("{A}:1-840"));
        let applied = point("binlog.000003", 500, &format!("{A}:1-827"));
        let p = later(&held, &applied);
        assert_eq!((p.binlog_position, p.gtid.as_str()), (900, format!("{A}:1-840").as_str()));
        // sets that do not include each other: their union
        let p = later(&point("b.1", 5, &format!("{A}:1-5")), &point("b.1", 9, &format!("{A}:1-3,{B}:1-2")));
        assert_eq!(p.gtid, format!("{A}:1-5,{B}:1-2"));
        // without GTIDs, the later coordinates
        assert_eq!(later(&point("m.000002", 4, ""), &point("m.000001", 900, "")).binlog_file, "m.000002");
        assert_eq!(later(&point("m.000001", 4, ""), &point("m.000001", 900, "")).binlog_position, 900);
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

    #[test]
    fn a_transaction_start_carries_its_own_gtid() {
        let p = CopyPoint::new(point("a.000001", 100, &format!("{A}:1-10")));
        assert!(p.covers(&commit("a.000001", 20, Some(&format!("{A}:10")))));
        assert!(!p.covers(&commit("a.000001", 20, Some(&format!("{A}:11")))));
        assert!(!p.covers(&commit("a.000001", 20, Some(&format!("{B}:1")))), "another server's");
        // without GTIDs a start after the point's position is after it
        let plain = CopyPoint::new(point("a.000002", 100, ""));
        assert!(plain.covers(&commit("a.000002", 60, None)));
        assert!(!plain.covers(&commit("a.000002", 160, None)));
        assert!(!plain.covers(&commit("a.000003", 4, None)));
    }

    #[test]
    fn the_earliest_point_is_by_file_number_then_position() {
        let ps = [point("b.000010", 4, "x"), point("b.000009", 900, "y"), point("b.000010", 2, "z")];
        assert_eq!(earliest(&ps).map(|p| p.gtid.as_str()), Some("y"));
        assert!(earliest(&[]).is_none());
    }

    #[test]
    fn points_a_stream_resumes_past_are_dropped() {
        let resume = commit("m.000003", 500, Some("0-1-40"));
        let h = Handover::new(
            "db",
            vec![("old".into(), point("m.000003", 400, "0-1-30")), ("new".into(), point("m.000003", 900, "0-1-45"))],
            &resume,
        );
        assert!(!h.covers("db", "old", &commit("m.000003", 450, Some("0-1-31"))), "passed: not kept");
        assert!(h.covers("db", "new", &commit("m.000003", 600, Some("0-1-44"))));
        assert!(!h.covers("db", "new", &commit("m.000003", 950, Some("0-1-46"))));
        assert!(!h.covers("other", "new", &commit("m.000003", 600, Some("0-1-44"))), "another database");
        assert_eq!(h.covering(&commit("m.000003", 600, Some("0-1-44"))), ["new"]);
        let mut pruned = h.clone();
        pruned.prune(&commit("m.000003", 900, Some("0-1-45")));
        assert!(pruned.is_empty(), "a stream past the point has nothing left to skip");
        let mysql = Handover::new("db", vec![("t".into(), point("a.1", 9, &format!("{A}:1-10")))], &commit("a.1", 5, Some(&format!("{A}:1-12"))));
        assert!(mysql.is_empty(), "the resume set holds the copy's");
    }
}
