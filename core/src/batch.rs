//! Batches of replicated changes. A batch ends only on a MySQL transaction boundary: when it
//! holds `batch_size` rows, when its first row has waited `max_delay` (a steady stream is never
//! idle: without this bound its rows would wait for a full batch), at a DDL statement, at a
//! binlog rotation, or when the stream is idle. Its end position is the point after its last transaction, so storing a batch and
//! its position in one PostgreSQL transaction loses and duplicates nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use crate::binlog::{BinlogRow, Change, Position, RowKind, TableInfo};
use crate::error::{Error, Result, SqlState};
use crate::event::EventKind;
use crate::types::{from_binlog_changed, value_text, Kind, MysqlColumn, PgColumn};

/// One row of a log table.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEvent {
    pub schema: String,
    pub table: String,
    pub kind: EventKind,
    /// the row as it is after the change (insert, update) or was (delete): {column: text}
    pub data: Option<Json>,
    /// the image that identifies the row (update: before image)
    pub identity: Option<Json>,
    pub query: Option<String>,
    pub binlog_file: String,
    pub binlog_pos: u64,
    pub timestamp: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub events: Vec<BatchEvent>,
    /// resume here once the batch is stored
    pub end: Position,
    pub rows: usize,
    pub ddl: usize,
    /// per table: values changed on their way (zero dates, NUL removed, invalid bytes
    /// replaced; docs/types.md), in the rows this batch applies
    pub changed: Vec<(String, u64)>,
}

/// A batch's log rows as columns (one entry per event, in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogColumns {
    pub tables: Vec<String>,
    pub schemas: Vec<String>,
    pub kinds: Vec<String>,
    pub files: Vec<String>,
    pub positions: Vec<i64>,
    pub timestamps: Vec<i64>,
    pub data: Vec<Option<String>>,
    pub identities: Vec<Option<String>>,
    pub queries: Vec<Option<String>>,
}

impl Batch {
    /// The log rows column by column, images as JSON text: what the store statement unnests
    /// (built off the worker's main thread).
    pub fn log_rows(&self) -> LogColumns {
        let n = self.events.len();
        let mut r = LogColumns {
            tables: Vec::with_capacity(n),
            schemas: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            files: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            timestamps: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            identities: Vec::with_capacity(n),
            queries: Vec::with_capacity(n),
        };
        for e in &self.events {
            r.tables.push(e.table.clone());
            r.schemas.push(e.schema.clone());
            r.kinds.push(e.kind.as_str().to_string());
            r.files.push(e.binlog_file.clone());
            r.positions.push(e.binlog_pos as i64);
            r.timestamps.push(i64::from(e.timestamp));
            r.data.push(e.data.as_ref().map(Json::to_string));
            r.identities.push(e.identity.as_ref().map(Json::to_string));
            r.queries.push(e.query.clone());
        }
        r
    }

    /// The row events as replay plans them, their images moved out (call `log_rows` first);
    /// None, and nothing moved, when a statement (DDL) is among them.
    pub fn take_replay_events(&mut self) -> Option<Vec<(String, crate::replay::ReplayEvent)>> {
        if self.events.iter().any(|e| e.kind == EventKind::Ddl) {
            return None;
        }
        Some(
            self.events
                .iter_mut()
                .map(|e| {
                    let event = crate::replay::ReplayEvent {
                        kind: e.kind,
                        data: e.data.take().unwrap_or(Json::Null),
                        identity: e.identity.take(),
                    };
                    (e.table.clone(), event)
                })
                .collect(),
        )
    }

    /// The commit time of its last transaction (seconds since the epoch).
    pub fn last_timestamp(&self) -> u32 {
        self.events.iter().map(|e| e.timestamp).max().unwrap_or(0)
    }
}

/// What a statement in the binlog is to the source.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementEvent {
    /// not a change to the source's replicated tables
    Ignored,
    /// a schema change: the PostgreSQL statements to replay, the table it concerns and the log
    /// row's event data (the MySQL statement, what the catalogue learns)
    Ddl {
        sql: String,
        table: String,
        data: crate::schema_change::DdlEvent,
    },
    /// a statement that concerns the source but cannot be replicated: replay logs it (and by
    /// default stops the source); `data` holds the statement and the error
    Failed {
        table: String,
        data: crate::schema_change::DdlEvent,
    },
}

