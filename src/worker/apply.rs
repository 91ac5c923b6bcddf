//! Applying batches to the destination. One entry point, `apply`, for a batch the reader
//! prepared, whichever path it was prepared for: direct (stored and applied in one
//! transaction, no log rows) or two-step (stored with its log rows, then replayed from its plan
//! or, with a schema change, from its log rows). `replay` applies a batch stored earlier.
//! Rows that cannot be applied are set aside with their SQLSTATE and reason; the rest goes in.

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use chameleon_core::batch::big::BigValue;
use chameleon_core::batch::{approx_bytes, Batch, Image, LogColumns};
use chameleon_core::event::EventKind;
use chameleon_core::replay::{plan, plan_batch, ReplayEvent, Statement, Target, Unit};
use chameleon_core::schema_change::DdlEvent;
use chameleon_core::{Error, Result, SqlState};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use serde_json::Value as Json;

use super::backend::{as_role, in_own_memory, subtransaction, tx, tx_or_abandon, Failure};
use super::store::{store_end, store_in_tx};
use super::tables::destination_shape;
use crate::catalog::batches::{Replayed, StoredLogRow};
use crate::catalog::discarded::{set_aside, SetAside};
use crate::catalog::{self, query_opt, SourceConfig};

/// How a prepared batch is to be applied.
#[allow(clippy::large_enum_variant)] // one value per batch, moved once
pub enum Work {
    /// chameleon.direct_replay with replay not paused: stored and replayed in one transaction,
    /// so no log rows are made
    Direct(Vec<Unit>),
    /// stored with its log rows, then replayed from the plan (None: the batch holds a
    /// statement and is replayed from its log rows)
    Stored {
        rows: LogColumns,
        units: Option<Vec<Unit>>,
    },
}

/// Stores and (unless replay is paused) applies a prepared batch. False when a schema change
/// stopped the source.
pub fn apply(src: &SourceConfig, batch: &Batch, work: Work, paused: bool, used: &Used) -> bool {
    match work {
        Work::Direct(mut units) => {
            // the batch row, the changes and the position commit together: exactly once, as
            // the two-step path
            tx(|| {
                let id = store_in_tx(src, batch, LogColumns::default())?;
                let (applied, skipped) = run_units(src, id, &mut units)?;
                finish(src, id, Replayed { applied, ddl: 0, skipped }, Some(i64::from(batch.last_timestamp())))
            });
            let_go(used, units);
            true
        }
        Work::Stored { rows, units } => {
            let id = tx(|| store_in_tx(src, batch, rows));
            match units {
                _ if paused => true,
                Some(mut units) => {
                    tx(|| {
                        let (applied, skipped) = run_units(src, id, &mut units)?;
                        let last = Some(i64::from(batch.last_timestamp()));
                        finish(src, id, Replayed { applied, ddl: 0, skipped }, last)
                    });
                    let_go(used, units);
                    true
                }
                None => replay(src, id),
            }
        }
    }
}

