//! The worker's catalogue transactions: storing a batch with its resume position, and
//! replaying a stored batch into the destination schema.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chameleon_core::batch::{Batch, LogRows};
use chameleon_core::binlog::Position;
use chameleon_core::replay::{plan, plan_batch, Event, Statement, Target, Unit};
use chameleon_core::types::{MysqlColumn, PgColumn};
use chameleon_core::Error;
use pgrx::bgworkers::BackgroundWorker;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value as Json;

use chameleon_core::names::pg_truncated;

use crate::catalog::{self, query_column, query_opt, write_opt, Layout};

/// What the worker knows of its source.
pub type Source = catalog::SourceConfig;

fn tx<R>(f: impl FnOnce() -> R) -> R {
    let r = BackgroundWorker::transaction(AssertUnwindSafe(f));
    // a backend reports its table statistics when idle; a worker never is, so it reports them
    // itself (at most once a second) — without them autovacuum would not see the dead rows
    // that replay and the log tables leave
    // SAFETY: outside a transaction, as PostgreSQL's own apply worker does
    unsafe { pg_sys::pgstat_report_stat(false) };
    r
}

/// A session-level advisory lock on the source: a second worker for it leaves at once.
pub fn take_source_lock(id: i64) -> bool {
    tx(|| {
        query_opt::<bool>(
            "SELECT pg_try_advisory_lock(hashtext('chameleon replica'), $1::int)",
            &[(id as i32).into()],
        )
    })
    .unwrap_or(false)
}

pub fn load(id: i64) -> Option<Source> {
    tx(|| catalog::load_source(id))
}

/// Some(replay paused?) while the source should run; None once it should stop.
pub fn still_running(id: i64) -> Option<bool> {
    tx(|| {
        query_opt::<bool>(
            "SELECT b_replay_paused FROM sch_chameleon.t_sources WHERE i_id_source = $1 AND enm_status = 'running' AND b_enabled",
            &[id.into()],
        )
    })
}

pub fn record_error(id: i64, e: &Error) {
    let text = match &e.detail {
        Some(d) => format!("{} ({d})", e.message),
        None => e.message.clone(),
    };
    tx(|| {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_sources SET enm_status = 'error', t_last_error = $2, ts_last_error = clock_timestamp()
              WHERE i_id_source = $1 AND enm_status = 'running'",
            &[id.into(), text.as_str().into()],
        )
    })
    .ok();
}

/// Stores `b` in one transaction: the batch row, its log rows in the table the layout picks,
/// and the source's new resume position. Returns the batch id.
pub fn store(src: &Source, b: &Batch, rows: LogRows) -> i64 {
    tx(|| store_in_tx(src, b, rows))
}

/// With chameleon.direct_replay: a batch stored and replayed in one transaction, without log
/// rows (they would be deleted in the same transaction). The batch row, the applied changes
/// and the resume position still commit together: exactly once, as the two-step path.
pub fn store_and_replay(src: &Source, b: &Batch, units: Vec<Unit>) {
    tx(|| {
        let id = store_in_tx(src, b, LogRows::default());
        let (applied, skipped) = run_units(src, id, &units);
        finish(
            src,
            id,
            applied,
            0,
            skipped,
            Some(i64::from(b.last_timestamp())),
        );
    });
    drop_elsewhere(units);
}

