//! The copy state of t_replica_tables (1.6): tables waiting for a background copy, the copy
//! workers' claims, each table's copy point, and what show_copy reads.

use chameleon_core::snapshot::{Coordinates, TableDef};
use chameleon_core::state::Status;
use chameleon_core::watch::Watch;
use chameleon_core::Result;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::JsonB;

use super::{query_opt, update_opt};
use crate::error::{catalogue, OrRaise};

/// 1.6 and later record each table's copy state and copy point.
pub fn keeps_copy_points() -> bool {
    super::replica_tables_have("t_copy_gtid")
}

/// The tables a background copy will take, largest first (MySQL's row estimate), replacing
/// what an earlier copy registered.
pub fn queue(id: i64, db: &str, tables: &[(String, Option<i64>)]) {
    for sql in [
        "DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
        "DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1",
    ] {
        Spi::run_with_args(sql, &[id.into()]).or_raise();
    }
    queue_sync(id, db, tables);
}

/// A waiting table no other copy worker holds, locked for this transaction (the copy commits
/// with it; a crash leaves it waiting), with MySQL's row estimate for it (0: none).
pub fn claim(id: i64) -> Option<(String, u64)> {
    Spi::connect_mut(|c| {
        let t = c.update(
            "SELECT v_table_name::text, coalesce(i_rows_estimate, 0) FROM sch_chameleon.t_replica_tables
              WHERE i_id_source = $1 AND enm_copy_state = 'waiting'
              ORDER BY i_rows_estimate DESC NULLS LAST, v_table_name
              LIMIT 1 FOR UPDATE SKIP LOCKED",
            Some(1),
            &[id.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::SpiError>(r.get::<String>(1)?.map(|table| (table, r.get::<i64>(2).ok().flatten().unwrap_or(0).max(0) as u64)))
    })
    .map_err(catalogue("claiming a table to copy"))
    .or_raise()
}

/// How many tables still wait (claimed ones included).
pub fn waiting(id: i64) -> i64 {
    query_opt::<i64>(
        "SELECT count(*) FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1 AND enm_copy_state = 'waiting'",
        &[id.into()],
    )
    .unwrap_or(0)
}

/// A table's copy is in: its figures, key and copy point.
pub fn mark_copied(id: i64, db: &str, table: &str, pkey: Vec<String>, rows: u64, changed: u64, point: &Coordinates) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables
            SET enm_copy_state = 'copied', v_table_pkey = $4::varchar[], i_rows_copied = $5, i_zero_dates = $6,
                ts_copied = clock_timestamp(), t_copy_binlog_name = $7, i_copy_binlog_position = $8,
                t_copy_gtid = nullif($9, '')
          WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[
            id.into(), db.into(), table.into(), pkey.into(), (rows as i64).into(), (changed as i64).into(),
            point.binlog_file.as_str().into(), (point.binlog_position as i64).into(), point.gtid.as_str().into(),
        ],
    )
    .or_raise();
}

/// Every table's copy point at once (init_replica with wait: one snapshot for all).
pub fn set_points(id: i64, point: &Coordinates) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables
            SET t_copy_binlog_name = $2, i_copy_binlog_position = $3, t_copy_gtid = nullif($4, '')
          WHERE i_id_source = $1",
        &[id.into(), point.binlog_file.as_str().into(), (point.binlog_position as i64).into(), point.gtid.as_str().into()],
    )
    .or_raise();
}

