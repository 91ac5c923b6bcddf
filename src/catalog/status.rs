//! What show_status, show_errors and show_tables read. Counted through the root log table, so
//! the same queries serve both layouts.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::error::OrRaise;

/// A source as the catalogue has it (the live part comes from the worker slots).
pub struct SourceRow {
    pub id: i64,
    pub source: String,
    pub dest_schema: String,
    pub status: String,
    pub enabled: bool,
    pub replay_paused: bool,
    pub read_lag: Option<Interval>,
    pub replay_lag: Option<Interval>,
    pub last_received: Option<TimestampWithTimeZone>,
    pub last_replayed: Option<TimestampWithTimeZone>,
    pub binlog_file: Option<String>,
    pub binlog_position: Option<i64>,
    pub gtid: Option<String>,
    pub batches_pending: i64,
    pub events_pending: i64,
    pub tables: i64,
    pub tables_without_pk: i64,
    pub discarded_rows: i64,
    pub last_error: Option<String>,
    /// without its password
    pub mysql_url: String,
}

pub fn sources() -> Vec<SourceRow> {
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
    Spi::connect(|c| {
        c.select(sql, None, &[])?
            .map(|r| {
                Ok::<_, pgrx::spi::SpiError>(SourceRow {
                    source: r.get::<String>(1)?.unwrap_or_default(),
                    dest_schema: r.get::<String>(2)?.unwrap_or_default(),
                    status: r.get::<String>(3)?.unwrap_or_default(),
                    enabled: r.get::<bool>(4)?.unwrap_or(true),
                    replay_paused: r.get::<bool>(5)?.unwrap_or(false),
                    id: r.get::<i64>(6)?.unwrap_or_default(),
                    read_lag: r.get::<Interval>(7)?,
                    replay_lag: r.get::<Interval>(8)?,
                    last_received: r.get::<TimestampWithTimeZone>(9)?,
                    last_replayed: r.get::<TimestampWithTimeZone>(10)?,
                    binlog_file: r.get::<String>(11)?,
                    binlog_position: r.get::<i64>(12)?,
                    gtid: r.get::<String>(13)?,
                    batches_pending: r.get::<i64>(14)?.unwrap_or(0),
                    events_pending: r.get::<i64>(15)?.unwrap_or(0),
                    tables: r.get::<i64>(16)?.unwrap_or(0),
                    tables_without_pk: r.get::<i64>(17)?.unwrap_or(0),
                    discarded_rows: r.get::<i64>(18)?.unwrap_or(0),
                    last_error: r.get::<String>(19)?,
                    mysql_url: r.get::<String>(20)?.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .or_raise()
}

/// show_errors' row.
pub type ErrorRow = (
    String,
    i64,
    TimestampWithTimeZone,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    Option<JsonB>,
    Option<String>,
);

/// Rows and statements set aside, of one source or all, oldest first.
pub fn errors(source: Option<&str>) -> Vec<ErrorRow> {
    let sql = "
        SELECT s.t_source, d.i_id_discarded, d.ts_discarded, d.i_id_batch, d.v_schema_name::text,
               d.v_table_name::text, d.enm_binlog_event::text, d.t_binlog_name, d.i_binlog_position,
               d.t_sqlstate, d.t_reason, coalesce(d.jsb_event_data, d.jsb_event_update), d.t_query
          FROM sch_chameleon.t_discarded_rows d
          JOIN sch_chameleon.t_sources s USING (i_id_source)
         WHERE $1::text IS NULL OR s.t_source = $1
          ORDER BY d.i_id_discarded";
    Spi::connect(|c| {
        let mut out = Vec::new();
        for r in c.select(sql, None, &[source.into()])? {
            let Some(logged_at) = r.get::<TimestampWithTimeZone>(3)? else {
                continue; // ts_discarded is NOT NULL
            };
            out.push((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<i64>(2)?.unwrap_or_default(),
                logged_at,
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
    .or_raise()
}

/// show_tables' row.
/// source, table, primary key, rows copied, values changed by the copy and by replication, rows
/// set aside, CHECK constraints not carried (1.5; from the table model kept with the position)
pub type TableRow = (String, String, Vec<String>, Option<i64>, i64, i64, i64, Vec<String>);

/// The replicated tables of one source or all, with their figures.
pub fn tables(source: Option<&str>) -> Vec<TableRow> {
    let sql = "
        SELECT s.t_source, t.v_table_name::text, t.v_table_pkey::text[], t.i_rows_copied, t.i_zero_dates,
               t.i_values_changed,
               (SELECT count(*) FROM sch_chameleon.t_discarded_rows d
                 WHERE d.i_id_source = t.i_id_source AND d.v_table_name = t.v_table_name),
               t.jsb_columns
          FROM sch_chameleon.t_replica_tables t
          JOIN sch_chameleon.t_sources s USING (i_id_source)
         WHERE $1::text IS NULL OR s.t_source = $1
         ORDER BY 1, 2";
    Spi::connect(|c| {
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
                // (no model before 1.4's jsb_columns: nothing to say)
                r.get::<JsonB>(8)?
                    .and_then(|j| serde_json::from_value::<chameleon_core::snapshot::TableDef>(j.0).ok())
                    .map(|t| chameleon_core::ddl::checks_not_carried(&t))
                    .unwrap_or_default(),
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .or_raise()
}