fn store_in_tx(src: &Source, b: &Batch, rows: LogRows) -> i64 {
    let (log_table, batch_id) = match src.layout {
        // 1.3: the pair rotates on every batch that has log rows; they go to the first table
        Layout::PerSource => {
            let id = write_opt::<i64>(
                "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position, t_gtid,
                        b_started, b_processed, ts_processed)
                 VALUES ($1, $2, $3, $4, true, true, clock_timestamp()) RETURNING i_id_batch",
                &[src.id.into(), b.end.file.as_str().into(), (b.end.pos as i64).into(), b.end.gtid.clone().into()],
            )
            .expect("a batch id");
            let table = (!rows.tables.is_empty()).then(|| {
                write_opt::<String>(
                    "UPDATE sch_chameleon.t_sources SET v_log_table = ARRAY[v_log_table[2], v_log_table[1]]
                      WHERE i_id_source = $1 RETURNING v_log_table[1]::text",
                    &[src.id.into()],
                )
                .expect("the source exists")
            });
            (table, id)
        }
        // 1.2: the source flips between the two shared tables
        Layout::Shared => {
            let id = write_opt::<i64>(
                "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position, t_gtid,
                        b_started, b_processed, ts_processed, v_log_table)
                 VALUES ($1, $2, $3, $4, true, true, clock_timestamp(),
                         CASE (SELECT v_log_table FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1
                                ORDER BY i_id_batch DESC LIMIT 1)
                              WHEN 't_log_replica_1' THEN 't_log_replica_2' ELSE 't_log_replica_1' END)
                 RETURNING i_id_batch",
                &[src.id.into(), b.end.file.as_str().into(), (b.end.pos as i64).into(), b.end.gtid.clone().into()],
            )
            .expect("a batch id");
            let table = (!rows.tables.is_empty()).then(|| {
                query_opt::<String>("SELECT v_log_table::text FROM sch_chameleon.t_replica_batch WHERE i_id_batch = $1", &[id.into()])
                    .expect("the batch exists")
            });
            (table, id)
        }
    };
    if let Some(table) = log_table {
        // the log rows reference their batch, inserted just above: the per-row foreign key
        // checks would only cost time (40% of the insert)
        Spi::run("SET LOCAL session_replication_role = replica").expect("role set");
        let LogRows {
            tables,
            schemas,
            kinds,
            files,
            positions,
            timestamps,
            data,
            identities,
            queries,
        } = rows;
        Spi::run_with_args(
            &format!(
                "INSERT INTO sch_chameleon.{} (i_id_batch, v_table_name, v_schema_name, enm_binlog_event, t_binlog_name,
                        i_binlog_position, ts_event_datetime, jsb_event_data, jsb_event_update, t_query)
                 SELECT $1, u.t, u.s, u.k::sch_chameleon.en_binlog_event, u.f, u.p, to_timestamp(u.ts), u.d::jsonb, u.i::jsonb, u.q
                   FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[])
                        WITH ORDINALITY AS u(t, s, k, f, p, ts, d, i, q, n)
                  ORDER BY u.n",
                spi::quote_identifier(&table)
            ),
            &[batch_id.into(), tables.into(), schemas.into(), kinds.into(), files.into(), positions.into(), timestamps.into(),
              data.into(), identities.into(), queries.into()],
        )
        .expect("log rows stored");
        // back to origin for whatever else this transaction does: triggers and foreign keys
        // elsewhere must act
        Spi::run("SET LOCAL session_replication_role = origin").expect("role reset");
    }
    write_position(src, &b.end, b.last_timestamp());
    // values changed on their way are counted per table with the position that covers them
    // (1.4 catalogues, which keep table models, have the counter)
    if !b.changed.is_empty() && src.keeps_models {
        for (table, n) in &b.changed {
            Spi::run_with_args(
                "UPDATE sch_chameleon.t_replica_tables SET i_values_changed = i_values_changed + $4
                  WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[
                    src.id.into(),
                    src.conn.database.as_str().into(),
                    table.as_str().into(),
                    (*n as i64).into(),
                ],
            )
            .expect("changed values counted");
        }
    }
    batch_id
}

/// The source's resume position, and the commit time of the last event it covers (0: none).
fn write_position(src: &Source, end: &Position, last_ts: u32) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET t_binlog_name = $2, i_binlog_position = $3, t_gtid = coalesce($4, t_gtid),
                ts_last_event = CASE WHEN $5 > 0 THEN to_timestamp($5) ELSE ts_last_event END
          WHERE i_id_source = $1",
        &[
            src.id.into(),
            end.file.as_str().into(),
            (end.pos as i64).into(),
            end.gtid.clone().into(),
            i64::from(last_ts).into(),
        ],
    )
    .expect("position stored");
}

