//! What init_replica reads from MySQL: a consistent snapshot with the binlog coordinates it
//! corresponds to (MariaDB says them; MySQL needs a short global read lock), and the
//! definitions of the tables to copy.

use mysql::prelude::Queryable;

use crate::conn::MysqlConn;
use crate::error::{Error, Result, SqlState};
use crate::source::connect;
use crate::types::MysqlColumn;

/// Where replication starts: the binlog position the snapshot corresponds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinates {
    pub binlog_file: String,
    pub binlog_position: u64,
    /// MariaDB gtid_binlog_pos or MySQL gtid_executed, empty when GTIDs are off
    pub gtid: String,
}

fn mysql_err(what: &str, e: mysql::Error) -> Error {
    Error::new(
        SqlState::ConnectionFailure,
        format!("MySQL failed while {what}"),
    )
    .detail(e.to_string())
}

/// MariaDB's consistent snapshot comes with the binlog coordinates it corresponds to
/// (binlog_snapshot_file and _position, exact under group commit) and BINLOG_GTID_POS turns
/// them into a GTID position: no global read lock, which would wait for every running
/// statement — another copy's long SELECT included — while it blocks every write. None on
/// MySQL, which has no such thing.
pub fn without_lock(c: &MysqlConn) -> Result<Option<(mysql::Conn, Coordinates)>> {
    let mut reader = reader(c)?;
    let version: String = reader
        .query_first("SELECT VERSION()")
        .map_err(|e| mysql_err("reading the server version", e))?
        .unwrap_or_default();
    if !crate::source::is_mariadb_version(&version) {
        return Ok(None);
    }
    reader
        .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .map_err(|e| mysql_err("opening the snapshot", e))?;
    let status: Vec<(String, String)> = reader
        .query("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
        .map_err(|e| mysql_err("reading the snapshot's binlog position", e))?;
    let value = |name: &str| status.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let binlog_file = value("binlog_snapshot_file").unwrap_or_default();
    let binlog_position: u64 = value("binlog_snapshot_position").and_then(|p| p.parse().ok()).unwrap_or(0);
    if binlog_file.is_empty() {
        return Err(binlog_off());
    }
    let gtid: String = reader
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (binlog_file.as_str(), binlog_position))
        .map_err(|e| mysql_err("reading the snapshot's GTID position", e))?
        .flatten()
        .unwrap_or_default();
    Ok(Some((reader, Coordinates { binlog_file, binlog_position, gtid })))
}

fn binlog_off() -> Error {
    Error::new(SqlState::ObjectNotInPrerequisiteState, "binary logging is off on the MySQL server")
        .hint("Start the server with log_bin and binlog_format = ROW.")
}

/// A connection to read a snapshot with: TIMESTAMP values in UTC whatever the server's zone,
/// repeatable read.
fn reader(c: &MysqlConn) -> Result<mysql::Conn> {
    let mut reader = connect(c)?;
    reader
        .query_drop("SET time_zone = '+00:00'")
        .map_err(|e| mysql_err("setting the time zone", e))?;
    reader
        .query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .map_err(|e| mysql_err("setting the isolation level", e))?;
    Ok(reader)
}

/// `readers` connections whose transactions all see the database exactly at the returned
/// coordinates (a table read in key ranges at once: docs/large-copies.md). They connect before
/// the global read lock is taken; it is held only while the coordinates are read and the
/// snapshots are opened.
pub fn consistent_snapshots(
    c: &MysqlConn,
    lock_timeout_s: u64,
    readers: usize,
) -> Result<(Vec<mysql::Conn>, Coordinates)> {
    let mut locker = connect(c)?;
    let mut conns = (0..readers.max(1)).map(|_| reader(c)).collect::<Result<Vec<_>>>()?;
    locker
        .query_drop(format!(
            "SET SESSION lock_wait_timeout = {}",
            lock_timeout_s.max(1)
        ))
        .map_err(|e| mysql_err("setting lock_wait_timeout", e))?;
    locker.query_drop("FLUSH TABLES WITH READ LOCK").map_err(|e| {
        Error::new(SqlState::ObjectNotInPrerequisiteState, "could not take MySQL's global read lock")
            .detail(e.to_string())
            .hint("A long transaction or DDL holds the tables; retry, or raise copy_options lock_timeout_ms.")
    })?;
    let result = (|| {
        // MySQL 8.2+ calls it SHOW BINARY LOG STATUS (8.4 removed the old name); MariaDB and
        // older MySQL know SHOW MASTER STATUS
        let row: Option<mysql::Row> = locker
            .query_first("SHOW BINARY LOG STATUS")
            .or_else(|_| locker.query_first("SHOW MASTER STATUS"))
            .map_err(|e| mysql_err("SHOW MASTER STATUS", e))?;
        let row = row.ok_or_else(binlog_off)?;
        let binlog_file: String = row.get(0).unwrap_or_default();
        let binlog_position: u64 = row.get(1).unwrap_or_default();
        // MariaDB's binlog position as a GTID, or MySQL's executed GTID set
        let gtid: String = locker
            .query_first::<String, _>("SELECT @@gtid_binlog_pos")
            .or_else(|_| locker.query_first::<String, _>("SELECT @@global.gtid_executed"))
            .ok()
            .flatten()
            .unwrap_or_default();
        for reader in &mut conns {
            reader
                .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .map_err(|e| mysql_err("opening the snapshot", e))?;
        }
        Ok(Coordinates {
            binlog_file,
            binlog_position,
            gtid,
        })
    })();
    // released in every case; the snapshots stay open in the readers
    let unlock = locker.query_drop("UNLOCK TABLES");
    let coords = result?;
    unlock.map_err(|e| mysql_err("UNLOCK TABLES", e))?;
    Ok((conns, coords))
}

