//! Following a MySQL/MariaDB binary log as a replica: the stream of events becomes a stream
//! of [`Change`]s (transaction boundaries, decoded row images, DDL, rotations), each with the
//! position to resume from after it. Pure Rust: the replica worker runs this on its reader
//! thread, which never calls PostgreSQL.
//!
//! Every event type is either handled or an error: nothing is skipped silently.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use mysql::binlog::events::{
    Event, EventData, OptionalMetaExtractor, RowsEventData, TableMapEvent,
};
use mysql::binlog::value::BinlogValue;
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{BinlogDumpFlags, BinlogRequest, Value};

use crate::conn::MysqlConn;
use crate::error::{Error, Result, SqlState};
use crate::gtid::GtidSet;
use crate::source::{client_opts, connect_error};

/// Read timeout of the binlog connection (the server sends a heartbeat after 100 ms of quiet).
pub const STREAM_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where to resume reading: after the last complete transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub file: String,
    pub pos: u64,
    /// MariaDB: the last transaction's GTID (domain-server-seq); MySQL: the executed GTID set
    /// up to here (uuid:1-n,…); None when the server has no GTIDs
    pub gtid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Insert,
    Update,
    Delete,
}

/// A column as the binlog describes it; names come from binlog_row_metadata=FULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: Option<String>,
    pub ty: ColumnType,
    pub meta: Vec<u8>,
    pub unsigned: bool,
    /// an ENUM's or SET's labels as the table map carries them (binlog_row_metadata = FULL),
    /// byte for byte: the truth where information_schema cannot show them (MariaDB shows
    /// characters outside the BMP as '?')
    pub labels: Option<Vec<String>>,
}

/// A table map, decoded once per table id and shared by its rows events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// (shared by every row event of the table)
    pub schema: Arc<str>,
    pub name: Arc<str>,
    pub columns: Vec<ColumnInfo>,
    /// primary key column indexes, from the metadata (empty if unknown or none)
    pub primary_key: Vec<usize>,
}

/// One row change: before image (update, delete) and after image (insert, update), with a
/// value per column (None where the image does not carry the column).
#[derive(Debug, Clone, PartialEq)]
pub struct BinlogRow {
    pub before: Option<Vec<Option<Value>>>,
    pub after: Option<Vec<Option<Value>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// a transaction starts; MariaDB gives its GTID here. `at`: where it starts (the end of
    /// its first event) with its own GTID (MySQL `uuid:n`, MariaDB `domain-server-seq`), what a
    /// table's copy point is compared with (`handover`)
    Begin { gtid: Option<String>, at: Position },
    /// rows of one table and kind, in binlog order
    Rows {
        table: Arc<TableInfo>,
        kind: RowKind,
        rows: Vec<BinlogRow>,
        timestamp: u32,
    },
    /// a statement outside row events (DDL), with its default schema; it is a transaction of
    /// its own: resume after it from `next`
    Query {
        schema: String,
        query: String,
        timestamp: u32,
        next: Position,
    },
    /// the transaction is committed; resume after it from `next`
    Commit { next: Position, timestamp: u32 },
    /// the server switched to a new binlog file
    Rotate { next: Position },
    /// nothing more for now (non-blocking read reached the end, or a heartbeat)
    Idle,
    /// a heartbeat of a stream asked by GTID set: the server has sent or skipped everything
    /// before `at` — after a restart it skips what the set holds, so only its heartbeats move
    /// the position past those transactions (the first, fake rotate names the file's start)
    Heartbeat { at: Position },
}

fn stream_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        SqlState::ConnectionFailure,
        format!("binlog stream: {what}"),
    )
    .detail(e.to_string())
}

/// An event that cannot be decoded: retrying would fail the same way, so the source stops.
fn decode_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        SqlState::InvalidBinaryRepresentation,
        format!("binlog event: {what}"),
    )
    .detail(e.to_string())
}