/// Moves the resume point past transactions that touched no replicated table.
pub fn store_position(src: &Source, end: &Position) {
    tx(|| write_position(src, end, 0));
}

/// Removes replayed batches older than the source's batch_retention (their log rows went
/// when they were replayed; the batch rows are history).
pub fn clean_old_batches(id: i64) {
    tx(|| {
        Spi::run_with_args(
            "DELETE FROM sch_chameleon.t_replica_batch b USING sch_chameleon.t_sources s
              WHERE b.i_id_source = $1 AND s.i_id_source = b.i_id_source AND b.b_replayed
                AND b.ts_replayed < clock_timestamp() - s.iv_batch_retention",
            &[id.into()],
        )
    })
    .expect("old batches removed");
}

pub fn pending_batches(id: i64) -> Vec<i64> {
    tx(|| {
        query_column::<i64>(
            "SELECT i_id_batch FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1 AND b_processed AND NOT b_replayed ORDER BY i_id_batch",
            &[id.into()],
        )
    })
}

pub type Defs = HashMap<String, Arc<Vec<(MysqlColumn, PgColumn)>>>;

/// What the catalogue keeps of the replicated tables' MySQL shape at the resume position
/// (1.4 and later; None before).
pub struct KeptModels {
    /// each registered table, with its kept model (None: not kept yet, read it from MySQL)
    pub tables: Vec<(String, Option<Json>)>,
    /// the registrations of schema changes stored but not replayed yet (replay paused), in
    /// binlog order: they are already behind the resume position
    pub pending: Vec<Json>,
}

pub fn kept_models(src: &Source) -> Option<KeptModels> {
    tx(|| {
        if !src.keeps_models {
            return None;
        }
        let tables = Spi::connect(|c| {
            c.select(
                "SELECT v_table_name::text, jsb_columns FROM sch_chameleon.t_replica_tables
                  WHERE i_id_source = $1 AND v_schema_name = $2 ORDER BY 1",
                None,
                &[src.id.into(), src.conn.database.as_str().into()],
            )?
            .map(|r| {
                Ok::<_, pgrx::spi::SpiError>((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<JsonB>(2)?.map(|j| j.0),
                ))
            })
            .collect::<Result<Vec<_>, _>>()
        })
        .expect("table models read");
        let pending = Spi::connect(|c| {
            c.select(
                "SELECT l.jsb_event_data -> 'registrations' FROM sch_chameleon.t_log_replica l
                   JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)
                  WHERE b.i_id_source = $1 AND b.b_processed AND NOT b.b_replayed AND l.enm_binlog_event = 'ddl'
                  ORDER BY l.i_id_batch, l.i_id_event",
                None,
                &[src.id.into()],
            )?
            .filter_map(|r| r.get::<JsonB>(1).ok().flatten().map(|j| Ok::<_, pgrx::spi::SpiError>(j.0)))
            .collect::<Result<Vec<_>, _>>()
        })
        .expect("pending schema changes read");
        Some(KeptModels { tables, pending })
    })
}

/// The five characters of a SQLSTATE (PostgreSQL packs them six bits each).
fn sqlstate(code: PgSqlErrorCode) -> String {
    let mut v = code as i32;
    (0..5)
        .map(|_| {
            let c = ((v & 0x3F) as u8 + b'0') as char;
            v >>= 6;
            c
        })
        .collect()
}

/// Runs one replay statement in a subtransaction: on error the subtransaction is rolled
/// back, the replay transaction goes on, and the error's (SQLSTATE, message) is returned.
fn try_statement(owner: pg_sys::Oid, sql: &str, param: &str) -> Result<(), (String, String)> {
    try_all(owner, &[(sql, param)])
}

fn try_statements(owner: pg_sys::Oid, statements: &[Statement]) -> Result<(), (String, String)> {
    let list: Vec<(&str, &str)> = statements
        .iter()
        .map(|s| (s.sql.as_str(), s.text.as_str()))
        .collect();
    try_all(owner, &list)
}