/// A MySQL index or key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub primary: bool,
    pub columns: Vec<String>,
    /// BTREE, HASH; FULLTEXT and SPATIAL have no PostgreSQL equivalent here
    pub index_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<MysqlColumn>,
    pub indexes: Vec<IndexDef>,
    pub foreign_keys: Vec<ForeignKey>,
    /// approximate row count (information_schema), for progress messages
    pub approx_rows: u64,
    /// the table's default character set (lower case): a text column added without its own
    /// takes it
    #[serde(default)]
    pub charset: Option<String>,
    /// CHECK constraints MySQL enforces (MariaDB's JSON check left out: the column is jsonb)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::check::CheckDef>,
    /// the storage engine, lower case, where known (None: the server's default, InnoDB)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl TableDef {
    /// An InnoDB table (`is_innodb`).
    pub fn is_innodb(&self) -> bool {
        is_innodb(self.engine.as_deref())
    }

    pub fn primary_key(&self) -> Vec<String> {
        self.indexes
            .iter()
            .find(|i| i.primary)
            .map(|i| i.columns.clone())
            .unwrap_or_default()
    }
}

/// Whether `engine` (lower case; None: the server's default) is InnoDB: rows kept in primary
/// key order, and the one engine that keeps foreign keys (MySQL and MariaDB parse and drop them
/// on MyISAM, Aria, MEMORY …).
pub fn is_innodb(engine: Option<&str>) -> bool {
    engine.is_none_or(|e| e == "innodb")
}

/// Which of `all` tables a source copies: the include list (empty = all) minus the exclude list.
pub fn select_tables(all: &[String], include: &[String], exclude: &[String]) -> Vec<String> {
    all.iter()
        .filter(|t| include.is_empty() || include.contains(t))
        .filter(|t| !exclude.contains(t))
        .cloned()
        .collect()
}

