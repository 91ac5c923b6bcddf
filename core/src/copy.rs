//! The MySQL side of init_replica's copy: reads every selected table from the snapshot
//! connection with the binary protocol and sends COPY-text chunks to the backend.
//! Runs on its own thread and never calls PostgreSQL.

use std::sync::mpsc::SyncSender;

use mysql::prelude::Queryable;

use crate::types::{encode, PgColumn};

/// What the reader sends, table after table.
#[derive(Debug)]
pub enum Msg {
    /// COPY text rows, each ending in '\n'
    Rows(Vec<u8>),
    /// the current table is complete
    EndTable { rows: u64, zero_dates: u64 },
    /// the reader failed; the copy must fail with this message
    Failed(String),
}

/// Chunks of about this size keep the channel busy without holding much memory.
const CHUNK: usize = 256 * 1024;

pub fn mysql_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Copies `tables` (name, MySQL column names, PostgreSQL columns) in order. Stops quietly
/// when the receiver is gone (the backend's copy failed or was cancelled). Gives the
/// connection back, its snapshot still open (a copy worker copies its next table from it).
pub fn run_reader(
    mut conn: mysql::Conn,
    db: &str,
    tables: Vec<(String, Vec<String>, Vec<PgColumn>)>,
    tx: SyncSender<Msg>,
) -> mysql::Conn {
    send_tables(&mut conn, db, tables, tx);
    conn
}

fn send_tables(conn: &mut mysql::Conn, db: &str, tables: Vec<(String, Vec<String>, Vec<PgColumn>)>, tx: SyncSender<Msg>) {
    for (table, names, cols) in tables {
        let select = select(db, &table, &names, "");
        if !end_table(&tx, send_rows(conn, &table, &select, &cols, &tx)) {
            return;
        }
    }
}

/// A table read in key ranges at once, one connection each (all in the same snapshot): the
/// table's single integer key and the ranges' inner bounds, ascending. The first range is
/// open below, the last open above, so every row falls in exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub key: String,
    pub bounds: Vec<i128>,
}

impl Split {
    /// `parts` ranges of about equal width over the key's [min, max] (none worth splitting:
    /// fewer than two parts or keys).
    pub fn even(key: &str, min: i128, max: i128, parts: usize) -> Option<Split> {
        let width = (max - min + 1) / parts.max(1) as i128;
        if parts < 2 || width < 1 {
            return None;
        }
        let bounds = (1..parts as i128).map(|i| min + i * width).collect();
        Some(Split { key: key.to_string(), bounds })
    }

    /// The WHERE clause of each range.
    pub fn ranges(&self) -> Vec<String> {
        let k = mysql_ident(&self.key);
        let n = self.bounds.len();
        (0..=n)
            .map(|i| match (i.checked_sub(1).map(|j| self.bounds[j]), self.bounds.get(i)) {
                (None, Some(hi)) => format!(" WHERE {k} < {hi}"),
                (Some(lo), Some(hi)) => format!(" WHERE {k} >= {lo} AND {k} < {hi}"),
                (Some(lo), None) => format!(" WHERE {k} >= {lo}"),
                (None, None) => String::new(),
            })
            .collect()
    }
}

/// The table's key when its copy can be read in key ranges: a primary key of one integer
/// column.
pub fn split_key(def: &crate::snapshot::TableDef) -> Option<String> {
    let key = def.primary_key();
    let [key] = key.as_slice() else { return None };
    let col = def.columns.iter().find(|c| &c.name == key)?;
    matches!(col.data_type.as_str(), "tinyint" | "smallint" | "mediumint" | "int" | "bigint").then(|| key.clone())
}

/// The lowest and highest key of the table in the connection's snapshot (None: empty).
pub fn key_bounds(conn: &mut mysql::Conn, db: &str, table: &str, key: &str) -> crate::Result<Option<(i128, i128)>> {
    let k = mysql_ident(key);
    let sql = format!("SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {}.{}", mysql_ident(db), mysql_ident(table));
    let row: Option<(Option<String>, Option<String>)> = conn
        .query_first(sql)
        .map_err(|e| crate::Error::new(crate::SqlState::ConnectionFailure, format!("reading the key range of \"{table}\"")).detail(e.to_string()))?;
    Ok(match row {
        Some((Some(lo), Some(hi))) => lo.parse().ok().zip(hi.parse().ok()),
        _ => None,
    })
}