/// The roles replay acts as on the destination: each table's owner, and the schema's owner
/// for tables that do not exist yet. The worker is a superuser; a trigger, a default or an
/// index expression on a destination table runs with the privileges of whoever changes the
/// table, so changing it as its owner keeps its owner from borrowing the worker's (as
/// PostgreSQL's own logical replication does).
pub struct Owners {
    tables: HashMap<String, pg_sys::Oid>,
    schema: pg_sys::Oid,
}

impl Owners {
    pub fn read(src: &Source) -> Owners {
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
                .collect::<Result<HashMap<_, _>, _>>()
            })
            .expect("table owners read"),
        };
        Owners {
            tables,
            schema: schema_owner.unwrap_or(pg_sys::BOOTSTRAP_SUPERUSERID.into()),
        }
    }

    pub fn of(&self, table: &str) -> pg_sys::Oid {
        self.tables.get(table).copied().unwrap_or(self.schema)
    }
}

/// Runs `f` as `role`, in a security-restricted operation (no SET ROLE and the like from what
/// it runs). Call inside a subtransaction: an error there restores the user on rollback.
fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
    // SAFETY: plain reads and writes of the backend's current user, as PostgreSQL's
    // SwitchToUntrustedUser does; restored below, and by subtransaction abort on error
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            role,
            context
                | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION)
                    as i32,
        );
    }
    let r = f();
    // SAFETY: as above
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    r
}

/// Runs the statements, each with its JSON parameter as text, in one subtransaction: all of
/// them, or none (SQLSTATE and message).
fn try_all(owner: pg_sys::Oid, statements: &[(&str, &str)]) -> Result<(), (String, String)> {
    subtransaction(|| {
        as_role(owner, || {
            for (sql, param) in statements {
                // text: `$1::jsonb` in the statement parses it once, in PostgreSQL
                Spi::run_with_args(sql, &[(*param).into()])
                    .map_err(|e| ("XX000".to_string(), e.to_string()))?;
            }
            Ok(())
        })
    })
}

/// Runs `f` in a subtransaction: all it does, or nothing (SQLSTATE and message).
fn subtransaction(
    f: impl FnOnce() -> Result<(), (String, String)>,
) -> Result<(), (String, String)> {
    // SAFETY: the subtransaction pattern of PL/pgSQL's exception blocks: keep the caller's
    // memory context and resource owner, release on success, roll back on error
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let outcome = PgTryBuilder::new(AssertUnwindSafe(f))
            .catch_others(|e| {
                Err(match e {
                    pg_sys::panic::CaughtError::PostgresError(r)
                    | pg_sys::panic::CaughtError::ErrorReport(r) => {
                        (sqlstate(r.sql_error_code()), r.message().to_string())
                    }
                    pg_sys::panic::CaughtError::RustPanic { ereport, .. } => {
                        ("XX000".to_string(), ereport.message().to_string())
                    }
                })
            })
            .execute();
        if outcome.is_ok() {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        outcome
    }
}

/// Runs statements in binlog order; one that fails is retried row by row, and rows that still
/// fail go to t_discarded_rows. Returns (rows applied, rows set aside).
fn apply_in_order(
    src: &Source,
    batch_id: i64,
    table: &str,
    owner: pg_sys::Oid,
    statements: &[Statement],
) -> (i64, i64) {
    let (mut applied, mut skipped) = (0i64, 0i64);
    for s in statements {
        if try_statement(owner, &s.sql, &s.text).is_ok() {
            applied += s.rows as i64;
            continue;
        }
        // the set failed: row by row, so that only the bad rows are left out
        let rows = match &s.param {
            Json::Array(items) if s.rows > 1 => items.clone(),
            other => vec![other.clone()],
        };
        for row in rows {
            let one = if s.rows > 1 {
                Json::Array(vec![row.clone()])
            } else {
                row.clone()
            };
            match try_statement(owner, &s.sql, &one.to_string()) {
                Ok(()) => applied += 1,
                Err((sqlstate, reason)) => {
                    // an update's row comes as {"new": .., "old": ..}
                    let (data, identity) = match (row.get("new"), row.get("old")) {
                        (Some(n), Some(o)) => (n.clone(), Some(o.clone())),
                        _ => (row.clone(), None),
                    };
                    Spi::run_with_args(
                        "INSERT INTO sch_chameleon.t_discarded_rows (i_id_source, i_id_batch, v_schema_name, v_table_name,
                                enm_binlog_event, jsb_event_data, jsb_event_update, t_sqlstate, t_reason)
                         VALUES ($1, $2, $3, $4, $5::sch_chameleon.en_binlog_event, $6, $7, $8, $9)",
                        &[src.id.into(), batch_id.into(), src.conn.database.as_str().into(), table.into(),
                          s.kind.as_str().into(), JsonB(data).into(), identity.map(JsonB).into(),
                          sqlstate.as_str().into(), reason.as_str().into()],
                    )
                    .expect("discarded row recorded");
                    skipped += 1;
                }
            }
        }
    }
    (applied, skipped)
}