/// A transaction too big for memory, taken part by part in one PostgreSQL transaction that
/// commits with its batch row and the resume position at MySQL's commit, the last part:
/// exactly once, as a batch. Direct parts are applied (each planned as a batch); on the
/// two-step path they are stored as log rows and the batch is then replayed from them, a page
/// at a time, unless replay is paused. `next` gives the following parts: None when the worker
/// must leave, Err when the stream broke — either abandons the transaction, which is read
/// again from the stored position (the Err is returned). Ok(false) when a schema change
/// stopped the source.
pub fn apply_parts(
    src: &SourceConfig,
    first: (Batch, Work),
    paused: bool,
    used: &Used,
    mut next: impl FnMut() -> Result<Option<(Batch, Work)>>,
) -> Result<bool> {
    let stored = matches!(first.1, Work::Stored { .. });
    let mut broke = None;
    let taken = tx_or_abandon(|| {
        // the batch row first (rows set aside name it); its end comes with the commit
        let (id, log_table) = catalog::batches::insert_batch(src, &first.0.end, stored)?;
        let (mut done, mut changed, mut last_ts) = (Replayed::default(), HashMap::new(), 0);
        let (mut batch, mut work) = first;
        loop {
            match (work, &log_table) {
                (Work::Direct(mut units), None) => {
                    let (applied, skipped) = in_own_memory(|| run_units(src, id, &mut units))?;
                    let_go(used, units);
                    done.applied += applied;
                    done.skipped += skipped;
                    last_ts = last_ts.max(batch.last_timestamp());
                }
                (Work::Stored { rows, .. }, Some(table)) => {
                    let newest = rows.timestamps.iter().copied().max().unwrap_or(0);
                    last_ts = last_ts.max(u32::try_from(newest).unwrap_or(0));
                    in_own_memory(|| catalog::batches::insert_log_rows(table, id, rows))?;
                }
                _ => return Err(Error::new(SqlState::Internal, "the parts of a transaction came prepared for both replay paths")),
            }
            for (table, n) in &batch.changed {
                *changed.entry(table.clone()).or_insert(0u64) += n;
            }
            if !batch.continues {
                catalog::batches::set_end(id, &batch.end)?;
                store_end(src, &batch.end, last_ts, &changed.into_iter().collect::<Vec<_>>())?;
                if !stored {
                    finish(src, id, done, Some(i64::from(last_ts)))?;
                }
                return Ok(Some(id));
            }
            (batch, work) = match next() {
                Ok(Some(part)) => part,
                Ok(None) => return Ok(None),
                Err(e) => {
                    broke = Some(e);
                    return Ok(None);
                }
            };
        }
    });
    if let Some(e) = broke {
        return Err(e);
    }
    Ok(match taken {
        Some(id) if stored && !paused => replay(src, id),
        _ => true,
    })
}

/// Log rows as replay plans them, each image keyed as its table is.
fn replay_events(rows: Vec<StoredLogRow>, targets: &HashMap<String, Target>) -> Vec<(Arc<str>, ReplayEvent)> {
    rows.into_iter()
        .map(|e| {
            let key = targets.get(&e.table).map_or(&[][..], |t| t.key.as_slice());
            let image = |j: &Json| Image::from_json(j, key);
            let event = ReplayEvent {
                kind: e.kind,
                data: e.data.as_ref().map(image).unwrap_or_default(),
                identity: e.identity.as_ref().map(image),
                big: None,
            };
            (e.table.into(), event)
        })
        .collect()
}

/// Replays a stored batch from its log rows in one transaction: its events applied set-based
/// (see `chameleon_core::replay::plan_batch`) in runs of at most chameleon.max_batch_memory,
/// read a page at a time, a schema change run in its place among them, its log rows deleted,
/// the batch marked replayed. A schema change that cannot be replicated is set aside too, and
/// stops the source in `error` unless its on_error is 'skip'. Returns false when the source
/// stopped.
pub fn replay(src: &SourceConfig, batch_id: i64) -> bool {
    tx(|| {
        let limit = crate::settings::MAX_BATCH_MEMORY.get().max(1024) as usize * 1024;
        let mut done = Replayed::default();
        let (mut last_ts, mut running, mut after) = (None, true, 0);
        // the row events since the last schema change, planned together against the
        // destination as it is at this point
        let mut run: Vec<StoredLogRow> = Vec::new();
        let mut bytes = 0;
        let apply_run = |run: &mut Vec<StoredLogRow>, done: &mut Replayed| -> Result<()> {
            if run.is_empty() {
                return Ok(());
            }
            let rows = std::mem::take(run);
            let shape = destination_shape(src, &rows)?;
            let events = replay_events(rows, &shape.targets);
            let mut units = plan_batch(events, &shape.targets, &shape.linked);
            let (a, s) = in_own_memory(|| run_units(src, batch_id, &mut units))?;
            done.applied += a;
            done.skipped += s;
            Ok(())
        };
        loop {
            let page = in_own_memory(|| catalog::batches::log_rows_after(batch_id, after, 1000))?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in page {
                last_ts = e.timestamp.or(last_ts);
                if e.kind == EventKind::Ddl {
                    apply_run(&mut run, &mut done)?;
                    bytes = 0;
                    done.ddl += 1;
                    if !replay_statement(src, batch_id, &e)? {
                        done.skipped += 1;
                        running = src.skip_errors;
                    }
                    continue;
                }
                bytes += e.data.as_ref().map_or(0, approx_bytes) + e.identity.as_ref().map_or(0, approx_bytes);
                run.push(e);
                if bytes >= limit {
                    apply_run(&mut run, &mut done)?;
                    bytes = 0;
                }
            }
        }
        apply_run(&mut run, &mut done)?;
        finish(src, batch_id, done, last_ts)?;
        Ok(running)
    })
}

