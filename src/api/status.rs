//! show_status and show_errors: what a DBA looks at. Never shows a password.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::catalog;

/// One row of show_status (1.6: with copy_progress).
type StatusRow = (
    String,
    String,
    String,
    bool,
    bool,
    Option<i32>,
    Option<Interval>,
    Option<Interval>,
    Option<TimestampWithTimeZone>,
    Option<TimestampWithTimeZone>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
);

fn status_rows() -> Vec<StatusRow> {
    // the live part comes from the worker slots in shared memory
    let live = crate::worker::live_workers();
    let copies = catalog::copies::keeps_copy_points();
    catalog::status::sources()
        .into_iter()
        .map(move |r| {
            let worker = live.iter().find(|w| w.source == r.id);
            let mut last_error = r.last_error;
            let status = match worker {
                None if r.status == "running" => "running (no worker)".to_string(),
                Some(w) if w.retries > 0 => {
                    // MySQL is unreachable: the worker retries; say why and how often
                    last_error = Some(w.reason.clone());
                    format!("{} (reconnecting, attempt {})", r.status, w.retries)
                }
                _ => r.status,
            };
            let progress = copies.then(|| catalog::copies::progress(r.id)).flatten();
            (
                r.source,
                r.dest_schema,
                status,
                r.enabled,
                r.replay_paused,
                worker.map(|w| w.pid),
                r.read_lag,
                r.replay_lag,
                r.last_received,
                r.last_replayed,
                r.binlog_file,
                r.binlog_position,
                r.gtid,
                r.batches_pending,
                r.events_pending,
                r.tables,
                r.tables_without_pk,
                r.discarded_rows,
                last_error,
                r.mysql_url,
                progress,
            )
        })
        .collect()
}

/// 1.2 to 1.5's show_status (their scripts name `show_status_wrapper`): 1.6's columns but the
/// last.
#[pg_extern(sql = false)]
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
    TableIterator::new(status_rows().into_iter().map(|r| {
        (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13, r.14, r.15, r.16, r.17, r.18, r.19)
    }))
}

/// One row per source; 1.6: `copy_progress` while a copy (init_replica without wait,
/// sync_tables) runs — tables done of queued, rows copied of MySQL's estimate, rate, time left.
#[pg_extern(schema = "chameleon", name = "show_status")]
#[allow(clippy::type_complexity)]
fn show_status_v16() -> TableIterator<
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
        name!(copy_progress, Option<String>),
    ),
> {
    TableIterator::new(status_rows())
}

/// Each replicated table's copy (1.6): waiting, copying (with the rows COPY has written so
/// far) or copied, MySQL's row estimate, rows copied, when, and the copy point replication
/// hands over at.
#[pg_extern(schema = "chameleon")]
#[allow(clippy::type_complexity)]
fn show_copy(
    source: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(source_name, String),
        name!(table_name, String),
        name!(state, String),
        name!(rows_estimate, Option<i64>),
        name!(rows_copied, Option<i64>),
        name!(copied_at, Option<TimestampWithTimeZone>),
        name!(copy_point, Option<String>),
    ),
> {
    TableIterator::new(catalog::copies::rows(source))
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
        catalog::lock_source(name); // unknown source: a clear error, not an empty set
    }
    TableIterator::new(catalog::status::errors(source))
}

/// 1.4's show_tables (its script names `show_tables_wrapper`): the 1.5 columns but the last.
#[pg_extern(sql = false)]
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
        catalog::lock_source(name);
    }
    TableIterator::new(catalog::status::tables(source).into_iter().map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, r.6)))
}

/// The replicated tables of every source (or of one): primary key, rows copied by init_replica,
/// values the copy and replication changed on their way (zero dates, NUL removed, bytes invalid
/// in their character set replaced: docs/types.md), rows set aside (show_errors), and 1.5: the
/// table's MySQL CHECK constraints PostgreSQL does not get, each with why (docs/ddl.md).
#[pg_extern(schema = "chameleon", name = "show_tables")]
#[allow(clippy::type_complexity)]
fn show_tables_v15(
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
        name!(checks_not_carried, Vec<String>),
    ),
> {
    if let Some(name) = source {
        catalog::lock_source(name); // unknown source: a clear error, not an empty set
    }
    TableIterator::new(catalog::status::tables(source))
}
