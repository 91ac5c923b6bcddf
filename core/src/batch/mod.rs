//! Batches of replicated changes. A batch ends only on a MySQL transaction boundary: when it
//! holds `batch_size` rows, when its first row has waited `max_delay` (a steady stream is never
//! idle: without this bound its rows would wait for a full batch), at a DDL statement, at a
//! binlog rotation, or when the stream is idle. Its end position is the point after its last transaction, so storing a batch and
//! its position in one PostgreSQL transaction loses and duplicates nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::binlog::{BinlogRow, Change, Position, RowKind, TableInfo};
use crate::error::{Error, Result, SqlState};
use crate::event::EventKind;
use crate::handover::Handover;
use crate::types::{from_binlog_changed, value_text, write_json, Kind, MysqlColumn, PgColumn};

pub mod big;
mod image;
use big::{BigValue, BigValues, BIG_VALUE_BYTES};
pub use image::{Image, ImageWriter};

/// One row of a log table.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEvent {
    /// (shared by the events of a table)
    pub schema: Arc<str>,
    pub table: Arc<str>,
    pub kind: EventKind,
    /// the row as it is after the change (insert, update) or was (delete): {column: text};
    /// a schema change's event data
    pub data: Option<Image>,
    /// the image that identifies the row (update: before image)
    pub identity: Option<Image>,
    /// values too big for the images, beside them (`big`)
    pub big: Option<Box<BigValues>>,
    pub query: Option<String>,
    /// (shared by the events of a transaction)
    pub binlog_file: Arc<str>,
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
    /// a part of a transaction too big for memory (`with_max_memory`): more of it follows in
    /// the next batches and `end` is no resume point; the last part (false) ends at the commit
    pub continues: bool,
    /// the commit time of its last transaction (seconds since the epoch)
    pub timestamp: u32,
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
            r.tables.push(e.table.to_string());
            r.schemas.push(e.schema.to_string());
            r.kinds.push(e.kind.as_str().to_string());
            r.files.push(e.binlog_file.to_string());
            r.positions.push(e.binlog_pos as i64);
            r.timestamps.push(i64::from(e.timestamp));
            let (data_big, identity_big) = match &e.big {
                Some(b) => (b.data.as_slice(), b.identity.as_slice()),
                None => (&[][..], &[][..]),
            };
            r.data.push(e.data.as_ref().map(|i| big::inline(i, data_big)));
            r.identities.push(e.identity.as_ref().map(|i| big::inline(i, identity_big)));
            r.queries.push(e.query.clone());
        }
        r
    }

    /// The row events as replay plans them, moved out (call `log_rows` first); None, and
    /// nothing moved, when a statement (DDL) is among them.
    pub fn take_replay_events(&mut self) -> Option<Vec<(Arc<str>, crate::replay::ReplayEvent)>> {
        if self.events.iter().any(|e| e.kind == EventKind::Ddl) {
            return None;
        }
        Some(
            std::mem::take(&mut self.events)
                .into_iter()
                .map(|e| {
                    let event = crate::replay::ReplayEvent {
                        kind: e.kind,
                        data: e.data.unwrap_or_default(),
                        identity: e.identity,
                        big: e.big,
                    };
                    (e.table, event)
                })
                .collect(),
        )
    }

    /// The commit time of its last transaction (seconds since the epoch).
    pub fn last_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Neither rows nor statements: it only moves the resume point.
    pub fn is_empty(&self) -> bool {
        self.rows == 0 && self.ddl == 0
    }
}

/// The latest commit time among `events`.
fn latest(events: &[BatchEvent]) -> u32 {
    events.iter().map(|e| e.timestamp).max().unwrap_or(0)
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
    /// The replicated table a statement changes, if it names one (without changing anything).
    fn table_of(&self, _schema: &str, _query: &str) -> Option<String> {
        None
    }
}

pub struct BatchBuilder {
    batch_size: usize,
    /// events of committed transactions not yet in a batch
    ready: Vec<BatchEvent>,
    ready_rows: usize,
    /// the committed transactions' row images, roughly in bytes: past `max_memory` the batch
    /// ends at a commit, however few its rows (big values)
    ready_bytes: usize,
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
    /// the open transaction's row images, roughly in bytes; above `max_memory` (0: never) it
    /// is handed out in parts
    open_bytes: usize,
    max_memory: usize,
    /// a part of the open transaction was handed out: its commit ends the last part
    in_parts: bool,
    max_delay: Duration,
    /// when the first row of the coming batch arrived
    first_at: Option<Instant>,
    /// writes every row image (one buffer)
    writer: ImageWriter,
    /// the binlog file committed events name, shared by them; `no_file` names none (an event
    /// of the open transaction, a part's)
    file: Arc<str>,
    no_file: Arc<str>,
    /// tables copied after the stream's start: what their copies hold is skipped
    handover: Handover,
    /// the tables whose copy holds the open transaction (decided at its start)
    open_covered: Vec<String>,
}

