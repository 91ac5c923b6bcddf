//! t_replica_batch and the log tables: batches stored with their log rows, read back for
//! replay, marked replayed, kept for batch_retention.

use chameleon_core::batch::LogColumns;
use chameleon_core::binlog::Position;
use chameleon_core::event::EventKind;
use chameleon_core::schema_change::{DdlEvent, Registration};
use chameleon_core::Result;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value as Json;

use super::{Layout, SourceConfig};
use crate::error::catalogue;

fn one<T: FromDatum + IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
    what: &str,
) -> Result<T> {
    Spi::connect_mut(|c| c.update(sql, Some(1), args)?.first().get::<T>(1))
        .map_err(catalogue(what))?
        .ok_or_else(|| {
            chameleon_core::Error::new(
                chameleon_core::SqlState::Internal,
                format!("chameleon catalogue: {what} returned no row"),
            )
        })
}

/// A batch row at `end`; with log rows, the log table they go to (1.3: the source's pair
/// rotates on every such batch; 1.2: the source flips between the two shared tables).
/// Returns (batch id, log table).
pub fn insert_batch(
    src: &SourceConfig,
    end: &Position,
    with_log_rows: bool,
) -> Result<(i64, Option<String>)> {
    let id = one::<i64>(
        match src.layout {
            Layout::PerSource => {
                "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position, t_gtid,
                        b_started, b_processed, ts_processed)
                 VALUES ($1, $2, $3, $4, true, true, clock_timestamp()) RETURNING i_id_batch"
            }
            Layout::Shared => {
                "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position, t_gtid,
                        b_started, b_processed, ts_processed, v_log_table)
                 VALUES ($1, $2, $3, $4, true, true, clock_timestamp(),
                         CASE (SELECT v_log_table FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1
                                ORDER BY i_id_batch DESC LIMIT 1)
                              WHEN 't_log_replica_1' THEN 't_log_replica_2' ELSE 't_log_replica_1' END)
                 RETURNING i_id_batch"
            }
        },
        &[src.id.into(), end.file.as_str().into(), (end.pos as i64).into(), end.gtid.clone().into()],
        "storing a batch",
    )?;
    if !with_log_rows {
        return Ok((id, None));
    }
    let table = match src.layout {
        Layout::PerSource => one::<String>(
            "UPDATE sch_chameleon.t_sources SET v_log_table = ARRAY[v_log_table[2], v_log_table[1]]
              WHERE i_id_source = $1 RETURNING v_log_table[1]::text",
            &[src.id.into()],
            "rotating the source's log tables",
        )?,
        Layout::Shared => one::<String>(
            "SELECT v_log_table::text FROM sch_chameleon.t_replica_batch WHERE i_id_batch = $1",
            &[id.into()],
            "reading the batch's log table",
        )?,
    };
    Ok((id, Some(table)))
}

/// A batch's log rows into `table`, in order, in one statement.
pub fn insert_log_rows(table: &str, batch_id: i64, rows: LogColumns) -> Result<()> {
    // the log rows reference their batch, inserted just before: the per-row foreign key
    // checks would only cost time (40% of the insert)
    Spi::run("SET LOCAL session_replication_role = replica")
        .map_err(catalogue("setting session_replication_role"))?;
    let LogColumns {
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
            spi::quote_identifier(table)
        ),
        &[batch_id.into(), tables.into(), schemas.into(), kinds.into(), files.into(), positions.into(), timestamps.into(),
          data.into(), identities.into(), queries.into()],
    )
    .map_err(catalogue("storing log rows"))?;
    // back to origin for whatever else this transaction does: triggers and foreign keys
    // elsewhere must act
    Spi::run("SET LOCAL session_replication_role = origin")
        .map_err(catalogue("resetting session_replication_role"))
}

/// The stored batches not replayed yet, in order.
pub fn pending_batches(id: i64) -> Result<Vec<i64>> {
    Spi::connect(|c| {
        c.select(
            "SELECT i_id_batch FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1 AND b_processed AND NOT b_replayed ORDER BY i_id_batch",
            None,
            &[id.into()],
        )?
        .map(|r| r.get::<i64>(1).map(Option::unwrap_or_default))
        .collect::<std::result::Result<Vec<i64>, _>>()
    })
    .map_err(catalogue("reading the pending batches"))
}

/// Removes replayed batches older than the source's batch_retention (their log rows went
/// when they were replayed; the batch rows are history).
pub fn clean_old_batches(id: i64) -> Result<()> {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_replica_batch b USING sch_chameleon.t_sources s
          WHERE b.i_id_source = $1 AND s.i_id_source = b.i_id_source AND b.b_replayed
            AND b.ts_replayed < clock_timestamp() - s.iv_batch_retention",
        &[id.into()],
    )
    .map_err(catalogue("removing old batches"))
}