/// Replays the stored batches not yet replayed, in order; false when a schema change stopped
/// the source.
pub fn replay_pending(src: &SourceConfig) -> bool {
    tx(|| catalog::batches::pending_batches(src.id))
        .into_iter()
        .all(|batch| replay(src, batch))
}

/// The end of a replay: log rows deleted, the batch marked, the replay time stored.
fn finish(src: &SourceConfig, batch_id: i64, done: Replayed, last_ts: Option<i64>) -> Result<()> {
    catalog::batches::mark_replayed(batch_id, done)?;
    catalog::sources::write_replay_time(src.id, last_ts)
}

/// Where the main thread sends applied plans to be freed: the reader thread, which made them.
/// A plan's row images are many small allocations: freeing them took the main thread a fifth
/// of a replay, and mimalloc frees a block fastest on the thread that made it, which then
/// reuses the pages (freed on a thread of their own, the reader kept taking fresh pages: a
/// tenth of its time in page faults, bench/replica with PERF=1).
pub type Used = Sender<Vec<Unit>>;

fn let_go(used: &Used, units: Vec<Unit>) {
    // (a reader already gone takes nothing: they are freed here, as the session ends)
    let _ = used.send(units);
}

/// The roles replay acts as on the destination: each table's owner, and the schema's owner
/// for tables that do not exist yet. The worker is a superuser; a trigger, a default or an
/// index expression on a destination table runs with the privileges of whoever changes the
/// table, so changing it as its owner keeps its owner from borrowing the worker's (as
/// PostgreSQL's own logical replication does).
struct Owners {
    tables: HashMap<String, pg_sys::Oid>,
    schema: pg_sys::Oid,
}

impl Owners {
    fn read(src: &SourceConfig) -> Result<Owners> {
        let schema_owner = query_opt::<pg_sys::Oid>(
            "SELECT nspowner FROM pg_namespace WHERE nspname = $1",
            &[src.dest_schema.as_str().into()],
        );
        let tables = match schema_owner {
            None => HashMap::new(),
            Some(_) => Spi::connect(|c| {
                c.select(
                    "SELECT c.relname::text, c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
                    None,
                    &[src.dest_schema.as_str().into()],
                )?
                .map(|r| Ok::<_, pgrx::spi::SpiError>((r.get::<String>(1)?.unwrap_or_default(), r.get::<pg_sys::Oid>(2)?.unwrap_or_default())))
                .collect::<std::result::Result<HashMap<_, _>, _>>()
            })
            .map_err(crate::error::catalogue("reading the destination tables' owners"))?,
        };
        Ok(Owners {
            tables,
            schema: schema_owner.unwrap_or(pg_sys::BOOTSTRAP_SUPERUSERID.into()),
        })
    }

    fn of(&self, table: &str) -> pg_sys::Oid {
        self.tables.get(table).copied().unwrap_or(self.schema)
    }
}