/// What replay needs to know of the destination: each table's key and columns, and which
/// tables foreign keys link (those keep binlog order among themselves).
#[derive(Clone, Default)]
pub struct Shape {
    pub targets: HashMap<String, Target>,
    pub linked: HashSet<String>,
}

/// Reads the destination's shape for the replicated tables `defs`.
pub fn shape(src: &Source, defs: &Defs) -> Shape {
    let columns = defs
        .iter()
        .map(|(t, d)| (t.clone(), d.iter().map(|(m, _)| m.name.clone()).collect()))
        .collect();
    tx(|| shape_of(src, columns))
}

/// The shape of tables with these columns: keys as registered, foreign key links.
fn shape_of(src: &Source, columns: HashMap<String, Vec<String>>) -> Shape {
    {
        let keys: HashMap<String, Vec<String>> = Spi::connect(|c| {
            c.select(
                "SELECT v_table_name::text, v_table_pkey::text[] FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
                None,
                &[src.id.into()],
            )?
            .map(|r| Ok::<_, pgrx::spi::SpiError>((r.get::<String>(1)?.unwrap_or_default(), r.get::<Vec<String>>(2)?.unwrap_or_default())))
            .collect::<Result<HashMap<_, _>, _>>()
        })
        .unwrap_or_default();
        let linked = query_column::<String>(
            "SELECT DISTINCT c.relname::text FROM pg_constraint k
               JOIN pg_class c ON c.oid IN (k.conrelid, k.confrelid)
              WHERE k.contype = 'f' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)",
            &[src.dest_schema.as_str().into()],
        )
        .into_iter()
        .collect();
        let targets = columns
            .into_iter()
            .map(|(table, columns)| {
                let target = Target {
                    schema: src.dest_schema.clone(),
                    // row images are keyed by PostgreSQL's names (63 bytes at most)
                    key: keys
                        .get(&table)
                        .into_iter()
                        .flatten()
                        .map(|k| pg_truncated(k).to_string())
                        .collect(),
                    table: table.clone(),
                    columns: columns
                        .iter()
                        .map(|c| pg_truncated(c).to_string())
                        .collect(),
                };
                (table, target)
            })
            .collect();
        Shape { targets, linked }
    }
}

/// Runs a batch's planned units: a net effect that fails (a constraint met an intermediate
/// state) is replayed in binlog order instead, row by row where needed. Returns (rows
/// applied, rows set aside).
fn run_units(src: &Source, batch_id: i64, units: &[Unit]) -> (i64, i64) {
    let (mut applied, mut skipped) = (0i64, 0i64);
    let owners = Owners::read(src);
    for unit in units {
        let (table, fallback, statements) = match unit {
            Unit::Net {
                table,
                statements,
                target,
                events,
            } => match try_statements(owners.of(table), statements) {
                Ok(()) => {
                    applied += events.len() as i64;
                    continue;
                }
                Err((state, reason)) => {
                    log!("chameleon replica {}: batch {batch_id}: the net effect on {table} failed ({state}: {reason}); replaying it in binlog order", src.name);
                    (table, plan(target, events), None)
                }
            },
            Unit::Ordered { table, statements } => (table, Vec::new(), Some(statements)),
        };
        let (a, s) = apply_in_order(
            src,
            batch_id,
            table,
            owners.of(table),
            statements.unwrap_or(&fallback),
        );
        applied += a;
        skipped += s;
    }
    (applied, skipped)
}