fn unsupported_event(raw: u8, name: &str, fix: &str) -> Error {
    Error::new(
        SqlState::FeatureNotSupported,
        format!("binlog event {raw} ({name}) is not supported"),
    )
    .hint(fix.to_string())
}

/// mysql_common 0.37.3 does not sign-extend a signed MEDIUMINT: -1 arrives as 16777215.
fn fix_int24(col: &ColumnInfo, v: Value) -> Value {
    match v {
        Value::Int(i)
            if col.ty == ColumnType::MYSQL_TYPE_INT24 && !col.unsigned && i >= 0x80_0000 =>
        {
            Value::Int(i - 0x100_0000)
        }
        other => other,
    }
}

/// A TIME(1) … TIME(4) value, which mysql_common 0.37.3 gets wrong when negative with a
/// fraction (its u32 fraction underflows: a panic in debug builds, a wrong value otherwise).
/// Layout: 3 bytes of hours, minutes, seconds (big endian, offset 0x800000), then 1 (TIME(1),
/// TIME(2)) or 2 (TIME(3), TIME(4)) bytes of fraction, borrowed from the integer part when
/// negative; as MySQL's my_time_packed_from_binary.
fn time2_short_fraction(bytes: &[u8], dec: u8) -> Value {
    let int = ((i64::from(bytes[0]) << 16) | (i64::from(bytes[1]) << 8) | i64::from(bytes[2]))
        - 0x80_0000;
    let (mut int, mut frac, unit) = if dec <= 2 {
        (int, i64::from(bytes[3]), 10_000)
    } else {
        (int, (i64::from(bytes[3]) << 8) | i64::from(bytes[4]), 100)
    };
    if int < 0 && frac > 0 {
        int += 1;
        frac -= if dec <= 2 { 0x100 } else { 0x1_0000 };
    }
    let mut packed = (int << 24) + frac * unit;
    let neg = packed < 0;
    packed = packed.abs();
    let hms = packed >> 24;
    let hours = ((hms >> 12) % (1 << 10)) as u32;
    Value::Time(
        neg,
        hours / 24,
        (hours % 24) as u8,
        ((hms >> 6) % (1 << 6)) as u8,
        (hms % (1 << 6)) as u8,
        (packed % (1 << 24)) as u32,
    )
}

/// An ENUM's or SET's labels, in order.
type Labels = Vec<String>;

/// The ENUM and SET labels of the table map's optional metadata (FULL), in column order of
/// each kind; left out when not UTF-8 (a label in another character set: the model's stand).
fn table_map_labels(tme: &TableMapEvent<'_>, columns: &mut [ColumnInfo]) {
    use mysql::binlog::events::OptionalMetadataField as F;
    let text = |raw: &[u8]| String::from_utf8(raw.to_vec()).ok();
    // per column: its labels, when the table map has them
    let (mut enums, mut sets): (Vec<Option<Labels>>, Vec<Option<Labels>>) = (vec![], vec![]);
    for field in tme.iter_optional_meta().flatten() {
        match field {
            F::EnumStrValue(v) => enums.extend(v.iter_values().flatten().map(|e| {
                e.values().iter().map(|x| text(x.value_raw())).collect::<Option<Vec<_>>>()
            })),
            F::SetStrValue(v) => sets.extend(v.iter_values().flatten().map(|e| {
                e.values().iter().map(|x| text(x.value_raw())).collect::<Option<Vec<_>>>()
            })),
            _ => {}
        }
    }
    let (mut enums, mut sets) = (enums.into_iter(), sets.into_iter());
    for c in columns {
        c.labels = match c.ty {
            ColumnType::MYSQL_TYPE_ENUM => enums.next().flatten(),
            ColumnType::MYSQL_TYPE_SET => sets.next().flatten(),
            _ => continue,
        };
    }
}