/// Copies one table as `split` says, a range per connection on threads of their own (the
/// chunks of whole rows interleave in the one COPY), then ends it with the sums. Gives the
/// connections back, their snapshots open.
pub fn run_split_reader(
    conns: Vec<mysql::Conn>,
    db: &str,
    (table, names, cols): (String, Vec<String>, Vec<PgColumn>),
    split: &Split,
    tx: SyncSender<Msg>,
) -> Vec<mysql::Conn> {
    let ranges = split.ranges();
    let (conns, mut results): (Vec<_>, Vec<_>) = std::thread::scope(|scope| {
        let running: Vec<_> = conns
            .into_iter()
            .zip(&ranges)
            .map(|(mut conn, range)| {
                let (select, tx, table, cols) = (select(db, &table, &names, range), tx.clone(), &table, &cols);
                scope.spawn(move || {
                    let r = send_rows(&mut conn, table, &select, cols, &tx);
                    (conn, r)
                })
            })
            .collect();
        running.into_iter().filter_map(|t| t.join().ok()).unzip()
    });
    if results.len() < ranges.len() {
        // a range's thread panicked: its rows are missing, so the copy fails
        results.push(Err(format!("{table}: a key range's reader failed")));
    }
    let sum = results.into_iter().try_fold(Some((0, 0)), |acc, r| {
        Ok::<_, String>(match (acc, r?) {
            (Some((a, b)), Some((rows, zero))) => Some((a + rows, b + zero)),
            _ => None,
        })
    });
    end_table(&tx, sum);
    conns
}

/// The SELECT of a table's columns, with an optional WHERE.
fn select(db: &str, table: &str, names: &[String], filter: &str) -> String {
    format!(
        "SELECT {} FROM {}.{}{filter}",
        names.iter().map(|c| mysql_ident(c)).collect::<Vec<_>>().join(", "),
        mysql_ident(db),
        mysql_ident(table)
    )
}

/// Tells the backend how the table ended; false when the copy is over (failed, or the
/// backend gone).
fn end_table(tx: &SyncSender<Msg>, result: Result<Option<(u64, u64)>, String>) -> bool {
    match result {
        Ok(Some((rows, zero_dates))) => tx.send(Msg::EndTable { rows, zero_dates }).is_ok(),
        Ok(None) => false,
        Err(e) => {
            let _ = tx.send(Msg::Failed(e));
            false
        }
    }
}

/// Streams one SELECT's rows as COPY text chunks: Some((rows, zero dates)), None when the
/// backend has gone.
fn send_rows(conn: &mut mysql::Conn, table: &str, select: &str, cols: &[PgColumn], tx: &SyncSender<Msg>) -> Result<Option<(u64, u64)>, String> {
    let mut rows = 0u64;
    let mut zero_dates = 0u64;
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    let stmt = conn.prep(select).map_err(|e| format!("{table}: {e}"))?;
    let result = conn.exec_iter(stmt, ()).map_err(|e| format!("{table}: {e}"))?;
    for row in result {
        let row = row.map_err(|e| format!("{table}: {e}"))?;
        for (i, (col, v)) in cols.iter().zip(row.unwrap()).enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            if encode(&mut buf, col, &v).map_err(|e| format!("{table}.{}: {}", col.name, e.message))? {
                zero_dates += 1;
            }
        }
        buf.push(b'\n');
        rows += 1;
        if buf.len() >= CHUNK {
            let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 4096));
            if tx.send(Msg::Rows(full)).is_err() {
                return Ok(None);
            }
        }
    }
    if !buf.is_empty() && tx.send(Msg::Rows(buf)).is_err() {
        return Ok(None);
    }
    Ok(Some((rows, zero_dates)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ranges_cover_every_key_once() {
        let s = Split::even("id", 1, 1000, 4).unwrap();
        assert_eq!(s.bounds, vec![251, 501, 751]);
        assert_eq!(
            s.ranges(),
            vec![
                " WHERE `id` < 251",
                " WHERE `id` >= 251 AND `id` < 501",
                " WHERE `id` >= 501 AND `id` < 751",
                " WHERE `id` >= 751",
            ]
        );
        // every key below min, in between and above max lands in exactly one range
        for k in [-5i128, 1, 250, 251, 500, 501, 750, 751, 1000, 5000] {
            let hits = [k < 251, (251..501).contains(&k), (501..751).contains(&k), k >= 751];
            assert_eq!(hits.iter().filter(|h| **h).count(), 1, "{k}");
        }
        // unsigned BIGINT keys beyond i64
        let big = Split::even("id", 0, u64::MAX as i128, 2).unwrap();
        assert_eq!(big.bounds, vec![u64::MAX as i128 / 2 + 1]);
        assert!(Split::even("id", 1, 1, 2).is_none() && Split::even("id", 1, 100, 1).is_none());
    }
}