/// A plan's row images are many small allocations: freeing them takes the main thread
/// noticeable time (a fifth of a replay), so another thread does it.
fn drop_elsewhere(units: Vec<Unit>) {
    let _ = std::thread::Builder::new()
        .name("chameleon-free".into())
        .spawn(move || drop(units));
}

/// The end of a replay: log rows deleted, the batch marked, the replay time stored.
fn finish(src: &Source, batch_id: i64, applied: i64, ddl: i64, skipped: i64, last_ts: Option<i64>) {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_log_replica WHERE i_id_batch = $1",
        &[batch_id.into()],
    )
    .expect("log rows deleted");
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_batch
            SET b_replayed = true, ts_replayed = clock_timestamp(), i_replayed = $2, i_ddl = $3, i_skipped = $4
          WHERE i_id_batch = $1",
        &[batch_id.into(), applied.into(), ddl.into(), skipped.into()],
    )
    .expect("batch marked");
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET ts_last_replayed = coalesce(to_timestamp($2), ts_last_replayed) WHERE i_id_source = $1",
        &[src.id.into(), last_ts.filter(|t| *t > 0).map(|t| t as f64).into()],
    )
    .expect("replay time stored");
}

/// Replays a batch just stored, from its plan made off the main thread (the same events as
/// its log rows), in one transaction.
pub fn replay_planned(src: &Source, batch_id: i64, units: Vec<Unit>, last_ts: u32) {
    tx(|| {
        let (applied, skipped) = run_units(src, batch_id, &units);
        finish(src, batch_id, applied, 0, skipped, Some(i64::from(last_ts)));
    });
    drop_elsewhere(units);
}