fn table_info(tme: &TableMapEvent<'_>) -> Result<TableInfo> {
    let ex = OptionalMetaExtractor::new(tme.iter_optional_meta())
        .map_err(|e| decode_err("table map metadata", e))?;
    let mut names = ex.iter_column_name();
    let mut sign = ex.iter_signedness();
    let mut columns = Vec::with_capacity(tme.columns_count() as usize);
    for i in 0..tme.columns_count() as usize {
        let ty = tme
            .get_column_type(i)
            .map_err(|e| decode_err("column type", e))?
            .ok_or_else(|| {
                decode_err(
                    "column type",
                    format!("column {i} of {} has none", tme.table_name()),
                )
            })?;
        // signedness is listed for numeric columns only
        let unsigned = if ty.is_numeric_type() {
            sign.next().unwrap_or(false)
        } else {
            false
        };
        let name = names
            .next()
            .and_then(|n| n.ok())
            .map(|n| n.name().into_owned());
        columns.push(ColumnInfo {
            name,
            ty,
            meta: tme.get_column_metadata(i).unwrap_or(&[]).to_vec(),
            unsigned,
            labels: None,
        });
    }
    table_map_labels(tme, &mut columns);
    let primary_key = ex
        .iter_primary_key()
        .filter_map(|k| k.ok())
        .map(|k| k as usize)
        .collect();
    Ok(TableInfo {
        schema: tme.database_name().into(),
        name: tme.table_name().into(),
        columns,
        primary_key,
    })
}

fn decode_rows(table: &TableInfo, rows: &RowsEventData<'_>) -> Result<Vec<BinlogRow>> {
    use mysql::mysql_common::io::ParseBuf;
    let images = [rows.columns_before_image(), rows.columns_after_image()];
    let mut buf = ParseBuf(rows.rows_data());
    let mut out = Vec::new();
    while !buf.is_empty() {
        let mut change = BinlogRow {
            before: None,
            after: None,
        };
        for (which, present) in images.iter().enumerate() {
            let Some(present) = present else { continue };
            let n_present = present.count_ones();
            let nullmap: &[u8] = buf
                .checked_eat(n_present.div_ceil(8))
                .ok_or_else(|| decode_err("rows event", "truncated null bitmap"))?;
            let mut values = Vec::with_capacity(table.columns.len());
            let mut k = 0usize;
            for (i, col) in table.columns.iter().enumerate() {
                if !present[i] {
                    values.push(None);
                    continue;
                }
                let is_null = nullmap[k / 8] & (1 << (k % 8)) != 0;
                k += 1;
                if is_null {
                    values.push(Some(Value::NULL));
                    continue;
                }
                if let (ColumnType::MYSQL_TYPE_TIME2, Some(&dec @ 1..=4)) =
                    (col.ty, col.meta.first())
                {
                    let len = if dec <= 2 { 4 } else { 5 };
                    let bytes = buf
                        .checked_eat(len)
                        .ok_or_else(|| decode_err("rows event", "truncated TIME value"))?;
                    values.push(Some(time2_short_fraction(bytes, dec)));
                    continue;
                }
                let v: BinlogValue = buf
                    .parse((col.ty, col.meta.as_slice(), col.unsigned, false))
                    .map_err(|e| {
                        decode_err(
                            &format!("decoding {}.{} column {i}", table.schema, table.name),
                            e,
                        )
                    })?;
                let v = match v {
                    BinlogValue::Value(v) => fix_int24(col, v),
                    // MySQL's binary JSON: its text, as the copy reads it
                    BinlogValue::Jsonb(j) => Value::Bytes(
                        crate::mysql_json::to_text(j)
                            .map_err(|e| {
                                e.detail(format!("{}.{} column {i}", table.schema, table.name))
                            })?
                            .into_bytes(),
                    ),
                    BinlogValue::JsonDiff(_) => {
                        return Err(unsupported_event(
                            39,
                            "PARTIAL_UPDATE_ROWS",
                            "Set binlog_row_value_options = '' on the server (no partial JSON updates); what was logged as a JSON diff cannot be applied: copy the source again with init_replica.",
                        ))
                    }
                };
                values.push(Some(v));
            }
            if which == 0 {
                change.before = Some(values)
            } else {
                change.after = Some(values)
            }
        }
        out.push(change);
    }
    Ok(out)
}

