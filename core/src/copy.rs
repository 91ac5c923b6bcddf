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
        let select = format!(
            "SELECT {} FROM {}.{}",
            names
                .iter()
                .map(|c| mysql_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            mysql_ident(db),
            mysql_ident(&table)
        );
        let result = (|| -> Result<Option<(u64, u64)>, String> {
            let mut rows = 0u64;
            let mut zero_dates = 0u64;
            let mut buf = Vec::with_capacity(CHUNK + 4096);
            let stmt = conn.prep(&select).map_err(|e| format!("{table}: {e}"))?;
            let result = conn
                .exec_iter(stmt, ())
                .map_err(|e| format!("{table}: {e}"))?;
            for row in result {
                let row = row.map_err(|e| format!("{table}: {e}"))?;
                for (i, (col, v)) in cols.iter().zip(row.unwrap()).enumerate() {
                    if i > 0 {
                        buf.push(b'\t');
                    }
                    if encode(&mut buf, col, &v)
                        .map_err(|e| format!("{table}.{}: {}", col.name, e.message))?
                    {
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
        })();
        match result {
            Ok(Some((rows, zero_dates))) => {
                if tx.send(Msg::EndTable { rows, zero_dates }).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        }
    }
}