/// Replays a stored batch from its log rows in one transaction: its events applied set-based
/// (see `chameleon_core::replay::plan_batch`), a schema change run in its place among them,
/// its log rows deleted, the batch marked replayed. Rows that cannot be applied go to
/// t_discarded_rows with their SQLSTATE and reason (show_errors), the rest is applied. A schema
/// change that cannot be replicated is logged there too, and stops the source in `error`
/// unless its on_error is 'skip'. Returns false when the source stopped.
pub fn replay(src: &Source, batch_id: i64) -> bool {
    tx(|| {
        let events = Spi::connect(|c| {
            c.select(
                "SELECT v_table_name::text, enm_binlog_event::text, jsb_event_data, jsb_event_update, t_query,
                        extract(epoch FROM ts_event_datetime)::bigint, v_schema_name::text, t_binlog_name, i_binlog_position
                   FROM sch_chameleon.t_log_replica WHERE i_id_batch = $1 ORDER BY i_id_event",
                None,
                &[batch_id.into()],
            )?
            .map(|r| {
                Ok::<_, pgrx::spi::SpiError>(LogRow {
                    table: r.get::<String>(1)?.unwrap_or_default(),
                    kind: r.get::<String>(2)?.unwrap_or_default(),
                    data: r.get::<JsonB>(3)?.map(|j| j.0),
                    identity: r.get::<JsonB>(4)?.map(|j| j.0),
                    query: r.get::<String>(5)?,
                    timestamp: r.get::<i64>(6)?,
                    schema: r.get::<String>(7)?,
                    file: r.get::<String>(8)?,
                    pos: r.get::<i64>(9)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
        })
        .expect("log rows read");
        let (mut applied, mut ddl, mut skipped) = (0i64, 0i64, 0i64);
        let last_ts = events.iter().rev().find_map(|e| e.timestamp);
        let mut running = true;
        let mut i = 0;
        while i < events.len() {
            if events[i].kind == "ddl" {
                ddl += 1;
                if !replay_statement(src, batch_id, &events[i]) {
                    skipped += 1;
                    running = src.skip_errors;
                }
                i += 1;
                continue;
            }
            // the row events up to the next schema change, planned together against the
            // destination as it is at this point
            let end = (i..events.len())
                .find(|&j| events[j].kind == "ddl")
                .unwrap_or(events.len());
            let rows: Vec<(String, Event)> = events[i..end]
                .iter()
                .map(|e| {
                    (
                        e.table.clone(),
                        Event {
                            kind: e.kind.clone(),
                            data: e.data.clone().unwrap_or(Json::Null),
                            identity: e.identity.clone(),
                        },
                    )
                })
                .collect();
            let shape = destination_shape(src, &rows);
            let (a, s) = run_units(
                src,
                batch_id,
                &plan_batch(rows, &shape.targets, &shape.linked),
            );
            applied += a;
            skipped += s;
            i = end;
        }
        finish(src, batch_id, applied, ddl, skipped, last_ts);
        running
    })
}

/// A log row read back for replay.
struct LogRow {
    table: String,
    kind: String,
    data: Option<Json>,
    identity: Option<Json>,
    query: Option<String>,
    timestamp: Option<i64>,
    schema: Option<String>,
    file: Option<String>,
    pos: Option<i64>,
}

/// Runs a replicated schema change and records what the catalogue learns of the tables, all or
/// nothing; false (and the statement in t_discarded_rows) when it could not be translated or
/// failed in PostgreSQL. On 'stop' the source is set to `error` in the same transaction.
fn replay_statement(src: &Source, batch_id: i64, e: &LogRow) -> bool {
    let data = e.data.clone().unwrap_or(Json::Null);
    let mysql = data["mysql"].as_str().unwrap_or_default().to_string();
    let outcome = match (&e.query, data.get("error")) {
        (Some(sql), None) => {
            // as the owner of the table it changes (the schema's owner for a new table)
            let owner = Owners::read(src).of(data["registrations"][0]["renamed_from"]
                .as_str()
                .unwrap_or(&e.table));
            subtransaction(|| {
                as_role(owner, || Spi::run(sql))
                    .map_err(|e| ("XX000".to_string(), e.to_string()))?;
                register(src, &data["registrations"]);
                Ok(())
            })
        }
        (_, err) => {
            let err = err.cloned().unwrap_or(Json::Null);
            let text = |k: &str| err[k].as_str().map(str::to_string);
            let reason = match text("detail") {
                Some(d) => format!("{} ({d})", text("message").unwrap_or_default()),
                None => text("message").unwrap_or_else(|| "not replicated".into()),
            };
            Err((text("sqlstate").unwrap_or_else(|| "0A000".into()), reason))
        }
    };
    let Err((state, reason)) = outcome else {
        return true;
    };
    log!(
        "chameleon replica {}: a schema change was not replicated ({state}: {reason}): {mysql}",
        src.name
    );
    Spi::run_with_args(
        "INSERT INTO sch_chameleon.t_discarded_rows (i_id_source, i_id_batch, v_schema_name, v_table_name, enm_binlog_event,
                t_binlog_name, i_binlog_position, jsb_event_data, t_query, t_sqlstate, t_reason)
         VALUES ($1, $2, $3, nullif($4, ''), 'ddl', $5, $6, $7, $8, $9, $10)",
        &[
            src.id.into(),
            batch_id.into(),
            e.schema.clone().into(),
            e.table.as_str().into(),
            e.file.clone().into(),
            e.pos.into(),
            JsonB(data.clone()).into(),
            mysql.as_str().into(),
            state.as_str().into(),
            reason.as_str().into(),
        ],
    )
    .expect("statement recorded");
    // the table's kept model no longer says what MySQL has: the next start reads it from MySQL
    // (after the operator's fix, MySQL's shape is the right one at the resume position)
    if !e.table.is_empty() && src.keeps_models {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_replica_tables SET jsb_columns = NULL WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
            &[src.id.into(), src.conn.database.as_str().into(), e.table.as_str().into()],
        )
        .expect("table model forgotten");
    }
    if !src.skip_errors {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_sources SET enm_status = 'error', ts_last_error = clock_timestamp(),
                    t_last_error = format('a schema change could not be replicated (%s: %s): %s', $2, $3, $4)
              WHERE i_id_source = $1 AND enm_status = 'running'",
            &[src.id.into(), state.as_str().into(), reason.as_str().into(), mysql.as_str().into()],
        )
        .expect("source stopped");
    }
    false
}

/// What a schema change taught about tables: t_replica_tables and t_index_def follow.
fn register(src: &Source, regs: &Json) {
    let db = src.conn.database.as_str();
    for r in regs.as_array().into_iter().flatten() {
        let table = r["table"].as_str().unwrap_or_default();
        let from = r["renamed_from"].as_str();
        for t in [Some(table), from].into_iter().flatten() {
            Spi::run_with_args(
                "DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[src.id.into(), db.into(), t.into()],
            )
            .expect("index definitions");
        }
        if r["gone"].as_bool() == Some(true) {
            Spi::run_with_args(
                "DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[src.id.into(), db.into(), table.into()],
            )
            .expect("table unregistered");
            continue;
        }
        if let Some(from) = from {
            // the copy's figures stay with the table under its new name
            Spi::run_with_args(
                "UPDATE sch_chameleon.t_replica_tables SET v_table_name = $4
                  WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[src.id.into(), db.into(), from.into(), table.into()],
            )
            .expect("table renamed");
        }
        let pkey: Vec<String> = r["pkey"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, v_table_pkey)
             VALUES ($1, $3, $2, $4::varchar[])
             ON CONFLICT (i_id_source, v_schema_name, v_table_name) DO UPDATE SET v_table_pkey = EXCLUDED.v_table_pkey",
            &[src.id.into(), db.into(), table.into(), pkey.into()],
        )
        .expect("table registered");
        if src.keeps_models {
            Spi::run_with_args(
                "UPDATE sch_chameleon.t_replica_tables SET jsb_columns = $4 WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[src.id.into(), db.into(), table.into(), JsonB(r["model"].clone()).into()],
            )
            .expect("table model kept");
        }
        for d in r["defs"].as_array().into_iter().flatten() {
            Spi::run_with_args(
                "INSERT INTO sch_chameleon.t_index_def (i_id_source, v_schema_name, v_table_name, v_index_name, v_kind, t_index_def)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    src.id.into(),
                    db.into(),
                    table.into(),
                    d["name"].as_str().unwrap_or_default().into(),
                    d["kind"].as_str().unwrap_or_default().into(),
                    d["sql"].as_str().unwrap_or_default().into(),
                ],
            )
            .expect("index definition");
        }
    }
}