/// What a replay did: rows applied, schema changes run, rows set aside.
#[derive(Debug, Default, Clone, Copy)]
pub struct Replayed {
    pub applied: i64,
    pub ddl: i64,
    pub skipped: i64,
}

/// The resume position of a batch stored before its end was known (a transaction applied in
/// parts: its batch row comes with the first part, its end with the commit).
pub fn set_end(batch_id: i64, end: &Position) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_batch SET t_binlog_name = $2, i_binlog_position = $3, t_gtid = $4
          WHERE i_id_batch = $1",
        &[batch_id.into(), end.file.as_str().into(), (end.pos as i64).into(), end.gtid.clone().into()],
    )
    .map_err(catalogue("storing the end of a batch"))
}

/// The end of a replay: its log rows deleted, the batch marked with its counts.
pub fn mark_replayed(batch_id: i64, r: Replayed) -> Result<()> {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_log_replica WHERE i_id_batch = $1",
        &[batch_id.into()],
    )
    .map_err(catalogue("deleting replayed log rows"))?;
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_batch
            SET b_replayed = true, ts_replayed = clock_timestamp(), i_replayed = $2, i_ddl = $3, i_skipped = $4
          WHERE i_id_batch = $1",
        &[batch_id.into(), r.applied.into(), r.ddl.into(), r.skipped.into()],
    )
    .map_err(catalogue("marking a batch replayed"))
}

/// A log row read back for replay.
pub struct StoredLogRow {
    /// i_id_event: its place in the batch
    pub id: i64,
    pub table: String,
    pub kind: EventKind,
    pub data: Option<Json>,
    pub identity: Option<Json>,
    pub query: Option<String>,
    pub timestamp: Option<i64>,
    pub schema: Option<String>,
    pub file: Option<String>,
    pub pos: Option<i64>,
}

/// Up to `limit` of a batch's log rows after event `after`, in binlog order (a batch of any
/// size is read a page at a time; the log tables index (i_id_batch, i_id_event)).
pub fn log_rows_after(batch_id: i64, after: i64, limit: i64) -> Result<Vec<StoredLogRow>> {
    Spi::connect(|c| {
        c.select(
            "SELECT v_table_name::text, enm_binlog_event::text, jsb_event_data, jsb_event_update, t_query,
                    extract(epoch FROM ts_event_datetime)::bigint, v_schema_name::text, t_binlog_name, i_binlog_position,
                    i_id_event
               FROM sch_chameleon.t_log_replica WHERE i_id_batch = $1 AND i_id_event > $2
              ORDER BY i_id_event LIMIT $3",
            None,
            &[batch_id.into(), after.into(), limit.into()],
        )?
        .map(|r| {
            let kind = r.get::<String>(2)?.unwrap_or_default();
            Ok::<_, pgrx::spi::SpiError>(StoredLogRow {
                id: r.get::<i64>(10)?.unwrap_or_default(),
                table: r.get::<String>(1)?.unwrap_or_default(),
                // the catalogue's enum has exactly these labels
                kind: EventKind::parse(&kind).unwrap_or(EventKind::Ddl),
                data: r.get::<JsonB>(3)?.map(|j| j.0),
                identity: r.get::<JsonB>(4)?.map(|j| j.0),
                query: r.get::<String>(5)?,
                timestamp: r.get::<i64>(6)?,
                schema: r.get::<String>(7)?,
                file: r.get::<String>(8)?,
                pos: r.get::<i64>(9)?,
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .map_err(catalogue("reading a batch's log rows"))
}

/// The registrations of schema changes stored but not replayed yet (replay paused), in binlog
/// order: they are already behind the resume position.
pub fn pending_registrations(id: i64) -> Result<Vec<Vec<Registration>>> {
    let events: Vec<Json> = Spi::connect(|c| {
        c.select(
            "SELECT l.jsb_event_data FROM sch_chameleon.t_log_replica l
               JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)
              WHERE b.i_id_source = $1 AND b.b_processed AND NOT b.b_replayed AND l.enm_binlog_event = 'ddl'
              ORDER BY l.i_id_batch, l.i_id_event",
            None,
            &[id.into()],
        )?
        .filter_map(|r| r.get::<JsonB>(1).ok().flatten().map(|j| Ok(j.0)))
        .collect::<std::result::Result<Vec<Json>, pgrx::spi::SpiError>>()
    })
    .map_err(catalogue("reading pending schema changes"))?;
    Ok(events
        .into_iter()
        .map(|e| {
            serde_json::from_value::<DdlEvent>(e)
                .map(|d| d.registrations)
                .unwrap_or_default()
        })
        .collect())
}

/// Batches stored before a copy describe changes the copy already holds.
pub fn forget_batches(id: i64) -> Result<()> {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1",
        &[id.into()],
    )
    .map_err(catalogue("removing the source's batches"))
}