/// Runs the statements, each with its JSON parameter and its big values (`$2`, …), as
/// `owner`, in one subtransaction: all of them, or none (SQLSTATE and message).
fn try_all(owner: pg_sys::Oid, statements: &[(&str, &str, &[DatumWithOid])]) -> std::result::Result<(), Failure> {
    subtransaction(|| {
        as_role(owner, || {
            for (sql, param, big) in statements {
                // json, whose datum is its text: PostgreSQL does not parse it to check it (json_in;
                // serde_json wrote it), json_populate_record(set) reads it as it goes (no jsonb tree)
                let mut args: Vec<DatumWithOid> = Vec::with_capacity(1 + big.len());
                // SAFETY: a text datum is a json datum (the same varlena)
                args.push(unsafe { DatumWithOid::new(*param, pg_sys::JSONOID) });
                // SAFETY: the same datums again (they live in the caller's memory context)
                args.extend(big.iter().map(|d| unsafe { DatumWithOid::new_from_datum(d.datum(), d.oid()) }));
                Spi::run_with_args(sql, &args).map_err(|e| ("XX000".to_string(), e.to_string()))?;
            }
            Ok(())
        })
    })
}

/// Big values as PostgreSQL datums (bytea, text) in the current memory context; each Rust copy
/// goes as soon as PostgreSQL has its own.
fn big_datums(values: Vec<BigValue>) -> Vec<DatumWithOid<'static>> {
    values
        .into_iter()
        .map(|v| match v {
            BigValue::Bytes(b) => DatumWithOid::from(b.as_slice()),
            BigValue::Text(t) => DatumWithOid::from(t.as_str()),
        })
        .collect()
}

/// Runs a batch's planned units: a net effect that fails (a constraint met an intermediate
/// state) is replayed in binlog order instead, row by row where needed. Returns (rows
/// applied, rows set aside).
fn run_units(src: &SourceConfig, batch_id: i64, units: &mut [Unit]) -> Result<(i64, i64)> {
    let (mut applied, mut skipped) = (0i64, 0i64);
    let owners = Owners::read(src)?;
    for unit in units {
        let (table, mut fallback, statements) = match unit {
            Unit::Net {
                table,
                statements,
                target,
                events,
            } => {
                // (a net effect carries no big value: `replay::plan_batch`)
                let list: Vec<(&str, &str, &[DatumWithOid])> = statements
                    .iter()
                    .map(|s| (s.sql.as_str(), s.text.as_str(), &[][..]))
                    .collect();
                match try_all(owners.of(table), &list) {
                    Ok(()) => {
                        applied += events.len() as i64;
                        continue;
                    }
                    Err((state, reason)) => {
                        log!("chameleon replica {}: batch {batch_id}: the net effect on {table} failed ({state}: {reason}); replaying it in binlog order", src.name);
                        (table, plan(target, events), None)
                    }
                }
            }
            Unit::Ordered { table, statements } => (table, Vec::new(), Some(statements)),
        };
        let one_table = OneTable {
            src,
            batch_id,
            table,
            owner: owners.of(table),
        };
        let (a, s) = one_table.apply_in_order(statements.unwrap_or(&mut fallback))?;
        applied += a;
        skipped += s;
    }
    Ok((applied, skipped))
}

/// The table a run of statements changes, as whom, for which batch.
struct OneTable<'a> {
    src: &'a SourceConfig,
    batch_id: i64,
    table: &'a str,
    owner: pg_sys::Oid,
}