/// MariaDB's GTID event: seq_no (8 bytes), domain id (4), flags (1); the server id is the
/// event header's.
pub fn mariadb_gtid(data: &[u8], server_id: u32) -> Option<String> {
    if data.len() < 13 {
        return None;
    }
    let seq = u64::from_le_bytes(data[0..8].try_into().ok()?);
    let domain = u32::from_le_bytes(data[8..12].try_into().ok()?);
    Some(format!("{domain}-{server_id}-{seq}"))
}

/// Error 1236 (the server cannot send from that position) means the binlog was purged or the
/// position is wrong: never skip ahead, say so.
fn dump_error(from: &Position, e: mysql::Error) -> Error {
    match e {
        mysql::Error::MySqlError(m) if m.code == 1236 => {
            Error::new(SqlState::ObjectNotInPrerequisiteState, format!("binlog position {}:{} is not on the server", from.file, from.pos))
                .detail(m.message)
                .hint("The binlog was purged past the stored position (or the server was reset): copy the source again with init_replica.")
        }
        mysql::Error::MySqlError(m) if m.code == 4052 || m.message.contains("same server_uuid/server_id") => {
            Error::new(SqlState::ObjectNotInPrerequisiteState, "another replica uses this source's server_id")
                .detail(m.message)
                .hint("Give the source a server_id no other replica of that MySQL server uses: SELECT chameleon.alter_source(..., server_id => ...).")
        }
        other => stream_err("reading", other),
    }
}

/// Reads a source's binlog from a position.
pub struct BinlogReader {
    stream: mysql::BinlogStream,
    /// each table map's bytes and what they decode to
    tables: HashMap<u64, (Vec<u8>, Arc<TableInfo>)>,
    file: String,
    /// MariaDB: the last transaction's GTID (MySQL's position text comes from `gtid_set`)
    gtid: Option<String>,
    /// MySQL: the executed GTID set, moved forward by each transaction's GTID event
    gtid_set: Option<GtidSet>,
    /// the GTID of the transaction being read (MySQL `uuid:n`, MariaDB `domain-server-seq`)
    own_gtid: Option<String>,
    /// the events of a compressed transaction (TRANSACTION_PAYLOAD), with the end position
    /// of the payload event that carried them
    pending: VecDeque<(Event, u32)>,
    seen_fde: bool,
    /// the server checksums its events (binlog_checksum = CRC32)
    checksums: bool,
    /// where this stream started, for error messages
    from: Position,
    /// the server ends a non-blocking stream at the end of its binlog; a blocking stream only
    /// ends when the connection does
    non_block: bool,
    /// the stream was asked by GTID set (MySQL): the server skips what the set holds
    by_gtid: bool,
    /// how the server names the CHECK constraints a statement leaves unnamed
    naming: crate::check::Naming,
}