/// A replicated table's columns in MySQL's order: MySQL's side (how the binlog's values
/// decode) and PostgreSQL's (how they are written).
pub type Decoders = Arc<Vec<(MysqlColumn, PgColumn)>>;

/// The column definitions of a replicated table (MySQL side and PostgreSQL side), or None
/// when the table is not replicated (another schema, excluded, unknown); and what a statement
/// changes (the definitions follow it).
pub trait Columns {
    fn columns(&mut self, schema: &str, table: &str) -> Result<Option<Decoders>>;
    fn statement(&mut self, schema: &str, query: &str) -> StatementEvent;
}

pub struct BatchBuilder {
    batch_size: usize,
    /// events of committed transactions not yet in a batch
    ready: Vec<BatchEvent>,
    ready_rows: usize,
    ready_ddl: usize,
    /// events of the transaction being read
    open: Vec<BatchEvent>,
    open_rows: usize,
    /// schema changes inside the transaction being read (MySQL's CREATE TABLE … SELECT)
    open_ddl: usize,
    /// the transaction being read began with an explicit BEGIN (MySQL; MariaDB's GTID event
    /// begins DDL and DML alike, a DDL being its own transaction there)
    explicit_tx: bool,
    /// values changed on their way, per table, in the transaction being read / committed ones
    open_changed: std::collections::HashMap<String, u64>,
    ready_changed: std::collections::HashMap<String, u64>,
    last_commit: Option<Position>,
    /// where the last batch ended (a heartbeat at the same place makes no batch)
    last_end: Option<(String, u64)>,
    max_delay: Duration,
    /// when the first row of the coming batch arrived
    first_at: Option<Instant>,
}

/// A row image as {column: input text}; takes the decoded values, nothing is copied.
fn image(
    cols: &[(MysqlColumn, PgColumn)],
    values: Vec<Option<mysql::Value>>,
    zero: &mut u64,
    table: &TableInfo,
) -> Result<Json> {
    if values.len() != cols.len() {
        return Err(Error::new(
            SqlState::ObjectNotInPrerequisiteState,
            format!("{}.{}: the binlog has {} columns, the replica knows {}", table.schema, table.name, values.len(), cols.len()),
        )
        .hint("The table changed shape without a DDL event chameleon saw; copy the source again with init_replica."));
    }
    let mut obj = Map::with_capacity(cols.len());
    for (i, ((my, pg), v)) in cols.iter().zip(values).enumerate() {
        // a column the image does not carry stays out (MINIMAL images)
        let Some(v) = v else { continue };
        // an ENUM's or SET's labels: the table map's where it has them (the server's own)
        let labels = table.columns.get(i).and_then(|c| c.labels.as_deref()).unwrap_or(&pg.labels);
        let (v, changed_text) = from_binlog_changed(my, labels, v);
        // (only a column with a label the copy could not read is looked at, not every value)
        if labels.iter().any(|l| l == crate::types::UNREADABLE_LABEL) {
            crate::types::readable_label(&v)
                .map_err(|e| e.detail(format!("{}.{} column {}", table.schema, table.name, my.name)))?;
        }
        // binary and bit targets take the bytes as they are
        let changed_text =
            changed_text && !matches!(pg.kind, Kind::Bytes | Kind::Bit(_) | Kind::Bool);
        let (text, was_zero) = value_text(pg, &v).map_err(|e| {
            e.detail(format!(
                "{}.{} column {}",
                table.schema, table.name, my.name
            ))
        })?;
        *zero += u64::from(was_zero) + u64::from(changed_text);
        let value = match text {
            None => Json::Null,
            // a jsonb column takes the document itself, not a string holding it
            Some(t) if pg.kind == Kind::Json => serde_json::from_str(&t).map_err(|e| {
                Error::invalid(format!(
                    "{}.{} column {}: not a JSON document",
                    table.schema, table.name, my.name
                ))
                .detail(e.to_string())
            })?,
            Some(t) => Json::String(t),
        };
        // keyed as PostgreSQL names the column (63 bytes at most)
        obj.insert(pg.name.clone(), value);
    }
    Ok(Json::Object(obj))
}

