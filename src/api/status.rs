//! show_status and show_errors: what a DBA looks at. Never shows a password.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::OrRaise;

/// One row per source.
#[pg_extern(schema = "chameleon")]
#[allow(clippy::type_complexity)]
fn show_status() -> TableIterator<
    'static,
    (
        name!(source, String),
        name!(dest_schema, String),
        name!(status, String),
        name!(enabled, bool),
        name!(replay_paused, bool),
        name!(worker_pid, Option<i32>),
        name!(read_lag, Option<Interval>),
        name!(replay_lag, Option<Interval>),
        name!(last_received_event, Option<TimestampWithTimeZone>),
        name!(last_replayed_event, Option<TimestampWithTimeZone>),
        name!(binlog_file, Option<String>),
        name!(binlog_position, Option<i64>),
        name!(gtid, Option<String>),
        name!(batches_pending, i64),
        name!(events_pending, i64),
        name!(tables, i64),
        name!(tables_without_pk, i64),
        name!(discarded_rows, i64),
        name!(last_error, Option<String>),
        name!(mysql_conn, String),
    ),
> {
    // Counted through the root log table, so the same query serves both layouts.
    let sql = "
        SELECT s.t_source, s.t_dest_schema,
               s.enm_status::text, s.b_enabled, s.b_replay_paused, s.i_id_source,
               CASE WHEN s.enm_status = 'running' THEN clock_timestamp() - s.ts_last_event END,
               CASE WHEN s.ts_last_event IS NOT NULL
                    THEN greatest(s.ts_last_event - coalesce(s.ts_last_replayed, s.ts_last_event), '0'::interval) END,
               s.ts_last_event, s.ts_last_replayed, s.t_binlog_name, s.i_binlog_position, s.t_gtid,
               (SELECT count(*) FROM sch_chameleon.t_replica_batch b
                 WHERE b.i_id_source = s.i_id_source AND NOT b.b_replayed),
               (SELECT count(*) FROM sch_chameleon.t_log_replica l
                  JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)
                 WHERE b.i_id_source = s.i_id_source AND NOT b.b_replayed),
               (SELECT count(*) FROM sch_chameleon.t_replica_tables t WHERE t.i_id_source = s.i_id_source),
               (SELECT count(*) FROM sch_chameleon.t_replica_tables t
                 WHERE t.i_id_source = s.i_id_source AND cardinality(t.v_table_pkey) = 0),
               (SELECT count(*) FROM sch_chameleon.t_discarded_rows d WHERE d.i_id_source = s.i_id_source),
               s.t_last_error, s.t_mysql_url
          FROM sch_chameleon.t_sources s
         ORDER BY s.t_source";
    // the live part comes from the worker slots in shared memory
    let live = crate::worker::live_workers();
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for r in c.select(sql, None, &[])? {
            let status = r.get::<String>(3)?.unwrap_or_default();
            let id = r.get::<i64>(6)?;
            let worker = live.iter().find(|w| Some(w.source) == id);
            let mut last_error = r.get::<String>(19)?;
            let status = match worker {
                None if status == "running" => "running (no worker)".to_string(),
                Some(w) if w.retries > 0 => {
                    // MySQL is unreachable: the worker retries; say why and how often
                    last_error = Some(w.reason.clone());
                    format!("{status} (reconnecting, attempt {})", w.retries)
                }
                _ => status,
            };
            out.push((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<String>(2)?.unwrap_or_default(),
                status,
                r.get::<bool>(4)?.unwrap_or(true),
                r.get::<bool>(5)?.unwrap_or(false),
                worker.map(|w| w.pid),
                r.get::<Interval>(7)?,
                r.get::<Interval>(8)?,
                r.get::<TimestampWithTimeZone>(9)?,
                r.get::<TimestampWithTimeZone>(10)?,
                r.get::<String>(11)?,
                r.get::<i64>(12)?,
                r.get::<String>(13)?,
                r.get::<i64>(14)?.unwrap_or(0),
                r.get::<i64>(15)?.unwrap_or(0),
                r.get::<i64>(16)?.unwrap_or(0),
                r.get::<i64>(17)?.unwrap_or(0),
                r.get::<i64>(18)?.unwrap_or(0),
                last_error,
                r.get::<String>(20)?.unwrap_or_default(),
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .or_raise();
    TableIterator::new(rows)
}

/// Rows and statements that could not be stored or replayed, oldest first.
#[pg_extern(schema = "chameleon")]
#[allow(clippy::type_complexity)]
fn show_errors(
    source: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(source_name, String),
        name!(id, i64),
        name!(logged_at, TimestampWithTimeZone),
        name!(batch_id, Option<i64>),
        name!(schema_name, Option<String>),
        name!(table_name, Option<String>),
        name!(event, Option<String>),
        name!(binlog_file, Option<String>),
        name!(binlog_position, Option<i64>),
        name!(sqlstate, Option<String>),
        name!(reason, String),
        name!(event_data, Option<JsonB>),
        name!(query, Option<String>),
    ),
> {
    if let Some(name) = source {
        crate::catalog::lock_source(name); // unknown source: a clear error, not an empty set
    }
    let sql = "
        SELECT s.t_source, d.i_id_discarded, d.ts_discarded, d.i_id_batch, d.v_schema_name::text,
               d.v_table_name::text, d.enm_binlog_event::text, d.t_binlog_name, d.i_binlog_position,
               d.t_sqlstate, d.t_reason, coalesce(d.jsb_event_data, d.jsb_event_update), d.t_query
          FROM sch_chameleon.t_discarded_rows d
          JOIN sch_chameleon.t_sources s USING (i_id_source)
         WHERE $1::text IS NULL OR s.t_source = $1
         ORDER BY d.i_id_discarded";
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for r in c.select(sql, None, &[source.into()])? {
            out.push((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<i64>(2)?.unwrap_or_default(),
                r.get::<TimestampWithTimeZone>(3)?
                    .expect("ts_discarded is NOT NULL"),
                r.get::<i64>(4)?,
                r.get::<String>(5)?,
                r.get::<String>(6)?,
                r.get::<String>(7)?,
                r.get::<String>(8)?,
                r.get::<i64>(9)?,
                r.get::<String>(10)?,
                r.get::<String>(11)?.unwrap_or_default(),
                r.get::<JsonB>(12)?,
                r.get::<String>(13)?,
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .or_raise();
    TableIterator::new(rows)
}

/// The replicated tables of every source (or of one): primary key, rows copied by init_replica,
/// values the copy and replication changed on their way (zero dates, NUL removed, bytes invalid
/// in their character set replaced: docs/types.md), and rows set aside (show_errors). 1.4.
#[pg_extern(schema = "chameleon")]
#[allow(clippy::type_complexity)]
fn show_tables(
    source: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(source_name, String),
        name!(table_name, String),
        name!(primary_key, Vec<String>),
        name!(rows_copied, Option<i64>),
        name!(values_changed_by_copy, i64),
        name!(values_changed_by_replication, i64),
        name!(rows_set_aside, i64),
    ),
> {
    if let Some(name) = source {
        crate::catalog::lock_source(name); // unknown source: a clear error, not an empty set
    }
    let sql = "
        SELECT s.t_source, t.v_table_name::text, t.v_table_pkey::text[], t.i_rows_copied, t.i_zero_dates,
               t.i_values_changed,
               (SELECT count(*) FROM sch_chameleon.t_discarded_rows d
                 WHERE d.i_id_source = t.i_id_source AND d.v_table_name = t.v_table_name)
          FROM sch_chameleon.t_replica_tables t
          JOIN sch_chameleon.t_sources s USING (i_id_source)
         WHERE $1::text IS NULL OR s.t_source = $1
         ORDER BY 1, 2";
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for r in c.select(sql, None, &[source.into()])? {
            out.push((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<String>(2)?.unwrap_or_default(),
                r.get::<Vec<String>>(3)?.unwrap_or_default(),
                r.get::<i64>(4)?,
                r.get::<i64>(5)?.unwrap_or_default(),
                r.get::<i64>(6)?.unwrap_or_default(),
                r.get::<i64>(7)?.unwrap_or_default(),
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .or_raise();
    TableIterator::new(rows)
}