/// What an event costs on its way besides its images, roughly: the event, then the event
/// replay plans and its row key's entries in the plan (measured: with less, a transaction of
/// small rows in parts took more than `max_memory` says; bench/memory).
const EVENT_BYTES: usize = 2 * std::mem::size_of::<BatchEvent>() + 64;

/// Roughly what a row image read back from a log table takes in memory: serde_json's map is
/// a B-tree whose nodes hold 11 entries (about 640 bytes each, however few are used), plus
/// each key's and each text's own allocation.
pub fn approx_bytes(image: &Json) -> usize {
    match image {
        Json::Object(m) => map_bytes(m.len()) + m.iter().map(|(k, v)| entry_bytes(k, v)).sum::<usize>(),
        Json::String(t) => 16 + t.len(),
        Json::Array(items) => 32 + items.iter().map(|v| 32 + approx_bytes(v)).sum::<usize>(),
        _ => 0,
    }
}

/// A map's nodes (approx_bytes).
fn map_bytes(entries: usize) -> usize {
    640 * entries.div_ceil(11)
}

/// One entry of a map: its key's and its value's allocations (approx_bytes).
fn entry_bytes(key: &str, value: &Json) -> usize {
    32 + key.len() + approx_bytes(value)
}

/// A transaction handed out in parts met something other than its rows and its commit.
fn unfinished_parts() -> Error {
    Error::new(
        SqlState::ObjectNotInPrerequisiteState,
        "a transaction applied in parts did not end with its commit",
    )
    .hint("Report the binlog position in show_status(); chameleon stops rather than apply half a transaction.")
}

/// A row image (`Image`); takes the decoded values, nothing is copied but into the image's
/// text. Adds what it takes in memory to `bytes`. `key_only`: the primary key's columns alone
/// (an update's or a delete's old row in a keyed table: replay finds the row by them, as
/// MySQL's MINIMAL images have it).
#[allow(clippy::too_many_arguments)]
fn image(
    w: &mut ImageWriter,
    cols: &[(MysqlColumn, PgColumn)],
    key_only: bool,
    values: Vec<Option<mysql::Value>>,
    zero: &mut u64,
    bytes: &mut usize,
    big: &mut Vec<(String, BigValue)>,
    table: &TableInfo,
) -> Result<Image> {
    if values.len() != cols.len() {
        return Err(Error::new(
            SqlState::ObjectNotInPrerequisiteState,
            format!("{}.{}: the binlog has {} columns, the replica knows {}", table.schema, table.name, values.len(), cols.len()),
        )
        .hint("The table changed shape without a DDL event chameleon saw; copy the source again with init_replica."));
    }
    // where a value failed, before what the failure said
    let at = |my: &MysqlColumn| {
        let place = format!("{}.{} column {}", table.schema, table.name, my.name);
        move |e: Error| {
            let detail = match &e.detail {
                Some(d) => format!("{place}: {d}"),
                None => place,
            };
            e.detail(detail)
        }
    };
    w.begin();
    for (i, ((my, pg), v)) in cols.iter().zip(values).enumerate() {
        // a column the image does not carry stays out (MINIMAL images)
        let Some(v) = v.filter(|_| !key_only || pg.key) else { continue };
        // an ENUM's or SET's labels: the table map's where it has them (the server's own)
        let labels = table.columns.get(i).and_then(|c| c.labels.as_deref()).unwrap_or(&pg.labels);
        let (v, changed_text) = from_binlog_changed(my, labels, v);
        // big values go beside the image as they are (bytes not as hex)
        match v {
            mysql::Value::Bytes(b) if pg.kind == Kind::Bytes && b.len() > BIG_VALUE_BYTES => {
                *bytes += b.len();
                big.push((pg.name.clone(), BigValue::Bytes(b)));
                continue;
            }
            mysql::Value::Bytes(ref b) if pg.kind == Kind::Text && b.len() > BIG_VALUE_BYTES => {
                let (text, _) = value_text(pg, &v).map_err(at(my))?;
                *bytes += b.len();
                *zero += u64::from(changed_text);
                big.push((pg.name.clone(), BigValue::Text(text.unwrap_or_default())));
                continue;
            }
            _ => {}
        }
        // (only a column with a label the copy could not read is looked at, not every value)
        if labels.iter().any(|l| l == crate::types::UNREADABLE_LABEL) {
            crate::types::readable_label(&v).map_err(at(my))?;
        }
        // binary and bit targets take the bytes as they are
        let changed_text = changed_text && !matches!(pg.kind, Kind::Bytes | Kind::Bit(_) | Kind::Bool);
        // keyed as PostgreSQL names the column (63 bytes at most)
        let out = w.name(&pg.name);
        let from = out.len();
        let was_zero = write_json(out, pg, &v).map_err(at(my))?;
        if pg.key {
            w.key_value(from);
        }
        *zero += u64::from(was_zero) + u64::from(changed_text);
    }
    let image = w.finish();
    // (and its text again in its statement's parameter)
    *bytes += image.bytes() + image.json().len();
    Ok(image)
}