impl BatchBuilder {
    pub fn new(batch_size: usize) -> Self {
        BatchBuilder {
            batch_size: batch_size.max(1),
            ready: Vec::new(),
            ready_rows: 0,
            ready_ddl: 0,
            open: Vec::new(),
            open_rows: 0,
            open_ddl: 0,
            explicit_tx: false,
            open_changed: Default::default(),
            ready_changed: Default::default(),
            last_commit: None,
            last_end: None,
            max_delay: Duration::from_secs(3600),
            first_at: None,
        }
    }

    /// Ends a batch at the first commit after its first row has waited `d`.
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    fn take(&mut self, end: Position) -> Option<Batch> {
        if self.ready.is_empty() {
            self.last_commit = Some(end);
            return None;
        }
        Some(self.take_all(end))
    }

    fn take_all(&mut self, end: Position) -> Batch {
        let b = Batch {
            events: std::mem::take(&mut self.ready),
            end,
            rows: std::mem::take(&mut self.ready_rows),
            ddl: std::mem::take(&mut self.ready_ddl),
            changed: std::mem::take(&mut self.ready_changed)
                .into_iter()
                .collect(),
        };
        self.last_commit = None;
        self.first_at = None;
        self.last_end = Some((b.end.file.clone(), b.end.pos));
        b
    }

    /// The batch of everything committed so far (the stream is idle or stopping). When only
    /// other tables' transactions went by, it holds no events and just moves the resume point,
    /// so a quiet source on a busy server does not fall behind.
    pub fn flush(&mut self) -> Option<Batch> {
        let end = self.last_commit.clone()?;
        Some(self.take_all(end))
    }

    /// A statement: ignored, or a schema change that closes its batch (or, inside MySQL's
    /// explicit transaction, waits for the commit with the transaction's rows).
    fn push_statement(
        &mut self,
        schema: String,
        query: String,
        timestamp: u32,
        next: Position,
        cols: &mut dyn Columns,
    ) -> Result<Option<Batch>> {
        // MySQL's CREATE TABLE … SELECT: the definition inside the transaction that
        // fills the table; it stays with its rows, and the transaction is applied
        // whole (a resume point between them would skip the rows on MySQL, whose
        // stream resumes by GTID after the whole transaction)
        let inside = self.explicit_tx;
        if !inside {
            // a statement is its own transaction; a schema change closes the batch, so
            // it is replayed between the rows around it, and rows after it decode with
            // the new shape
            self.open.clear();
            self.open_rows = 0;
            self.open_changed.clear();
        }
        let (table, query, data) = match cols.statement(&schema, &query) {
            StatementEvent::Ignored if inside => return Ok(None),
            StatementEvent::Ignored => {
                self.last_commit = Some(next);
                return Ok(None);
            }
            StatementEvent::Ddl { sql, table, data } => (table, Some(sql), data),
            StatementEvent::Failed { table, data } => (table, None, data),
        };
        let event = BatchEvent {
            schema,
            table,
            kind: EventKind::Ddl,
            data: Some(data.to_json()),
            identity: None,
            query,
            binlog_file: next.file.clone(),
            binlog_pos: next.pos,
            timestamp,
        };
        if inside {
            self.open.push(event);
            self.open_ddl += 1;
            return Ok(None);
        }
        self.ready.push(event);
        self.ready_ddl += 1;
        Ok(self.take(next))
    }