/// The destination's shape for replaying `rows` from log rows: keys as registered, foreign
/// key links, and the columns both the destination table and the rows' images have (images
/// are whole rows; a column only the destination has is never overwritten).
fn destination_shape(src: &Source, rows: &[(String, Event)]) -> Shape {
    let mut images: HashMap<&str, &Json> = HashMap::new();
    for (table, e) in rows {
        images.entry(table.as_str()).or_insert(&e.data);
    }
    let tables: Vec<String> = images.keys().map(|t| t.to_string()).collect();
    let columns: HashMap<String, Vec<String>> = Spi::connect(|c| {
        c.select(
            "SELECT c.relname::text, array_agg(a.attname::text ORDER BY a.attnum)
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND c.relname = ANY($2)
              GROUP BY 1",
            None,
            &[src.dest_schema.as_str().into(), tables.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<Vec<String>>(2)?.unwrap_or_default(),
            ))
        })
        .collect::<Result<HashMap<_, _>, _>>()
    })
    .expect("destination columns");
    let columns = images
        .iter()
        .map(|(table, image)| {
            let cols = columns
                .get(*table)
                .into_iter()
                .flatten()
                .filter(|c| image.get(c.as_str()).is_some())
                .cloned()
                .collect();
            (table.to_string(), cols)
        })
        .collect();
    shape_of(src, columns)
}