/// The copy points of the source's tables (none before 1.6).
pub fn points(id: i64) -> Result<Vec<(String, Coordinates)>> {
    if !keeps_copy_points() {
        return Ok(Vec::new());
    }
    Spi::connect(|c| {
        c.select(
            "SELECT v_table_name::text, t_copy_binlog_name, i_copy_binlog_position, coalesce(t_copy_gtid, '')
               FROM sch_chameleon.t_replica_tables
              WHERE i_id_source = $1 AND t_copy_binlog_name IS NOT NULL",
            None,
            &[id.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<String>(1)?.unwrap_or_default(),
                Coordinates {
                    binlog_file: r.get::<String>(2)?.unwrap_or_default(),
                    binlog_position: r.get::<i64>(3)?.unwrap_or_default() as u64,
                    gtid: r.get::<String>(4)?.unwrap_or_default(),
                },
            ))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .map_err(catalogue("reading the tables' copy points"))
}

/// Sources whose background copy should go on: enabled, and initialising with tables queued
/// (waiting, or all copied by workers that did not live to finish), or with a sync_tables
/// waiting.
pub fn unfinished() -> Vec<(i64, String)> {
    Spi::connect(|c| {
        c.select(
            "SELECT s.i_id_source, s.t_source FROM sch_chameleon.t_sources s
              WHERE s.b_enabled AND (
                    (s.enm_status = 'initialising'
                     AND EXISTS (SELECT 1 FROM sch_chameleon.t_replica_tables t WHERE t.i_id_source = s.i_id_source))
                 OR (s.enm_status IN ('running', 'stopped', 'initialised')
                     AND EXISTS (SELECT 1 FROM sch_chameleon.t_replica_tables t
                                  WHERE t.i_id_source = s.i_id_source AND t.enm_copy_state = 'waiting')))
              ORDER BY 1",
            None,
            &[],
        )?
        .map(|r| Ok::<_, pgrx::spi::SpiError>((r.get::<i64>(1)?.unwrap_or_default(), r.get::<String>(2)?.unwrap_or_default())))
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .or_raise()
}

/// What a copy worker copies for: the source's first copy, or tables copied again
/// (sync_tables) beside a source that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Init,
    Sync,
}

/// Whether the source's copy workers should go on, and for what (None: disabled, failed,
/// dropped).
pub fn purpose(id: i64) -> Option<Purpose> {
    let status = query_opt::<String>(
        "SELECT enm_status::text FROM sch_chameleon.t_sources WHERE i_id_source = $1 AND b_enabled",
        &[id.into()],
    )?;
    match status.as_str() {
        "initialising" => Some(Purpose::Init),
        "running" | "stopped" | "initialised" => Some(Purpose::Sync),
        _ => None,
    }
}

/// Tables to copy again beside the others (sync_tables, tables newly included): waiting, with
/// MySQL's estimate; a table not registered yet is added.
pub fn queue_sync(id: i64, db: &str, tables: &[(String, Option<i64>)]) {
    for (table, estimate) in tables {
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, enm_copy_state, i_rows_estimate, ts_queued)
             VALUES ($1, $2, $3, 'waiting', $4, now())
             ON CONFLICT (i_id_source, v_schema_name, v_table_name)
             DO UPDATE SET enm_copy_state = 'waiting', i_rows_estimate = EXCLUDED.i_rows_estimate, ts_queued = EXCLUDED.ts_queued",
            &[id.into(), table.as_str().into(), db.into(), (*estimate).into()],
        )
        .or_raise();
    }
}

/// A copy made beside its table, for the replica worker to swap in: its figures, copy point
/// and model.
pub fn mark_staged(id: i64, db: &str, def: &TableDef, rows: u64, changed: u64, point: &Coordinates) {
    let model = serde_json::to_value(def).unwrap_or_default();
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables
            SET enm_copy_state = 'staged', i_rows_copied = $4, i_zero_dates = $5, ts_copied = clock_timestamp(),
                t_copy_binlog_name = $6, i_copy_binlog_position = $7, t_copy_gtid = nullif($8, ''),
                jsb_copy_columns = $9
          WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[
            id.into(), db.into(), def.name.as_str().into(), (rows as i64).into(), (changed as i64).into(),
            point.binlog_file.as_str().into(), (point.binlog_position as i64).into(), point.gtid.as_str().into(),
            JsonB(model).into(),
        ],
    )
    .or_raise();
}

