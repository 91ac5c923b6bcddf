//! init_replica: copies a MySQL database into the destination schema from one consistent
//! snapshot, through PostgreSQL's COPY machinery, then builds keys and indexes and records
//! where replication starts. Everything happens in the caller's transaction: a failed or
//! cancelled init leaves nothing half-copied behind.

mod feed;

use std::time::Instant;

use chameleon_core::ddl;
use chameleon_core::snapshot::{self, TableDef};
use chameleon_core::state::{plan, Verb};
use chameleon_core::types::{map_column, PgColumn};
use chameleon_core::{Error, SqlState};
use pgrx::prelude::*;

use crate::catalog::{self, query_opt};
use crate::error::{notice, raise, OrRaise};

/// The destination schema is replaced only if it holds this source's previous copy (or
/// nothing): a schema chameleon did not fill is never dropped.
fn prepare_destination(id: i64, dest: &str) {
    let objects = query_opt::<i64>(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
        &[dest.into()],
    );
    let exists = query_opt::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
        &[dest.into()],
    )
    .unwrap_or(false);
    if exists {
        let had_copy = query_opt::<bool>(
            "SELECT EXISTS (SELECT 1 FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1)",
            &[id.into()],
        )
        .unwrap_or(false);
        if !had_copy && objects.unwrap_or(0) > 0 {
            raise(
                Error::new(SqlState::DuplicateObject, format!("destination schema \"{dest}\" exists and holds objects chameleon did not create"))
                    .detail(format!("{} relations are in it.", objects.unwrap_or(0)))
                    .hint("Drop or rename that schema, or register the source again with another dest_schema."),
            );
        }
        Spi::run(&format!(
            "DROP SCHEMA {} CASCADE",
            spi::quote_identifier(dest)
        ))
        .or_raise();
    }
    Spi::run(&format!("CREATE SCHEMA {}", spi::quote_identifier(dest))).or_raise();
}

fn regclass(schema: &str, table: &str) -> pg_sys::Oid {
    query_opt::<pg_sys::Oid>(
        "SELECT format('%I.%I', $1::text, $2::text)::regclass::oid",
        &[schema.into(), table.into()],
    )
    .expect("the table was just created")
}

/// init_replica and 1.2's sync_replica.
pub fn init_replica(source: &str, verb: Verb) -> i64 {
    let src = catalog::lock_source(source);
    plan(source, verb, src.state).or_raise();
    let s = catalog::load_source(src.id).expect("the source is locked");
    let dest = src.dest_schema.clone();
    let started = Instant::now();

    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let tables = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    let lock_timeout_s = s
        .copy_options
        .get("lock_timeout_ms")
        .and_then(|v| v.as_u64())
        .map_or(60, |ms| ms.div_ceil(1000));
    let (mut reader, coords) = snapshot::consistent_snapshot(&s.conn, lock_timeout_s).or_raise();
    notice(&format!(
        "init_replica \"{source}\": snapshot of \"{}\" at {}:{}{} ({} tables)",
        s.conn.database,
        coords.binlog_file,
        coords.binlog_position,
        if coords.gtid.is_empty() {
            String::new()
        } else {
            format!(", GTID {}", coords.gtid)
        },
        tables.len()
    ));
    let defs = snapshot::read_tables(&mut reader, &s.conn.database, &tables).or_raise();
    // map every column before anything is dropped or created
    let mapped: Vec<(TableDef, Vec<PgColumn>)> = defs
        .into_iter()
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .map(|c| map_column(&t.name, c, &s.type_overrides))
                .collect::<Result<Vec<_>, _>>();
            let cols = cols
                .map_err(|e| e.detail(format!("table \"{}\"", t.name)))
                .or_raise();
            (t, cols)
        })
        .collect();

    // names PostgreSQL's 63-byte limit would make one: refused before anything changes
    chameleon_core::names::check_truncation(
        "table",
        &format!("database \"{}\"", s.conn.database),
        mapped.iter().map(|(t, _)| t.name.as_str()),
    )
    .or_raise();
    for (t, _) in &mapped {
        chameleon_core::names::check_truncation(
            "column",
            &format!("table \"{}\"", t.name),
            t.columns.iter().map(|c| c.name.as_str()),
        )
        .or_raise();
    }
    prepare_destination(src.id, &dest);
    for (t, cols) in &mapped {
        Spi::run(&ddl::create_table(&dest, &t.name, cols)).or_raise();
    }

    // rows: a reader thread streams from the snapshot, this backend COPYs
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let work: Vec<(String, Vec<String>, Vec<PgColumn>)> = mapped
        .iter()
        .map(|(t, c)| {
            (
                t.name.clone(),
                t.columns.iter().map(|m| m.name.clone()).collect(),
                c.clone(),
            )
        })
        .collect();
    let db = s.conn.database.clone();
    let reader_thread = std::thread::Builder::new()
        .name("chameleon-copy".into())
        .spawn(move || chameleon_core::copy::run_reader(reader, &db, work, tx))
        .unwrap_or_else(|e| {
            raise(Error::new(
                SqlState::ConnectionFailure,
                format!("could not start the copy thread: {e}"),
            ))
        });
    let guard = feed::FeedGuard::install(rx);
    let mut copied = Vec::new();
    let mut total = 0u64;
    for (t, _) in &mapped {
        let t0 = Instant::now();
        let (rows, zero_dates) = feed::copy_table(&guard, regclass(&dest, &t.name));
        let secs = t0.elapsed().as_secs_f64();
        notice(&format!(
            "init_replica \"{source}\": {}: {rows} rows in {secs:.2} s ({:.0} rows/s){}",
            t.name,
            rows as f64 / secs.max(1e-6),
            if zero_dates > 0 {
                format!(", {zero_dates} zero dates replaced")
            } else {
                String::new()
            }
        ));
        total += rows;
        copied.push((t.name.clone(), rows, zero_dates));
    }
    drop(guard);
    let _ = reader_thread.join();

    // keys and indexes after the load, then foreign keys (NOT VALID) once every table exists
    let names: Vec<String> = mapped.iter().map(|(t, _)| t.name.clone()).collect();
    let mut index_defs = Vec::new();
    for (t, cols) in &mapped {
        let (post, skipped) = ddl::post_load(&dest, t, cols);
        for p in post {
            Spi::run(&p.sql).or_raise();
            index_defs.push((t.name.clone(), p));
        }
        for what in skipped {
            notice(&format!("init_replica \"{source}\": {what} has no PostgreSQL equivalent here and was not created"));
        }
    }
    for (t, _) in &mapped {
        for p in ddl::foreign_keys(&dest, t, &names) {
            Spi::run(&p.sql).or_raise();
            index_defs.push((t.name.clone(), p));
        }
    }
    record(
        src.id,
        &s.conn.database,
        &dest,
        &mapped,
        &copied,
        &index_defs,
        &coords,
    );
    notice(&format!(
        "init_replica \"{source}\": {total} rows in {} tables copied in {:.1} s; replication starts at {}:{}",
        mapped.len(),
        started.elapsed().as_secs_f64(),
        coords.binlog_file,
        coords.binlog_position
    ));
    total as i64
}