/// Reads the definitions of `tables` of database `db`.
pub fn read_tables(conn: &mut mysql::Conn, db: &str, tables: &[String]) -> Result<Vec<TableDef>> {
    let version: String = conn.query_first("SELECT VERSION()").ok().flatten().unwrap_or_default();
    let mysql = !crate::source::is_mariadb_version(&version);
    // (more columns than the client's tuples take: a row, then its fields)
    let cols: Vec<(String, MysqlColumn)> = conn
        .exec_map(
            "SELECT table_name, column_name, LOWER(data_type), column_type, is_nullable, column_default, extra,
                    character_maximum_length, numeric_precision, numeric_scale, datetime_precision, LOWER(character_set_name),
                    COALESCE(LOWER(collation_name) LIKE '%\\_bin', FALSE)
               FROM information_schema.columns WHERE table_schema = ? ORDER BY table_name, ordinal_position",
            (db,),
            // each row straight into the column it describes (more fields than the client's
            // tuples take); is_json is set with the table's checks below
            |mut r: mysql::Row| {
                let mut text = |i: usize| r.take::<Option<String>, _>(i).flatten();
                let (table, name) = (text(0).unwrap_or_default(), text(1).unwrap_or_default());
                let (data_type, column_type) = (text(2).unwrap_or_default(), text(3).unwrap_or_default());
                let (nullable, default, extra) = (text(4), text(5), text(6).unwrap_or_default());
                let charset = text(11);
                // MySQL shows a literal bare: quoted, as MariaDB shows it
                let default = if mysql { crate::types::quote_mysql_default(&data_type, default, &extra) } else { default };
                let mut number = |i: usize| r.take::<Option<u64>, _>(i).flatten();
                let column = MysqlColumn {
                    name,
                    data_type,
                    // ENUM and SET labels are data: only what is outside them is lower-cased
                    column_type: crate::types::normalize_column_type(&column_type),
                    nullable: nullable.as_deref() == Some("YES"),
                    default,
                    extra,
                    char_max_length: number(7),
                    numeric_precision: number(8),
                    numeric_scale: number(9),
                    datetime_precision: number(10),
                    charset,
                    binary_collation: r.take::<i64, _>(12).unwrap_or_default() != 0,
                    is_json: false,
                    read_labels: None,
                };
                (table, column)
            },
        )
        .map_err(|e| mysql_err("reading columns", e))?;
    let checks = read_checks(conn, db);
    // MariaDB's JSON: LONGTEXT with CHECK (json_valid(`col`))
    let json_checks: Vec<(String, String)> = checks
        .iter()
        .filter(|(_, _, clause)| clause.starts_with("json_valid("))
        .map(|(t, _, clause)| (t.clone(), clause.clone()))
        .collect();
    let idx: Vec<IndexRow> = conn
        .exec(
            "SELECT table_name, index_name, non_unique, column_name, index_type
               FROM information_schema.statistics WHERE table_schema = ? ORDER BY table_name, index_name, seq_in_index",
            (db,),
        )
        .map_err(|e| mysql_err("reading indexes", e))?;
    // MariaDB shows referential_constraints only to users with more than SELECT: the rules
    // then come from SHOW CREATE TABLE (see fk_rules)
    let fks: Vec<ForeignKeyRow> = conn
        .exec(
            "SELECT k.table_name, k.constraint_name, k.column_name, k.referenced_table_name, k.referenced_column_name,
                    r.update_rule, r.delete_rule
               FROM information_schema.key_column_usage k
               LEFT JOIN information_schema.referential_constraints r
                 ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name
                AND r.table_name = k.table_name
              WHERE k.table_schema = ? AND k.referenced_table_schema = k.table_schema
              ORDER BY k.table_name, k.constraint_name, k.ordinal_position",
            (db,),
        )
        .map_err(|e| mysql_err("reading foreign keys", e))?;
    // table, rows (approximate), character set, engine
    type Sizes = (String, Option<u64>, Option<String>, Option<String>);
    let counts: Vec<Sizes> = conn
        .exec(
            "SELECT table_name, table_rows, LOWER(SUBSTRING_INDEX(table_collation, '_', 1)), LOWER(engine)
               FROM information_schema.tables WHERE table_schema = ?",
            (db,),
        )
        .map_err(|e| mysql_err("reading table sizes", e))?;

    let mut out = Vec::new();
    for t in tables {
        let columns = columns_of(t, &cols, &json_checks);
        if columns.is_empty() {
            return Err(Error::new(
                SqlState::UndefinedTable,
                format!("table \"{db}\".\"{t}\" disappeared from MySQL"),
            ));
        }
        let count = counts.iter().find(|c| &c.0 == t);
        out.push(TableDef {
            name: t.clone(),
            columns,
            indexes: indexes_of(t, &idx),
            foreign_keys: foreign_keys_of(conn, db, t, &fks)?,
            approx_rows: count.and_then(|c| c.1).unwrap_or(0),
            charset: count.and_then(|c| c.2.clone()),
            engine: count.and_then(|c| c.3.clone()),
            checks: checks
                .iter()
                .filter(|(table, _, clause)| table == t && !clause.starts_with("json_valid("))
                .map(|(_, name, clause)| crate::check::CheckDef {
                    name: name.clone(),
                    clause: clause.clone(),
                })
                .collect(),
        });
    }
    for t in &mut out {
        for c in t.columns.iter_mut().filter(|c| labels_shown_as_question_marks(c)) {
            c.read_labels = Some(labels_from_rows(conn, db, &t.name, c)?);
        }
    }
    Ok(out)
}

/// information_schema (MariaDB 10.11, MySQL 9.7 alike) writes characters outside the BMP
/// (emoji) in COLUMN_TYPE as '?': an ENUM or SET whose labels show one may not be what the rows
/// hold.
fn labels_shown_as_question_marks(c: &MysqlColumn) -> bool {
    matches!(c.data_type.as_str(), "enum" | "set") && c.enum_values().iter().any(|l| l.contains('?'))
}