/// The staged copies (committed), each with its copy point and model.
pub fn staged(id: i64) -> Result<Vec<(Coordinates, TableDef)>> {
    Spi::connect(|c| {
        c.select(
            "SELECT t_copy_binlog_name, i_copy_binlog_position, coalesce(t_copy_gtid, ''), jsb_copy_columns
               FROM sch_chameleon.t_replica_tables
              WHERE i_id_source = $1 AND enm_copy_state = 'staged' ORDER BY v_table_name",
            None,
            &[id.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                Coordinates {
                    binlog_file: r.get::<String>(1)?.unwrap_or_default(),
                    binlog_position: r.get::<i64>(2)?.unwrap_or_default() as u64,
                    gtid: r.get::<String>(3)?.unwrap_or_default(),
                },
                r.get::<JsonB>(4)?.and_then(|j| serde_json::from_value::<TableDef>(j.0).ok()),
            ))
        })
        .filter_map(|r| r.map(|(p, d)| d.map(|d| (p, d))).transpose())
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .map_err(catalogue("reading the staged copies"))
}

/// A staged copy is in place: copied, its model the table's.
pub fn swapped(id: i64, db: &str, def: &TableDef) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables
            SET enm_copy_state = 'copied', jsb_columns = jsb_copy_columns, jsb_copy_columns = NULL, v_table_pkey = $4::varchar[]
          WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[id.into(), db.into(), def.name.as_str().into(), def.primary_key().into()],
    )
    .or_raise();
}

/// The other copied tables hold everything up to `applied` (what the worker has applied) and
/// what their own copy point holds: their point becomes the later of the two
/// (`handover::later`; a point never moves back, or a stream set back by an earlier swap would
/// replay into them what they have).
pub fn hold_up_to(id: i64, except: &[String], applied: &Coordinates) {
    let held: std::collections::HashMap<String, Coordinates> = points(id).or_raise().into_iter().collect();
    let copied = super::query_column::<String>(
        "SELECT v_table_name::text FROM sch_chameleon.t_replica_tables
          WHERE i_id_source = $1 AND enm_copy_state = 'copied' AND v_table_name <> ALL ($2)",
        &[id.into(), except.to_vec().into()],
    );
    for table in copied {
        let point = held.get(&table).map_or_else(|| applied.clone(), |p| chameleon_core::handover::later(p, applied));
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_replica_tables
                SET t_copy_binlog_name = $3, i_copy_binlog_position = $4, t_copy_gtid = nullif($5, '')
              WHERE i_id_source = $1 AND v_table_name = $2",
            &[id.into(), table.as_str().into(), point.binlog_file.as_str().into(), (point.binlog_position as i64).into(), point.gtid.as_str().into()],
        )
        .or_raise();
    }
}

/// The tables registered for the source.
pub fn registered(id: i64) -> Vec<String> {
    super::query_column::<String>(
        "SELECT v_table_name::text FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
        &[id.into()],
    )
}

/// One row of show_copy.
pub type CopyRow = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<TimestampWithTimeZone>,
    Option<String>,
);