fn record(
    id: i64,
    db: &str,
    dest: &str,
    mapped: &[(TableDef, Vec<PgColumn>)],
    copied: &[(String, u64, u64)],
    index_defs: &[(String, ddl::PostLoad)],
    coords: &snapshot::Coordinates,
) {
    let _ = dest;
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
        &[id.into()],
    )
    .or_raise();
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1",
        &[id.into()],
    )
    .or_raise();
    // batches stored before this copy describe changes the copy already holds
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_replica_batch WHERE i_id_source = $1",
        &[id.into()],
    )
    .or_raise();
    let models = catalog::keeps_table_models();
    for ((t, _), (_, rows, zero_dates)) in mapped.iter().zip(copied) {
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_replica_tables
                (i_id_source, v_table_name, v_schema_name, v_table_pkey, i_rows_copied, i_zero_dates, ts_copied)
             VALUES ($1, $2, $3, $4::varchar[], $5, $6, clock_timestamp())",
            &[id.into(), t.name.as_str().into(), db.into(), t.primary_key().into(), (*rows as i64).into(), (*zero_dates as i64).into()],
        )
        .or_raise();
        if models {
            // the table as the snapshot has it: where replication starts
            Spi::run_with_args(
                "UPDATE sch_chameleon.t_replica_tables SET jsb_columns = $4 WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[id.into(), db.into(), t.name.as_str().into(), pgrx::JsonB(serde_json::to_value(t).unwrap_or_default()).into()],
            )
            .or_raise();
        }
    }
    for (table, p) in index_defs
        .iter()
        .filter(|(_, p)| matches!(p.kind, "primary" | "unique" | "index" | "foreign"))
    {
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_index_def (i_id_source, v_schema_name, v_table_name, v_index_name, v_kind, t_index_def)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[id.into(), db.into(), table.as_str().into(), p.name.as_str().into(), p.kind.into(), p.sql.as_str().into()],
        )
        .or_raise();
    }
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources
            SET enm_status = 'initialised', t_binlog_name = $2, i_binlog_position = $3, t_gtid = nullif($4, ''),
                ts_last_event = NULL, ts_last_replayed = NULL, t_last_error = NULL, ts_last_error = NULL
          WHERE i_id_source = $1",
        &[id.into(), coords.binlog_file.as_str().into(), (coords.binlog_position as i64).into(), coords.gtid.as_str().into()],
    )
    .or_raise();
}