    /// Feeds one change; returns a batch when one ends here.
    pub fn push(&mut self, change: Change, cols: &mut dyn Columns) -> Result<Option<Batch>> {
        match change {
            Change::Begin { gtid } => {
                self.open.clear();
                self.open_rows = 0;
                self.open_ddl = 0;
                self.open_changed.clear();
                self.explicit_tx = gtid.is_none();
                Ok(None)
            }
            Change::Rows {
                table,
                kind,
                rows,
                timestamp,
            } => {
                let Some(defs) = cols.columns(&table.schema, &table.name)? else {
                    return Ok(None);
                };
                for BinlogRow { before, after } in rows {
                    // what changed is counted in the image the row is applied with
                    let (mut in_before, mut in_after) = (0, 0);
                    let before = before
                        .map(|b| image(&defs, b, &mut in_before, &table))
                        .transpose()?;
                    let after = after
                        .map(|a| image(&defs, a, &mut in_after, &table))
                        .transpose()?;
                    let changed = if after.is_some() { in_after } else { in_before };
                    if changed > 0 {
                        *self.open_changed.entry(table.name.clone()).or_default() += changed;
                    }
                    let (kind, data, identity) = match kind {
                        RowKind::Insert => (EventKind::Insert, after, None),
                        RowKind::Update => (EventKind::Update, after, before),
                        RowKind::Delete => (EventKind::Delete, before, None),
                    };
                    self.open.push(BatchEvent {
                        schema: table.schema.clone(),
                        table: table.name.clone(),
                        kind,
                        data,
                        identity,
                        query: None,
                        binlog_file: String::new(),
                        binlog_pos: 0,
                        timestamp,
                    });
                    self.open_rows += 1;
                }
                self.first_at.get_or_insert_with(Instant::now);
                Ok(None)
            }
            Change::Commit { next, .. } => {
                for e in &mut self.open {
                    e.binlog_file.clone_from(&next.file);
                    e.binlog_pos = next.pos;
                }
                self.ready.append(&mut self.open);
                self.ready_rows += std::mem::take(&mut self.open_rows);
                self.explicit_tx = false;
                // a schema change inside the transaction closes the batch at its commit
                let ddl = std::mem::take(&mut self.open_ddl);
                self.ready_ddl += ddl;
                for (t, n) in self.open_changed.drain() {
                    *self.ready_changed.entry(t).or_default() += n;
                }
                self.last_commit = Some(next.clone());
                let waited = self.first_at.is_some_and(|t| t.elapsed() >= self.max_delay);
                if ddl > 0 || self.ready_rows >= self.batch_size || (waited && !self.ready.is_empty()) {
                    return Ok(self.take(next));
                }
                Ok(None)
            }
            Change::Query {
                schema,
                query,
                timestamp,
                next,
            } => self.push_statement(schema, query, timestamp, next, cols),
            Change::Rotate { next } => {
                // batches do not span files; an empty batch still moves the resume point
                Ok(match self.last_commit.clone() {
                    Some(end) if !self.ready.is_empty() => {
                        let b = self.take(end);
                        self.last_commit = Some(next);
                        b
                    }
                    _ => {
                        self.last_commit = Some(next);
                        None
                    }
                })
            }
            Change::Idle => Ok(self.flush()),
            Change::Heartbeat { at } => {
                // between transactions the server's position is the resume point (inside
                // one, which a dump never waits in, it is not); an idle stream's heartbeats
                // repeat the last one, which makes no batch
                let moved = self.last_end.as_ref() != Some(&(at.file.clone(), at.pos));
                if !self.explicit_tx && self.open.is_empty() && moved {
                    self.last_commit = Some(at);
                }
                Ok(self.flush())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::ColumnInfo;
    use crate::types::map_column;
    use mysql::consts::ColumnType;
    use mysql::Value as V;

    type Row = Vec<Option<V>>;

    struct Shop;
    impl Columns for Shop {
        fn statement(&mut self, schema: &str, query: &str) -> StatementEvent {
            let names_shop = query.contains("`shop`.") || query.contains(" shop.");
            if schema == "shop" || names_shop {
                StatementEvent::Ddl {
                    sql: format!("-- {query}"),
                    table: "orders".into(),
                    data: crate::schema_change::DdlEvent {
                        mysql: query.into(),
                        ..Default::default()
                    },
                }
            } else {
                StatementEvent::Ignored
            }
        }
        fn columns(&mut self, schema: &str, table: &str) -> Result<Option<Decoders>> {
            if schema != "shop" || table != "orders" {
                return Ok(None);
            }
            let defs = [
                ("id", "int", "int(11)"),
                ("status", "enum", "enum('new','paid')"),
                ("at", "timestamp", "timestamp"),
                ("doc", "longtext", "longtext"),
            ]
            .iter()
            .map(|(n, d, c)| {
                let my = MysqlColumn {
                    name: n.to_string(),
                    data_type: d.to_string(),
                    column_type: c.to_string(),
                    nullable: true,
                    is_json: *n == "doc",
                    ..Default::default()
                };
                let pg = map_column(table, &my, &serde_json::json!({})).unwrap();
                (my, pg)
            })
            .collect();
            Ok(Some(Arc::new(defs)))
        }
    }

    fn table(schema: &str, name: &str) -> Arc<TableInfo> {
        let col = |t| ColumnInfo {
            name: None,
            ty: t,
            meta: vec![],
            unsigned: false,
            labels: None,
        };
        Arc::new(TableInfo {
            schema: schema.into(),
            name: name.into(),
            columns: vec![
                col(ColumnType::MYSQL_TYPE_LONG),
                col(ColumnType::MYSQL_TYPE_ENUM),
                col(ColumnType::MYSQL_TYPE_TIMESTAMP2),
                col(ColumnType::MYSQL_TYPE_BLOB),
            ],
            primary_key: vec![0],
        })
    }
    fn row(id: i64, st: i64) -> Vec<Option<V>> {
        vec![
            Some(V::Int(id)),
            Some(V::Int(st)),
            Some(V::Bytes(b"1700000000".to_vec())),
            Some(V::Bytes(br#"{"a": [1, "x"]}"#.to_vec())),
        ]
    }
    fn pos(p: u64) -> Position {
        Position {
            file: "mysql-bin.000001".into(),
            pos: p,
            gtid: None,
        }
    }
    fn tx(
        b: &mut BatchBuilder,
        rows: Vec<(RowKind, Option<Row>, Option<Row>)>,
        end: u64,
    ) -> Option<Batch> {
        b.push(Change::Begin { gtid: None }, &mut Shop).unwrap();
        for (kind, before, after) in rows {
            b.push(
                Change::Rows {
                    table: table("shop", "orders"),
                    kind,
                    rows: vec![BinlogRow { before, after }],
                    timestamp: 1,
                },
                &mut Shop,
            )
            .unwrap();
        }
        b.push(
            Change::Commit {
                next: pos(end),
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap()
    }

    #[test]
    fn a_schema_change_inside_a_transaction_stays_with_its_rows() {
        let mut b = BatchBuilder::new(1000);
        let query = |q: &str, at: u64| Change::Query {
            schema: "shop".into(),
            query: q.into(),
            timestamp: 1,
            next: pos(at),
        };
        // MySQL's CREATE TABLE … SELECT: BEGIN, the definition, its rows, the commit
        b.push(Change::Begin { gtid: None }, &mut Shop).unwrap();
        let held = b.push(query("CREATE TABLE `orders` (`id` int) START TRANSACTION", 120), &mut Shop);
        assert!(held.unwrap().is_none(), "held until the commit");
        b.push(
            Change::Rows {
                table: table("shop", "orders"),
                kind: RowKind::Insert,
                rows: vec![BinlogRow { before: None, after: Some(row(1, 1)) }],
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap();
        let batch = b
            .push(Change::Commit { next: pos(300), timestamp: 1 }, &mut Shop)
            .unwrap()
            .expect("the commit ends the batch");
        assert_eq!((batch.ddl, batch.rows, batch.end.pos), (1, 1, 300));
        assert_eq!(batch.events[0].kind, EventKind::Ddl);
        assert!(batch.events.iter().all(|e| e.binlog_pos == 300), "one resume point: the commit");
        // MariaDB begins every transaction with its GTID event: a statement is its own batch
        b.push(Change::Begin { gtid: Some("0-1-5".into()) }, &mut Shop).unwrap();
        let ddl = b.push(query("ALTER TABLE orders ADD y INT", 400), &mut Shop).unwrap();
        assert_eq!(ddl.map(|d| (d.ddl, d.end.pos)), Some((1, 400)));
    }

    #[test]
    fn a_steady_stream_ends_batches_after_max_delay() {
        let mut b = BatchBuilder::new(1000).with_max_delay(Duration::from_millis(30));
        assert!(
            tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 100).is_none(),
            "young: waits for more"
        );
        std::thread::sleep(Duration::from_millis(40));
        let batch = tx(&mut b, vec![(RowKind::Insert, None, Some(row(2, 1)))], 200)
            .expect("old enough: ends at this commit");
        assert_eq!((batch.rows, batch.end.pos), (2, 200));
        assert!(
            tx(&mut b, vec![(RowKind::Insert, None, Some(row(3, 1)))], 300).is_none(),
            "the clock starts again"
        );
    }

    #[test]
    fn batches_end_on_commits_once_full() {
        let mut b = BatchBuilder::new(3);
        assert!(tx(
            &mut b,
            vec![
                (RowKind::Insert, None, Some(row(1, 1))),
                (RowKind::Insert, None, Some(row(2, 1)))
            ],
            100
        )
        .is_none());
        // the transaction that crosses batch_size is not split
        let batch = tx(
            &mut b,
            vec![
                (RowKind::Update, Some(row(1, 1)), Some(row(1, 2))),
                (RowKind::Delete, Some(row(2, 1)), None),
            ],
            200,
        )
        .unwrap();
        assert_eq!(batch.rows, 4);
        assert_eq!(batch.end, pos(200));
        let kinds: Vec<_> = batch.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["insert", "insert", "update", "delete"]);
        let upd = &batch.events[2];
        assert_eq!(upd.data.as_ref().unwrap()["status"], "paid");
        assert_eq!(upd.identity.as_ref().unwrap()["status"], "new");
        assert_eq!(
            upd.data.as_ref().unwrap()["at"],
            "2023-11-14 22:13:20.000000+00"
        );
        assert_eq!(
            upd.data.as_ref().unwrap()["doc"],
            serde_json::json!({"a": [1, "x"]}),
            "jsonb columns carry the document"
        );
        assert_eq!(upd.binlog_pos, 200);
        assert_eq!(
            batch.events[3].data.as_ref().unwrap()["id"],
            "2",
            "a delete carries the row it removes"
        );
    }

    /// A transaction begun, with one insert into `schema`.orders, not committed.
    fn open_insert(b: &mut BatchBuilder, schema: &str) {
        b.push(Change::Begin { gtid: None }, &mut Shop).unwrap();
        let rows = vec![BinlogRow {
            before: None,
            after: Some(row(1, 1)),
        }];
        b.push(
            Change::Rows {
                table: table(schema, "orders"),
                kind: RowKind::Insert,
                rows,
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap();
    }

    #[test]
    fn an_open_transaction_is_never_in_a_batch() {
        let mut b = BatchBuilder::new(1);
        open_insert(&mut b, "shop");
        assert_eq!(
            b.push(Change::Idle, &mut Shop).unwrap(),
            None,
            "idle in the middle of a transaction, nothing committed: nothing to store"
        );
        let batch = b
            .push(
                Change::Commit {
                    next: pos(50),
                    timestamp: 1,
                },
                &mut Shop,
            )
            .unwrap()
            .unwrap();
        assert_eq!(batch.rows, 1);
    }

    /// A stream resumed by GTID set: the fake rotate names the file's start, the server skips
    /// what the set holds, and only its heartbeat says where it stands.
    #[test]
    fn a_heartbeat_moves_the_resume_point_between_transactions_only() {
        let mut b = BatchBuilder::new(100);
        let at = |p: u64| Position {
            file: "binlog.000208".into(),
            pos: p,
            gtid: Some("u:1-9".into()),
        };
        assert_eq!(b.push(Change::Rotate { next: at(4) }, &mut Shop).unwrap(), None);
        let hb = b
            .push(Change::Heartbeat { at: at(438) }, &mut Shop)
            .unwrap()
            .expect("an empty batch that moves the position");
        assert_eq!((hb.rows, hb.end.pos), (0, 438));
        assert_eq!(
            b.push(Change::Heartbeat { at: at(438) }, &mut Shop).unwrap(),
            None,
            "an idle stream's next heartbeats store nothing"
        );
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 500);
        let hb = b
            .push(Change::Heartbeat { at: at(600) }, &mut Shop)
            .unwrap()
            .unwrap();
        assert_eq!((hb.rows, hb.end.pos), (1, 600), "everything before it was sent or skipped");
        open_insert(&mut b, "shop");
        assert_eq!(
            b.push(Change::Heartbeat { at: at(700) }, &mut Shop).unwrap(),
            None,
            "inside a transaction a position is no resume point"
        );
    }

    #[test]
    fn ddl_rotate_and_idle_close_batches() {
        let mut b = BatchBuilder::new(100);
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 100);
        let ddl = b
            .push(
                Change::Query {
                    schema: "shop".into(),
                    query: "ALTER TABLE orders ADD x INT".into(),
                    timestamp: 2,
                    next: pos(150),
                },
                &mut Shop,
            )
            .unwrap()
            .unwrap();
        assert_eq!((ddl.rows, ddl.ddl, ddl.end.pos), (1, 1, 150));
        assert_eq!(
            ddl.events[1].query.as_deref(),
            Some("-- ALTER TABLE orders ADD x INT")
        );
        assert_eq!(
            ddl.events[1].data.as_ref().map(|d| d["mysql"].clone()),
            Some(serde_json::json!("ALTER TABLE orders ADD x INT"))
        );
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(2, 1)))], 200);
        let next_file = Position {
            file: "mysql-bin.000002".into(),
            pos: 4,
            gtid: None,
        };
        let rot = b
            .push(
                Change::Rotate {
                    next: next_file.clone(),
                },
                &mut Shop,
            )
            .unwrap()
            .unwrap();
        assert_eq!(rot.end, pos(200), "the batch ends in its own file");
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(3, 1)))], 300);
        let idle = b.push(Change::Idle, &mut Shop).unwrap().unwrap();
        assert_eq!(idle.rows, 1);
        assert_eq!(
            b.push(Change::Idle, &mut Shop).unwrap(),
            None,
            "nothing new since"
        );
    }

    #[test]
    fn statements_on_other_databases_are_not_the_sources() {
        let mut b = BatchBuilder::new(100);
        let q = |schema: &str, query: &str, p: u64| Change::Query {
            schema: schema.into(),
            query: query.into(),
            timestamp: 1,
            next: pos(p),
        };
        assert_eq!(
            b.push(q("", "CREATE TABLE other.t (id int)", 10), &mut Shop)
                .unwrap(),
            None
        );
        assert_eq!(
            b.push(q("other", "DROP TABLE t", 20), &mut Shop).unwrap(),
            None
        );
        let mine = b
            .push(
                q("", "ALTER TABLE `shop`.`orders` ADD x INT", 30),
                &mut Shop,
            )
            .unwrap()
            .unwrap();
        assert_eq!(mine.ddl, 1);
        let mine = b
            .push(q("shop", "ALTER TABLE orders DROP x", 40), &mut Shop)
            .unwrap()
            .unwrap();
        assert_eq!(mine.end, pos(40));
    }

    #[test]
    fn other_tables_are_left_out_knowingly() {
        let mut b = BatchBuilder::new(1);
        open_insert(&mut b, "other");
        assert_eq!(
            b.push(
                Change::Commit {
                    next: pos(10),
                    timestamp: 1
                },
                &mut Shop
            )
            .unwrap(),
            None
        );
        // when idle, the resume point moves past them without a batch of events
        let moved = b.flush().unwrap();
        assert!(moved.events.is_empty());
        assert_eq!(moved.end, pos(10));
        assert_eq!(b.flush(), None);
    }
}