/// The labels of an ENUM or SET column as its rows hold them: each distinct value with its
/// number (ENUM: the index; SET: the bitmask, whose members come in the labels' order); a
/// label no row holds and information_schema showed with a '?' stays UNREADABLE_LABEL.
fn labels_from_rows(conn: &mut mysql::Conn, db: &str, table: &str, c: &MysqlColumn) -> Result<Vec<String>> {
    let shown = c.enum_values();
    let rows: Vec<(u64, Vec<u8>)> = conn
        .query(format!(
            "SELECT DISTINCT {col} + 0, CAST({col} AS BINARY) FROM {}.{} WHERE {col} IS NOT NULL AND {col} + 0 > 0",
            crate::copy::mysql_ident(db),
            crate::copy::mysql_ident(table),
            col = crate::copy::mysql_ident(&c.name)
        ))
        .map_err(|e| mysql_err("reading the labels of an ENUM or SET from its rows", e))?;
    let mut read: Vec<Option<String>> = vec![None; shown.len()];
    for (n, raw) in rows {
        let text = String::from_utf8_lossy(&raw).into_owned();
        if c.data_type == "enum" {
            if let Some(slot) = read.get_mut((n as usize).wrapping_sub(1)) {
                *slot = Some(text);
            }
            continue;
        }
        let bits = (0..shown.len()).filter(|b| n >> b & 1 == 1);
        for (b, label) in bits.zip(text.split(',')) {
            read[b] = Some(label.to_string());
        }
    }
    Ok(shown
        .into_iter()
        .zip(read)
        .map(|(s, r)| match r {
            Some(label) => label,
            None if s.contains('?') => crate::types::UNREADABLE_LABEL.to_string(),
            None => s,
        })
        .collect())
}

/// (table, name, clause) of the database's CHECK constraints: MySQL 8.0.16+ (the enforced
/// ones: table_constraints.enforced), MariaDB (check_constraints names the table); none before
/// MySQL 8.0.16.
fn read_checks(conn: &mut mysql::Conn, db: &str) -> Vec<(String, String, String)> {
    conn.exec(
        "SELECT tc.table_name, tc.constraint_name, cc.check_clause
           FROM information_schema.table_constraints tc
           JOIN information_schema.check_constraints cc
             ON cc.constraint_schema = tc.constraint_schema AND cc.constraint_name = tc.constraint_name
          WHERE tc.table_schema = ? AND tc.constraint_type = 'CHECK' AND tc.enforced = 'YES'
          ORDER BY tc.table_name, tc.constraint_name",
        (db,),
    )
    .or_else(|_| {
        conn.exec(
            "SELECT table_name, constraint_name, check_clause FROM information_schema.check_constraints
              WHERE constraint_schema = ? ORDER BY table_name, constraint_name",
            (db,),
        )
    })
    .unwrap_or_default()
}

fn columns_of(
    t: &str,
    cols: &[(String, MysqlColumn)],
    json_checks: &[(String, String)],
) -> Vec<MysqlColumn> {
    cols.iter()
        .filter(|(table, _)| table == t)
        .map(|(_, c)| MysqlColumn {
            is_json: json_checks
                .iter()
                .any(|(jt, clause)| jt == t && clause.contains(&format!("`{}`", c.name))),
            ..c.clone()
        })
        .collect()
}

/// table, index, non_unique, column (NULL: a key part that is an expression), index type
type IndexRow = (String, String, i64, Option<String>, String);

/// A table's keys and indexes; an index with an expression among its key parts (MySQL 8's
/// functional index) is FUNCTIONAL, without parts (see ddl::has_no_equivalent).
fn indexes_of(t: &str, idx: &[IndexRow]) -> Vec<IndexDef> {
    let mut indexes: Vec<IndexDef> = Vec::new();
    for (_, name, non_unique, column, itype) in idx.iter().filter(|i| i.0 == t) {
        let i = match indexes.iter_mut().position(|i| &i.name == name) {
            Some(at) => &mut indexes[at],
            None => {
                indexes.push(IndexDef {
                    name: name.clone(),
                    unique: *non_unique == 0,
                    primary: name == "PRIMARY",
                    columns: vec![],
                    index_type: itype.clone(),
                });
                indexes.last_mut().expect("just pushed")
            }
        };
        match column {
            _ if i.index_type == "FUNCTIONAL" => {}
            Some(c) => i.columns.push(c.clone()),
            None => {
                i.index_type = "FUNCTIONAL".into();
                i.columns.clear();
            }
        }
    }
    indexes
}

type ForeignKeyRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn foreign_keys_of(
    conn: &mut mysql::Conn,
    db: &str,
    t: &str,
    fks: &[ForeignKeyRow],
) -> Result<Vec<ForeignKey>> {
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut create_table: Option<String> = None;
    for (_, name, column, rt, rc, upd, del) in fks.iter().filter(|f| f.0 == t) {
        let (upd, del) = match (upd, del) {
            (Some(u), Some(d)) => (u.clone(), d.clone()),
            _ => {
                if create_table.is_none() {
                    let row: Option<(String, String)> = conn
                        .query_first(format!(
                            "SHOW CREATE TABLE `{}`.`{}`",
                            db.replace('`', "``"),
                            t.replace('`', "``")
                        ))
                        .map_err(|e| mysql_err("reading a table's foreign keys", e))?;
                    create_table = Some(row.map(|r| r.1).unwrap_or_default());
                }
                fk_rules(create_table.as_deref().unwrap_or(""), name)
            }
        };
        match foreign_keys.iter_mut().find(|f| &f.name == name) {
            Some(f) => {
                f.columns.push(column.clone());
                f.ref_columns.push(rc.clone());
            }
            None => foreign_keys.push(ForeignKey {
                name: name.clone(),
                columns: vec![column.clone()],
                ref_table: rt.clone(),
                ref_columns: vec![rc.clone()],
                on_update: immediate(upd),
                on_delete: immediate(del),
            }),
        }
    }
    Ok(foreign_keys)
}

/// InnoDB checks NO ACTION at once, as RESTRICT (MySQL's manual says they are equivalent),
/// where PostgreSQL's NO ACTION waits for the end of the statement: both are RESTRICT there.
/// (MySQL 8 also reports a rule left unwritten as NO ACTION, MariaDB as RESTRICT.)
pub fn immediate(rule: String) -> String {
    if rule == "NO ACTION" {
        "RESTRICT".into()
    } else {
        rule
    }
}

/// ON UPDATE / ON DELETE of constraint `name` in a SHOW CREATE TABLE text (MySQL's
/// default, RESTRICT, where none is written).
pub fn fk_rules(create_table: &str, name: &str) -> (String, String) {
    let line = create_table
        .lines()
        .find(|l| l.contains(&format!("CONSTRAINT `{name}` FOREIGN KEY")))
        .unwrap_or("");
    let rule = |what: &str| {
        let Some(at) = line.find(what) else {
            return "RESTRICT".to_string();
        };
        let rest = &line[at + what.len()..];
        [
            "SET NULL",
            "SET DEFAULT",
            "NO ACTION",
            "CASCADE",
            "RESTRICT",
        ]
        .into_iter()
        .find(|r| rest.trim_start().starts_with(r))
        .unwrap_or("RESTRICT")
        .to_string()
    };
    (rule("ON UPDATE "), rule("ON DELETE "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_key_rules_from_show_create_table() {
        let sql = "CREATE TABLE `orders` (\n  `id` int,\n  CONSTRAINT `fk_a` FOREIGN KEY (`c`) REFERENCES `customer` (`id`) ON DELETE CASCADE,\n  CONSTRAINT `fk_b` FOREIGN KEY (`p`) REFERENCES `product` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,\n  CONSTRAINT `fk_c` FOREIGN KEY (`q`) REFERENCES `q` (`id`)\n)".replace("\\n", "\n");
        assert_eq!(
            fk_rules(&sql, "fk_a"),
            ("RESTRICT".into(), "CASCADE".into())
        );
        assert_eq!(
            fk_rules(&sql, "fk_b"),
            ("NO ACTION".into(), "SET NULL".into())
        );
        assert_eq!(
            fk_rules(&sql, "fk_c"),
            ("RESTRICT".into(), "RESTRICT".into())
        );
    }

    #[test]
    fn include_and_exclude() {
        let all: Vec<String> = ["actor", "audit", "film"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(select_tables(&all, &[], &[]), all);
        assert_eq!(
            select_tables(&all, &[], &["audit".into()]),
            vec!["actor", "film"]
        );
        assert_eq!(
            select_tables(&all, &["film".into(), "audit".into()], &["audit".into()]),
            vec!["film"]
        );
    }
}