impl BinlogReader {
    /// Connects as replica `server_id` and streams from `from`. With `non_block` the server
    /// ends the stream at the end of the last binlog (used by tests); otherwise it waits.
    pub fn open(c: &MysqlConn, server_id: u32, from: &Position, non_block: bool) -> Result<Self> {
        // heartbeats come every 100 ms of quiet, so 10 s of silence means a dead link (a cut network
        // would otherwise hold the stream until the general 60 s read timeout)
        let opts =
            mysql::OptsBuilder::from_opts(client_opts(c)?).read_timeout(Some(STREAM_READ_TIMEOUT));
        let mut conn = mysql::Conn::new(opts).map_err(|e| connect_error(c, e))?;
        // real MariaDB GTID events instead of rewritten dummies
        conn.query_drop("SET @mariadb_slave_capability = 4")
            .map_err(|e| stream_err("capability", e))?;
        // a heartbeat after 100 ms without events: the reader flushes what is committed (a quiet
        // stream is never left waiting), the stream stays inside the read timeout, and a dead
        // connection shows quickly (nanoseconds)
        // (MySQL 8.0.26+ reads the source_ names, older servers and MariaDB the master_ ones)
        conn.query_drop(
            "SET @master_heartbeat_period = 100000000, @source_heartbeat_period = 100000000,
                 @source_binlog_checksum = 'ALL'",
        )
        .map_err(|e| stream_err("heartbeat", e))?;
        // the first, fake rotate comes before the format description, so the client cannot
        // tell its 4 checksum bytes from the file name: the server's setting can
        let checksum: Option<String> = conn
            .query_first("SELECT @@global.binlog_checksum")
            .map_err(|e| stream_err("binlog_checksum", e))?;
        let checksums = checksum.is_some_and(|c| !c.eq_ignore_ascii_case("NONE"));
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| stream_err("version", e))?;
        let naming = crate::check::Naming::of_version(&version.unwrap_or_default());
        let gtid_set = from
            .gtid
            .as_deref()
            .filter(|g| crate::gtid::is_mysql_set(g))
            .map(GtidSet::parse)
            .transpose()?;
        // MySQL with GTIDs: ask for what the executed set lacks, not for a file and offset, so
        // that another server of the same topology (a failover) serves the same stream
        let gtid_mode: Option<String> = conn
            .query_first("SELECT @@global.gtid_mode")
            .unwrap_or(None);
        let sids = gtid_set
            .as_ref()
            .filter(|s| !s.is_empty() && gtid_mode.as_deref() == Some("ON"))
            .and_then(GtidSet::sids);
        let by_gtid = sids.is_some();
        let mut req = match sids {
            Some(sids) => BinlogRequest::new(server_id)
                .with_use_gtid(true)
                .with_sids(sids)
                .with_pos(4u64),
            None => BinlogRequest::new(server_id)
                .with_filename(from.file.clone().into_bytes())
                .with_pos(from.pos),
        };
        if non_block {
            req = req.with_flags(BinlogDumpFlags::BINLOG_DUMP_NON_BLOCK);
        }
        let stream = conn
            .get_binlog_stream(req)
            .map_err(|e| dump_error(from, e))?;
        Ok(BinlogReader {
            stream,
            tables: HashMap::new(),
            file: from.file.clone(),
            gtid: from.gtid.clone(),
            gtid_set,
            own_gtid: None,
            pending: VecDeque::new(),
            seen_fde: false,
            checksums,
            from: from.clone(),
            non_block,
            by_gtid,
            naming,
        })
    }

    /// How the server names the CHECK constraints a statement leaves unnamed.
    pub fn naming(&self) -> crate::check::Naming {
        self.naming
    }

    fn position(&self, log_pos: u32) -> Position {
        Position {
            file: self.file.clone(),
            pos: u64::from(log_pos),
            gtid: self.gtid_text(),
        }
    }

    /// Where the transaction beginning here starts, with its own GTID.
    fn start(&self, log_pos: u32) -> Position {
        Position {
            file: self.file.clone(),
            pos: u64::from(log_pos),
            gtid: self.own_gtid.clone(),
        }
    }

    /// The position's GTID text: MySQL's executed set, or MariaDB's last GTID.
    fn gtid_text(&self) -> Option<String> {
        match &self.gtid_set {
            Some(set) => Some(set.to_string()),
            None => self.gtid.clone(),
        }
    }

    /// The next change; `Idle` when a non-blocking stream ended, an error when a blocking one did.
    pub fn next_change(&mut self) -> Result<Change> {
        loop {
            let Some((ev, end)) = self.next_event()? else {
                return Ok(Change::Idle);
            };
            if let Some(change) = self.change_of(&ev, end)? {
                return Ok(change);
            }
        }
    }

    /// The next event: those of a compressed transaction first (with the end position of the
    /// payload event that carried them), then the stream's; None when a non-blocking stream
    /// ended.
    fn next_event(&mut self) -> Result<Option<(Event, Option<u32>)>> {
        if let Some((ev, end)) = self.pending.pop_front() {
            return Ok(Some((ev, Some(end))));
        }
        match self.stream.next() {
            Some(ev) => Ok(Some((ev.map_err(|e| dump_error(&self.from, e))?, None))),
            None if self.non_block => Ok(None),
            None => Err(stream_err(
                "reading",
                "the server closed the connection (a restart or a kill)",
            )),
        }
    }

    /// binlog_transaction_compression: a transaction's events, zstd-compressed in one event,
    /// queued to be read next, each ending where the payload event ends.
    fn queue_payload(
        &mut self,
        p: &mysql::binlog::events::TransactionPayloadEvent<'_>,
        log_pos: u32,
    ) -> Result<()> {
        let mut reader = mysql::mysql_common::binlog::EventStreamReader::new(
            mysql::binlog::BinlogVersion::Version4,
        );
        let mut payload = p
            .decompressed()
            .map_err(|e| decode_err("decompressing a transaction", e))?;
        while let Some(inner) = reader
            .read_decompressed(&mut payload)
            .map_err(|e| decode_err("reading a compressed transaction", e))?
        {
            self.pending.push_back((inner, log_pos));
        }
        Ok(())
    }

    /// A heartbeat: the server is idle (which also lets the reader thread notice that its
    /// worker has gone). A stream asked by GTID set also learns where the server stands: a
    /// dump waits, and skips, only between transactions.
    fn heartbeat(&self, file: &[u8], log_pos: u32) -> Change {
        if !self.by_gtid || log_pos == 0 || file.is_empty() {
            return Change::Idle;
        }
        Change::Heartbeat {
            at: Position {
                file: String::from_utf8_lossy(file).into_owned(),
                pos: u64::from(log_pos),
                gtid: self.gtid_text(),
            },
        }
    }

    /// A QUERY event: a transaction's boundary, or a statement (DDL).
    fn query_change(&self, q: &mysql::binlog::events::QueryEvent<'_>, log_pos: u32, ts: u32) -> Change {
        let query = q.query().into_owned();
        let trimmed = query.trim().to_ascii_uppercase();
        if trimmed == "BEGIN" || trimmed.starts_with("XA START") {
            return Change::Begin { gtid: None, at: self.start(log_pos) };
        }
        if trimmed == "COMMIT" || trimmed.starts_with("XA END") || trimmed.starts_with("XA COMMIT") {
            return Change::Commit { next: self.position(log_pos), timestamp: ts };
        }
        // a statement (DDL): it is its own transaction, resume after it
        let next = self.position(log_pos);
        Change::Query { schema: q.schema().into_owned(), query, timestamp: ts, next }
    }

    /// What an event is to the reader; None for what carries nothing to apply.
    fn change_of(&mut self, ev: &Event, end: Option<u32>) -> Result<Option<Change>> {
        let header = ev.header();
        let raw = header.event_type_raw();
        let ts = header.timestamp();
        let log_pos = end.unwrap_or(header.log_pos());
        match raw {
            // MySQL 8.0.26+: HEARTBEAT_LOG_EVENT_V2, the server is idle
            // HEARTBEAT_LOG_EVENT: the server is idle; its header holds the position the dump
            // has reached and its body the file's name
            27 if !self.non_block => return Ok(Some(self.heartbeat(ev.data(), header.log_pos()))),
            27 => return Ok(None),
            // MySQL 8.0.26+: HEARTBEAT_LOG_EVENT_V2 (its position is not read: the servers
            // tested send version 1 to this client)
            41 if !self.non_block => return Ok(Some(Change::Idle)),
            41 => return Ok(None),
            // MariaDB: ANNOTATE_ROWS (inside a transaction) carries nothing to apply
            160 => return Ok(None),
            // MariaDB: BINLOG_CHECKPOINT and GTID_LIST, written between transactions (a
            // checkpoint may come after the last one, well after a rotation): nothing to
            // apply, but the resume point moves past them, as past a rotation
            161 | 163 if log_pos > 0 && end.is_none() => {
                return Ok(Some(Change::Rotate {
                    next: self.position(log_pos),
                }))
            }
            161 | 163 => return Ok(None),
            162 => {
                self.gtid = mariadb_gtid(ev.data(), header.server_id());
                self.own_gtid = self.gtid.clone();
                return Ok(Some(Change::Begin { gtid: self.gtid.clone(), at: self.start(log_pos) }));
            }
            164 => return Err(unsupported_event(raw, "START_ENCRYPTION", "Binlog encryption is not supported: turn encrypt_binlog off for the replicated server.")),
            165..=171 => return Err(unsupported_event(raw, "compressed event", "Set log_bin_compress = OFF on the server.")),
            _ => {}
        }
        let data = ev
            .read_data()
            .map_err(|e| decode_err("decoding an event", e))?;
        let Some(data) = data else {
            return Err(unsupported_event(
                raw,
                "unknown",
                "Report this event type; chameleon stops rather than skip it.",
            ));
        };
        match data {
            EventData::FormatDescriptionEvent(_) => self.seen_fde = true,
            EventData::RotateEvent(r) => {
                let mut name = r.name_raw().to_vec();
                // the first, fake rotate arrives before the format description: MariaDB's
                // name still carries the 4 checksum bytes (MySQL's does not); it names the
                // file asked for
                if !self.seen_fde && header.log_pos() == 0 {
                    let asked = self.from.file.as_bytes();
                    if !asked.is_empty() && name.starts_with(asked) {
                        name.truncate(asked.len());
                    } else if asked.is_empty() && self.checksums && name.len() > 4 {
                        name.truncate(name.len() - 4);
                    }
                }
                self.file = String::from_utf8_lossy(&name).into_owned();
                self.tables.clear();
                return Ok(Some(Change::Rotate { next: Position { file: self.file.clone(), pos: r.position(), gtid: self.gtid_text() } }));
            }
            EventData::TableMapEvent(tme) => {
                // a table's map comes before each statement on it, the same each time: decoded
                // once (a change to the table gives other bytes)
                let known = self.tables.get(&tme.table_id()).is_some_and(|(raw, _)| raw[..] == *ev.data());
                if !known {
                    let info = table_info(&tme)?;
                    self.tables.insert(tme.table_id(), (ev.data().to_vec(), Arc::new(info)));
                }
            }
            EventData::RowsEvent(rows) => {
                let table = self.tables.get(&rows.table_id()).map(|(_, t)| t.clone()).ok_or_else(|| decode_err("rows event", "no table map before it"))?;
                let kind = match &rows {
                    RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => RowKind::Insert,
                    RowsEventData::UpdateRowsEvent(_) | RowsEventData::UpdateRowsEventV1(_) => RowKind::Update,
                    RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => RowKind::Delete,
                    RowsEventData::PartialUpdateRowsEvent(_) => {
                        return Err(unsupported_event(raw, "PARTIAL_UPDATE_ROWS", "Set binlog_row_value_options = '' on the server (no partial JSON updates); what was logged as a JSON diff cannot be applied: copy the source again with init_replica."))
                    }
                };
                let decoded = decode_rows(&table, &rows)?;
                return Ok(Some(Change::Rows { table, kind, rows: decoded, timestamp: ts }));
            }
            EventData::XidEvent(_) => return Ok(Some(Change::Commit { next: self.position(log_pos), timestamp: ts })),
            EventData::QueryEvent(q) => return Ok(Some(self.query_change(&q, log_pos, ts))),
            // the server stopped cleanly: the stream goes on with the next file's rotate
            EventData::StopEvent => return Ok(None),
            // flagged by the server as safe for a replica to ignore
            EventData::IgnorableEvent(_) => return Ok(None),
            EventData::IncidentEvent(_) => {
                return Err(Error::new(SqlState::ObjectNotInPrerequisiteState, "the binlog records an incident: changes may be missing from it")
                    .hint("The server lost changes it could not log; copy the source again with init_replica."))
            }
            // MySQL: a transaction's GTID, added to the executed set its commit moves to
            EventData::GtidEvent(g) => {
                let sid = crate::types::uuid_text(&g.sid());
                self.gtid_set.get_or_insert_with(GtidSet::default).insert(&sid, g.gno());
                self.own_gtid = Some(format!("{sid}:{}", g.gno()));
                return Ok(None);
            }
            // GTIDs off, the set of earlier files, the statement text of rows events
            EventData::AnonymousGtidEvent(_) => {
                self.own_gtid = None;
                return Ok(None);
            }
            EventData::PreviousGtidsEvent(_) | EventData::RowsQueryEvent(_) => return Ok(None),
            // binlog_transaction_compression: the transaction's events, zstd-compressed in one
            EventData::TransactionPayloadEvent(p) => {
                self.queue_payload(&p, log_pos)?;
                return Ok(None);
            }
            other => {
                return Err(unsupported_event(raw, &format!("{:?}", header.event_type()), &format!(
                    "This event ({}) belongs to statement-based replication; use binlog_format = ROW.",
                    format!("{other:?}").chars().take(40).collect::<String>()
                )))
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_gtid_event_body() {
        let mut body = 42u64.to_le_bytes().to_vec();
        body.extend_from_slice(&7u32.to_le_bytes());
        body.push(0);
        assert_eq!(mariadb_gtid(&body, 1).as_deref(), Some("7-1-42"));
        assert_eq!(mariadb_gtid(&body[..5], 1), None);
    }

    #[test]
    fn negative_times_with_short_fractions() {
        // -12:30:00.25 as TIME(2): 0x800000 - (12 << 12 | 30 << 6) - 1 (borrow), fraction 0x100 - 25
        let int = 0x80_0000 - ((12 << 12) | (30 << 6)) - 1;
        let bytes = [
            (int >> 16) as u8,
            (int >> 8) as u8,
            int as u8,
            (0x100 - 25) as u8,
        ];
        assert_eq!(
            time2_short_fraction(&bytes, 2),
            Value::Time(true, 0, 12, 30, 0, 250_000)
        );
        // 838:59:59.9 as TIME(1), positive: no borrow
        let int = 0x80_0000 + ((838 << 12) | (59 << 6) | 59);
        let bytes = [(int >> 16) as u8, (int >> 8) as u8, int as u8, 90];
        assert_eq!(
            time2_short_fraction(&bytes, 1),
            Value::Time(false, 34, 22, 59, 59, 900_000)
        );
        // -00:00:01.0012 as TIME(4): two bytes of fraction
        let int = 0x80_0000 - 1 - 1;
        let f = 0x1_0000 - 12;
        let bytes = [
            (int >> 16) as u8,
            (int >> 8) as u8,
            int as u8,
            (f >> 8) as u8,
            f as u8,
        ];
        assert_eq!(
            time2_short_fraction(&bytes, 4),
            Value::Time(true, 0, 0, 0, 1, 1_200)
        );
    }

    #[test]
    fn signed_mediumint_is_sign_extended() {
        let col = ColumnInfo {
            name: None,
            ty: ColumnType::MYSQL_TYPE_INT24,
            meta: vec![],
            unsigned: false,
            labels: None,
        };
        assert_eq!(fix_int24(&col, Value::Int(16_777_215)), Value::Int(-1));
        assert_eq!(
            fix_int24(&col, Value::Int(8_388_608)),
            Value::Int(-8_388_608)
        );
        assert_eq!(
            fix_int24(&col, Value::Int(8_388_607)),
            Value::Int(8_388_607)
        );
        let unsigned = ColumnInfo {
            unsigned: true,
            ..col
        };
        assert_eq!(
            fix_int24(&unsigned, Value::Int(16_777_215)),
            Value::Int(16_777_215)
        );
    }
}