/// A copy under way (tables waiting or staged): tables done of those queued with them (one
/// call queues its tables at one `ts_queued`, its transaction's start), rows
/// copied (COPY's progress for a table being copied) of MySQL's estimate, the rate since the
/// first was queued, and the time left at that rate. None when no copy runs.
pub fn progress(id: i64) -> Option<String> {
    let sql = format!("
        WITH round AS (
            SELECT t.enm_copy_state, t.i_rows_estimate,
                   CASE WHEN t.enm_copy_state = 'waiting' THEN coalesce(p.tuples_processed, 0) ELSE t.i_rows_copied END AS done
              FROM sch_chameleon.t_replica_tables t
              {LIVE_COPY}
             WHERE t.i_id_source = $1
               AND t.ts_queued >= (SELECT min(ts_queued) FROM sch_chameleon.t_replica_tables
                                    WHERE i_id_source = $1 AND enm_copy_state <> 'copied')),
        -- (a CTE: the volatile clock is read once, not per row)
        elapsed AS (
            SELECT greatest(extract(epoch FROM clock_timestamp() - min(ts_queued)), 0.001) AS secs
              FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1 AND enm_copy_state <> 'copied')
        SELECT format('%s/%s tables, %s of ~%s rows, %s rows/s, %s',
                      count(*) FILTER (WHERE enm_copy_state <> 'waiting'), count(*), sum(done),
                      sum(greatest(coalesce(i_rows_estimate, 0), coalesce(done, 0))), round(sum(done) / secs),
                      CASE WHEN sum(done) > 0
                           THEN 'about ' || round(greatest(sum(greatest(coalesce(i_rows_estimate, 0), coalesce(done, 0))) - sum(done), 0)
                                             * secs / sum(done)) || ' s left'
                           ELSE 'starting' END)
          FROM round CROSS JOIN elapsed
         GROUP BY secs
        HAVING count(*) FILTER (WHERE enm_copy_state <> 'copied') > 0");
    query_opt::<String>(&sql, &[id.into()])
}

/// A waiting table `t` joined to the COPY a copy worker runs for it now, if any (`a`, `p`):
/// found by the activity the worker reports (`activity`).
const LIVE_COPY: &str = "LEFT JOIN pg_stat_activity a
            ON t.enm_copy_state = 'waiting' AND a.datname = current_database()
           AND a.query = format('chameleon copy of source %s: %s', t.i_id_source, t.v_table_name)
          LEFT JOIN pg_stat_progress_copy p ON p.pid = a.pid";

/// What a copy worker reports as its activity while it copies `table` (show_copy finds it
/// by this text: the table it creates is not visible outside its transaction).
pub fn activity(id: i64, table: &str) -> String {
    format!("chameleon copy of source {id}: {table}")
}

/// Each table's copy: state (a table being copied now shows as such, with the rows COPY has
/// written so far), rows estimated and copied, when, and its copy point.
pub fn rows(source: Option<&str>) -> Vec<CopyRow> {
    let sql = format!("
        SELECT s.t_source, t.v_table_name::text,
               CASE WHEN t.enm_copy_state <> 'waiting' THEN t.enm_copy_state::text
                    WHEN a.pid IS NOT NULL THEN 'copying' ELSE 'waiting' END,
               t.i_rows_estimate, CASE WHEN t.enm_copy_state = 'waiting' THEN p.tuples_processed ELSE t.i_rows_copied END,
               t.ts_copied,
               t.t_copy_binlog_name || ':' || t.i_copy_binlog_position
                 || coalesce(' GTID ' || t.t_copy_gtid, '')
          FROM sch_chameleon.t_replica_tables t
          JOIN sch_chameleon.t_sources s USING (i_id_source)
          {LIVE_COPY}
         WHERE $1::text IS NULL OR s.t_source = $1
         ORDER BY 1, 2");
    Spi::connect(|c| {
        c.select(&sql, None, &[source.into()])?
            .map(|r| {
                Ok::<_, pgrx::spi::SpiError>((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?.unwrap_or_default(),
                    r.get::<String>(3)?.unwrap_or_default(),
                    r.get::<i64>(4)?,
                    r.get::<i64>(5)?,
                    r.get::<TimestampWithTimeZone>(6)?,
                    r.get::<String>(7)?,
                ))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
    })
    .or_raise()
}

/// A background copy starts: no resume position until every table is in (start_replica waits).
pub fn begin(id: i64) {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET t_binlog_name = NULL, i_binlog_position = NULL, t_gtid = NULL, ts_last_event = NULL,
                ts_last_replayed = NULL, t_last_error = NULL, ts_last_error = NULL
          WHERE i_id_source = $1",
        &[id.into()],
    )
    .or_raise();
}

/// A copy worker failed, with why. A first copy stops the source in `error` (the tables copied
/// stay; init_replica starts over); a copy again (sync_tables) is given up — its tables stay as
/// they were, a table never copied is forgotten — and the source replicates on, the error
/// shown by show_status.
pub fn fail(id: i64, why: &str) -> Result<()> {
    for sql in [
        "UPDATE sch_chameleon.t_sources
            SET enm_status = CASE WHEN enm_status = 'initialising' THEN 'error' ELSE enm_status END,
                t_last_error = $2, ts_last_error = clock_timestamp()
          WHERE i_id_source = $1",
        "DELETE FROM sch_chameleon.t_replica_tables
          WHERE i_id_source = $1 AND enm_copy_state = 'waiting' AND jsb_columns IS NULL AND $2 IS NOT NULL
            AND (SELECT enm_status FROM sch_chameleon.t_sources WHERE i_id_source = $1) <> 'error'",
        "UPDATE sch_chameleon.t_replica_tables SET enm_copy_state = 'copied'
          WHERE i_id_source = $1 AND enm_copy_state = 'waiting' AND $2 IS NOT NULL
            AND (SELECT enm_status FROM sch_chameleon.t_sources WHERE i_id_source = $1) <> 'error'",
    ] {
        Spi::run_with_args(sql, &[id.into(), why.into()]).map_err(catalogue("recording why the copy stopped"))?;
    }
    Ok(())
}

/// Locks the source's row for the end of its copy; whether it is still being copied.
pub fn lock_for_finish(id: i64) -> bool {
    update_opt::<bool>(
        "SELECT enm_status = 'initialising' FROM sch_chameleon.t_sources WHERE i_id_source = $1 FOR UPDATE",
        &[id.into()],
    )
    .unwrap_or(false)
}

/// A table queued but gone from MySQL by the time its copy started.
pub fn forget(id: i64, db: &str, table: &str) {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[id.into(), db.into(), table.into()],
    )
    .or_raise();
}

/// The source's copy queued at or after `since`, read with a new snapshot (a caller waits in
/// one transaction and must see the workers' commits); None when the source is gone.
pub fn watch(id: i64, since: TimestampWithTimeZone) -> Option<Watch> {
    Spi::connect_mut(|c| {
        let t = c.update(
            "SELECT s.enm_status::text, s.b_enabled,
                    CASE WHEN s.ts_last_error >= $2 THEN s.t_last_error END,
                    coalesce(s.t_binlog_name || ':' || s.i_binlog_position, '')
                      || coalesce(' (GTID ' || s.t_gtid || ')', ''),
                    count(t.v_table_name), count(*) FILTER (WHERE t.enm_copy_state = 'waiting'),
                    coalesce(sum(t.i_rows_copied) FILTER (WHERE t.enm_copy_state = 'copied'), 0)::bigint,
                    coalesce(jsonb_agg(jsonb_build_array(t.v_table_name, t.i_rows_copied) ORDER BY t.ts_copied)
                               FILTER (WHERE t.enm_copy_state = 'copied'), '[]')
               FROM sch_chameleon.t_sources s
               LEFT JOIN sch_chameleon.t_replica_tables t ON t.i_id_source = s.i_id_source AND t.ts_queued >= $2
              WHERE s.i_id_source = $1
              GROUP BY s.i_id_source",
            None,
            &[id.into(), since.into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        let copied: Vec<(String, i64)> =
            serde_json::from_value(r.get::<JsonB>(8)?.map(|j| j.0).unwrap_or_default()).unwrap_or_default();
        Ok::<_, pgrx::spi::SpiError>(Some(Watch {
            status: r.get::<String>(1)?.as_deref().and_then(Status::parse).unwrap_or(Status::Error),
            enabled: r.get::<bool>(2)?.unwrap_or(true),
            error: r.get::<String>(3)?,
            position: r.get::<String>(4)?.unwrap_or_default(),
            queued: r.get::<i64>(5)?.unwrap_or(0),
            waiting: r.get::<i64>(6)?.unwrap_or(0),
            rows: r.get::<i64>(7)?.unwrap_or(0),
            copied,
        }))
    })
    .map_err(catalogue("watching the copy"))
    .or_raise()
}

/// When the source's tables were queued (a copy already under way).
pub fn queued_at(id: i64) -> TimestampWithTimeZone {
    update_opt::<TimestampWithTimeZone>(
        "SELECT coalesce(min(ts_queued), now()) FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
        &[id.into()],
    )
    .unwrap_or_else(clock)
}

/// The time now (not the transaction's start).
pub fn clock() -> TimestampWithTimeZone {
    query_opt::<TimestampWithTimeZone>("SELECT clock_timestamp()", &[])
        .unwrap_or_else(|| crate::error::raise(chameleon_core::Error::new(chameleon_core::SqlState::Internal, "no clock")))
}