impl OneTable<'_> {
    /// Runs statements in binlog order; one that fails is retried row by row, and rows that
    /// still fail are set aside. Returns (rows applied, rows set aside).
    fn apply_in_order(&self, statements: &mut [Statement]) -> Result<(i64, i64)> {
        let (mut applied, mut skipped) = (0i64, 0i64);
        for s in statements {
            let (a, k) = if s.big.is_empty() {
                self.apply_statement(s, &[])?
            } else {
                // its big values in PostgreSQL's memory for this statement (and its retry), let
                // go when it is done, not at commit
                in_own_memory(|| {
                    let big = big_datums(std::mem::take(&mut s.big));
                    self.apply_statement(s, &big)
                })?
            };
            applied += a;
            skipped += k;
        }
        Ok((applied, skipped))
    }

    /// One statement, or else its rows one by one: (rows applied, rows set aside).
    fn apply_statement(&self, s: &Statement, big: &[DatumWithOid]) -> Result<(i64, i64)> {
        if try_all(self.owner, &[(&s.sql, &s.text, big)]).is_ok() {
            return Ok((s.rows as i64, 0));
        }
        // the set failed: row by row, so that only the bad rows are left out
        let (mut applied, mut skipped) = (0i64, 0i64);
        // (a set's parameter is an array of rows, applied one by one as arrays of one)
        let rows = match serde_json::from_str::<Json>(&s.text).unwrap_or(Json::Null) {
            Json::Array(items) => items.into_iter().map(|row| (Json::Array(vec![row.clone()]), row)).collect(),
            row => vec![(row.clone(), row)],
        };
        for (one, row) in rows {
            match try_all(self.owner, &[(&s.sql, &one.to_string(), big)]) {
                Ok(()) => applied += 1,
                Err(failure) => {
                    self.set_row_aside(s.kind, row, failure)?;
                    skipped += 1;
                }
            }
        }
        Ok((applied, skipped))
    }

    fn set_row_aside(&self, kind: EventKind, row: Json, (sqlstate, reason): Failure) -> Result<()> {
        // an update's row comes as {"new": .., "old": ..}
        let (data, identity) = match (row.get("new"), row.get("old")) {
            (Some(n), Some(o)) => (n.clone(), Some(o.clone())),
            _ => (row, None),
        };
        set_aside(SetAside {
            source: self.src.id,
            batch: self.batch_id,
            schema: Some(&self.src.conn.database),
            table: self.table,
            kind,
            data,
            identity,
            query: None,
            file: None,
            pos: None,
            sqlstate: &sqlstate,
            reason: &reason,
        })
    }
}

/// Runs a replicated schema change and records what the catalogue learns of the tables, all or
/// nothing; false (and the statement set aside) when it could not be translated or failed in
/// PostgreSQL. On 'stop' the source is set to `error` in the same transaction.
fn replay_statement(src: &SourceConfig, batch_id: i64, e: &StoredLogRow) -> Result<bool> {
    let raw = e.data.clone().unwrap_or(Json::Null);
    let event: DdlEvent = serde_json::from_value(raw.clone()).unwrap_or_default();
    let outcome = match (&e.query, &event.error) {
        (Some(sql), None) => {
            // as the owner of the table it changes (the schema's owner for a new table)
            let changed = match event.registrations.first() {
                Some(chameleon_core::schema_change::Registration::Table {
                    renamed_from: Some(from),
                    ..
                }) => from.as_str(),
                _ => e.table.as_str(),
            };
            let owner = Owners::read(src)?.of(changed);
            subtransaction(|| {
                as_role(owner, || Spi::run(sql))
                    .map_err(|e| ("XX000".to_string(), e.to_string()))?;
                catalog::tables::register(src.id, &src.conn.database, &event.registrations, src.keeps_models)
                    .map_err(|e| (e.state.code().to_string(), e.reason()))
            })
        }
        (_, err) => Err(match err {
            Some(err) => (err.sqlstate.clone(), err.reason()),
            None => ("0A000".into(), "not replicated".into()),
        }),
    };
    let Err((state, reason)) = outcome else {
        return Ok(true);
    };
    let mysql = event.mysql.as_str();
    log!(
        "chameleon replica {}: a schema change was not replicated ({state}: {reason}): {mysql}",
        src.name
    );
    set_aside(SetAside {
        source: src.id,
        batch: batch_id,
        schema: e.schema.as_deref(),
        table: &e.table,
        kind: EventKind::Ddl,
        data: raw,
        identity: None,
        query: Some(mysql),
        file: e.file.as_deref(),
        pos: e.pos,
        sqlstate: &state,
        reason: &reason,
    })?;
    if !e.table.is_empty() && src.keeps_models {
        catalog::tables::forget_model(src.id, &src.conn.database, &e.table)?;
    }
    if !src.skip_errors {
        catalog::sources::stop_in_error(
            src.id,
            &format!("a schema change could not be replicated ({state}: {reason}): {mysql}"),
        )?;
    }
    Ok(false)
}