impl BatchBuilder {
    pub fn new(batch_size: usize) -> Self {
        BatchBuilder {
            batch_size: batch_size.max(1),
            ready: Vec::new(),
            ready_rows: 0,
            ready_bytes: 0,
            ready_ddl: 0,
            open: Vec::new(),
            open_rows: 0,
            open_ddl: 0,
            explicit_tx: false,
            open_changed: Default::default(),
            ready_changed: Default::default(),
            last_commit: None,
            last_end: None,
            open_bytes: 0,
            max_memory: 0,
            in_parts: false,
            max_delay: Duration::from_secs(3600),
            first_at: None,
            writer: ImageWriter::default(),
            file: "".into(),
            no_file: "".into(),
            handover: Handover::default(),
            open_covered: Vec::new(),
        }
    }

    /// Skips the changes a table's copy already holds (docs/large-copies.md): the rows of a
    /// transaction that started before the table's copy point, and its schema changes.
    pub fn with_handover(mut self, h: Handover) -> Self {
        self.handover = h;
        self
    }

    /// Hands a transaction whose row images pass `bytes` out in parts (the consumer takes them
    /// in one transaction of its own), so that memory stays bounded whatever its size. 0: never.
    pub fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Ends a batch at the first commit after its first row has waited `d`.
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// `name` as the events share it (a new file name is made once).
    fn file_named(&mut self, name: &str) -> Arc<str> {
        if *self.file != *name {
            self.file = name.into();
        }
        self.file.clone()
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
            timestamp: latest(&self.ready),
            events: std::mem::take(&mut self.ready),
            end,
            rows: std::mem::take(&mut self.ready_rows),
            ddl: std::mem::take(&mut self.ready_ddl),
            changed: std::mem::take(&mut self.ready_changed)
                .into_iter()
                .collect(),
            continues: false,
        };
        self.last_commit = None;
        self.first_at = None;
        self.ready_bytes = 0;
        self.last_end = Some((b.end.file.clone(), b.end.pos));
        if !self.handover.is_empty() {
            self.handover.prune(&b.end);
        }
        b
    }

    /// The batch of everything committed so far (the stream is idle or stopping). When only
    /// other tables' transactions went by, it holds no events and just moves the resume point,
    /// so a quiet source on a busy server does not fall behind.
    pub fn flush(&mut self) -> Option<Batch> {
        let end = self.last_commit.clone()?;
        Some(self.take_all(end))
    }

    /// The open transaction's rows so far, as a part (`continues`). Committed transactions
    /// go first, in a batch of their own: None then, and the part comes at the next rows.
    fn take_part(&mut self) -> Option<Batch> {
        if !self.ready.is_empty() {
            let end = self.last_commit.clone()?;
            return Some(self.take_all(end));
        }
        self.in_parts = true;
        self.open_bytes = 0;
        Some(Batch {
            timestamp: latest(&self.open),
            events: std::mem::take(&mut self.open),
            end: Position::default(),
            rows: std::mem::take(&mut self.open_rows),
            ddl: 0,
            changed: self.open_changed.drain().collect(),
            continues: true,
        })
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
        let copied = !self.handover.is_empty()
            && cols
                .table_of(&schema, &query)
                .is_some_and(|t| self.handover.covers_table(&t, &next));
        let event = if copied { StatementEvent::Ignored } else { cols.statement(&schema, &query) };
        let (table, query, data) = match event {
            StatementEvent::Ignored if inside => return Ok(None),
            StatementEvent::Ignored => {
                self.last_commit = Some(next);
                return Ok(None);
            }
            StatementEvent::Ddl { sql, table, data } => (table, Some(sql), data),
            StatementEvent::Failed { table, data } => (table, None, data),
        };
        let event = BatchEvent {
            schema: schema.into(),
            table: table.into(),
            kind: EventKind::Ddl,
            data: Some(Image::document(&data.to_json())),
            identity: None,
            big: None,
            query,
            binlog_file: self.file_named(&next.file),
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
            Change::Begin { gtid, at } => {
                if self.in_parts {
                    return Err(unfinished_parts());
                }
                self.open_covered = if self.handover.is_empty() { Vec::new() } else { self.handover.covering(&at) };
                self.open.clear();
                self.open_bytes = 0;
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
                let copied = |t: &String| **t == *table.name;
                if self.open_covered.iter().any(copied) && self.handover.in_source_db(&table.schema) {
                    return Ok(None); // in the table's copy
                }
                let Some(defs) = cols.columns(&table.schema, &table.name)? else {
                    return Ok(None);
                };
                // the old row of an update or a delete in a keyed table: its key is all replay
                // needs (the new row is always whole)
                let key_only = kind != RowKind::Insert && defs.iter().any(|(_, pg)| pg.key);
                for BinlogRow { before, after } in rows {
                    // what changed is counted in the image the row is applied with
                    let (mut in_before, mut in_after) = (0, 0);
                    let (bytes, w) = (&mut self.open_bytes, &mut self.writer);
                    let (mut big_before, mut big_after) = (Vec::new(), Vec::new());
                    let before = before
                        .map(|b| image(w, &defs, key_only, b, &mut in_before, bytes, &mut big_before, &table))
                        .transpose()?;
                    let after = after
                        .map(|a| image(w, &defs, false, a, &mut in_after, bytes, &mut big_after, &table))
                        .transpose()?;
                    let changed = if after.is_some() { in_after } else { in_before };
                    if changed > 0 {
                        *self.open_changed.entry(table.name.to_string()).or_default() += changed;
                    }
                    let (kind, data, identity, big) = match kind {
                        RowKind::Insert => (EventKind::Insert, after, None, BigValues { data: big_after, identity: vec![] }),
                        RowKind::Update => (EventKind::Update, after, before, BigValues { data: big_after, identity: big_before }),
                        RowKind::Delete => (EventKind::Delete, before, None, BigValues { data: big_before, identity: vec![] }),
                    };
                    self.open.push(BatchEvent {
                        schema: table.schema.clone(),
                        table: table.name.clone(),
                        kind,
                        data,
                        identity,
                        big: (!big.is_empty()).then(|| Box::new(big)),
                        query: None,
                        binlog_file: self.no_file.clone(),
                        binlog_pos: 0,
                        timestamp,
                    });
                    self.open_rows += 1;
                    self.open_bytes += EVENT_BYTES;
                }
                self.first_at.get_or_insert_with(Instant::now);
                let too_big = self.max_memory > 0 && self.open_bytes >= self.max_memory;
                if too_big && self.open_ddl == 0 {
                    return Ok(self.take_part());
                }
                Ok(None)
            }
            Change::Commit { next, .. } => {
                let file = self.file_named(&next.file);
                for e in &mut self.open {
                    e.binlog_file = file.clone();
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
                self.ready_bytes += std::mem::take(&mut self.open_bytes);
                if std::mem::take(&mut self.in_parts) {
                    // the last part ends at the commit, even with no rows left
                    return Ok(Some(self.take_all(next)));
                }
                let waited = self.first_at.is_some_and(|t| t.elapsed() >= self.max_delay);
                let full = self.ready_rows >= self.batch_size
                    || (self.max_memory > 0 && self.ready_bytes >= self.max_memory);
                if ddl > 0 || full || (waited && !self.ready.is_empty()) {
                    return Ok(self.take(next));
                }
                Ok(None)
            }
            Change::Query { .. } if self.in_parts => Err(unfinished_parts()),
            // (a dump never pauses inside a transaction; were it to, nothing ends a part)
            Change::Idle | Change::Heartbeat { .. } | Change::Rotate { .. } if self.in_parts => Ok(None),
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
                let moved = self.last_end.as_ref().is_none_or(|(f, p)| *f != at.file || *p != at.pos);
                if !self.explicit_tx && !self.in_parts && self.open.is_empty() && moved {
                    self.last_commit = Some(at);
                }
                Ok(self.flush())
            }
        }
    }
}

#[cfg(test)]
mod tests;
