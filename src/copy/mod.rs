//! init_replica: copies a MySQL database into the destination schema through PostgreSQL's
//! COPY machinery, builds keys and indexes and records where replication starts.
//!
//! The tables are queued (`background`) and copy workers (`worker`) copy them table by table,
//! each in a transaction of its own and from a snapshot of its worker (`gate`), recording each
//! table's copy point; the caller waits for them (`wait`) or not (docs/large-copies.md).
//! Without copy workers (`init_replica` here) everything happens in the caller's transaction
//! from one consistent snapshot: a failed or cancelled copy leaves nothing half-copied behind.

mod background;
mod feed;
mod gate;
mod rows;
mod sync;
mod wait;
pub mod worker;

use gate::{open_snapshot, reading_from_mysql};
use rows::{copy_rows, copy_split};

pub use background::{init_replica_background, queue_copy};
pub use wait::init_replica_waiting;
pub use sync::{drop_staging, queue_new_tables, swap_staged, sync_tables};

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
    if check_destination(id, dest) {
        Spi::run(&format!(
            "DROP SCHEMA {} CASCADE",
            spi::quote_identifier(dest)
        ))
        .or_raise();
    }
    Spi::run(&format!("CREATE SCHEMA {}", spi::quote_identifier(dest))).or_raise();
}

/// Whether the destination schema exists; refused when it holds objects chameleon did not
/// create.
fn check_destination(id: i64, dest: &str) -> bool {
    let objects = query_opt::<i64>(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
        &[dest.into()],
    );
    let exists = query_opt::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
        &[dest.into()],
    )
    .unwrap_or(false);
    if exists && !catalog::tables::has_copy(id) && objects.unwrap_or(0) > 0 {
        raise(
            Error::new(SqlState::DuplicateObject, format!("destination schema \"{dest}\" exists and holds objects chameleon did not create"))
                .detail(format!("{} relations are in it.", objects.unwrap_or(0)))
                .hint("Drop or rename that schema, or register the source again with another dest_schema."),
        );
    }
    exists
}

/// Before tables are queued for copy workers: every selected table can be mapped, and no two
/// names become one in PostgreSQL (a worker maps one table at a time and could not tell).
fn check_mapping(s: &catalog::SourceConfig, selected: &[String]) {
    let mut conn = chameleon_core::source::connect(&s.conn).or_raise();
    let defs = snapshot::read_tables(&mut conn, &s.conn.database, selected).or_raise();
    map_tables(s, defs);
}

/// The configuration of a source this transaction has just found.
fn source_config(id: i64, source: &str) -> catalog::SourceConfig {
    catalog::load_source(id).unwrap_or_else(|| {
        raise(Error::new(SqlState::UndefinedObject, format!("source \"{source}\" disappeared")))
    })
}

fn regclass(schema: &str, table: &str) -> pg_sys::Oid {
    query_opt::<pg_sys::Oid>(
        "SELECT format('%I.%I', $1::text, $2::text)::regclass::oid",
        &[schema.into(), table.into()],
    )
    .unwrap_or_else(|| {
        raise(Error::new(
            SqlState::UndefinedTable,
            format!("table \"{schema}\".\"{table}\" disappeared during the copy"),
        ))
    })
}

/// init_replica and 1.2's sync_replica.
pub fn init_replica(source: &str, verb: Verb) -> i64 {
    background::one_init_at_a_time(source);
    let src = catalog::lock_source(source);
    plan(source, verb, src.state).or_raise();
    let s = source_config(src.id, source);
    let dest = src.dest_schema.clone();
    let started = Instant::now();

    let (reader, coords, mapped) = snapshot_and_map(source, &s);
    prepare_destination(src.id, &dest);
    for (t, cols) in &mapped {
        Spi::run(&ddl::create_table(&dest, &t.name, cols)).or_raise();
    }
    let (_, copied) = copy_rows(source, &s.conn.database, reader, &dest, &mapped);
    let made = build_keys(source, &dest, &mapped);
    let tables: Vec<catalog::tables::Copied> = mapped
        .iter()
        .zip(&copied)
        .map(|((def, _), (rows, changed))| catalog::tables::Copied {
            def,
            rows: *rows,
            changed: *changed,
        })
        .collect();
    record(src.id, &s.conn.database, &tables, &made, &coords);
    let total: u64 = copied.iter().map(|(rows, _)| rows).sum();
    notice(&format!(
        "init_replica \"{source}\": {total} rows in {} tables copied in {:.1} s; replication starts at {}:{}",
        mapped.len(),
        started.elapsed().as_secs_f64(),
        coords.binlog_file,
        coords.binlog_position
    ));
    total as i64
}

/// The consistent snapshot, and every table of it mapped to PostgreSQL before anything is
/// dropped or created; names PostgreSQL's 63-byte limit would make one are refused here too.
fn snapshot_and_map(
    source: &str,
    s: &catalog::SourceConfig,
) -> (chameleon_core::mysql::Conn, snapshot::Coordinates, Vec<(TableDef, Vec<PgColumn>)>) {
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let tables = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    let (mut readers, coords) = open_snapshot(s, 1);
    let mut reader = readers.remove(0);
    reading_from_mysql();
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
    (reader, coords, map_tables(s, defs))
}

/// How long a snapshot waits for MySQL's global read lock (copy option lock_timeout_ms).
fn lock_timeout_s(s: &catalog::SourceConfig) -> u64 {
    s.copy_options
        .get("lock_timeout_ms")
        .and_then(|v| v.as_u64())
        .map_or(60, |ms| ms.div_ceil(1000))
}

/// Tables mapped to PostgreSQL; names PostgreSQL's 63-byte limit would make one are refused.
fn map_tables(s: &catalog::SourceConfig, defs: Vec<TableDef>) -> Vec<(TableDef, Vec<PgColumn>)> {
    let mapped: Vec<(TableDef, Vec<PgColumn>)> = defs
        .into_iter()
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .map(|c| map_column(&t.name, c, &s.type_overrides))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.detail(format!("table \"{}\"", t.name)))
                .or_raise();
            (t, cols)
        })
        .collect();
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
    mapped
}

/// Keys and indexes after the load, then foreign keys (NOT VALID) once every table exists.
fn build_keys(
    source: &str,
    dest: &str,
    mapped: &[(TableDef, Vec<PgColumn>)],
) -> Vec<(String, ddl::PostLoad)> {
    let mut made: Vec<_> = mapped.iter().flat_map(|(t, cols)| keys(source, dest, t, cols)).collect();
    let defs: Vec<&TableDef> = mapped.iter().map(|(t, _)| t).collect();
    made.extend(foreign_keys(dest, &defs));
    made
}

/// One table's keys and indexes, after its rows.
fn keys(source: &str, dest: &str, t: &TableDef, cols: &[PgColumn]) -> Vec<(String, ddl::PostLoad)> {
    let (post, skipped) = ddl::post_load(dest, t, cols);
    for what in skipped {
        notice(&format!("init_replica \"{source}\": {what} has no PostgreSQL equivalent here and was not created"));
    }
    post.into_iter()
        .map(|p| {
            Spi::run(&p.sql).or_raise();
            (t.name.clone(), p)
        })
        .collect()
}

/// The foreign keys between the copied tables (NOT VALID), once every table exists.
fn foreign_keys(dest: &str, defs: &[&TableDef]) -> Vec<(String, ddl::PostLoad)> {
    let names: Vec<String> = defs.iter().map(|t| t.name.clone()).collect();
    let mut made = Vec::new();
    for t in defs {
        for p in ddl::foreign_keys(dest, t, &names) {
            Spi::run(&p.sql).or_raise();
            made.push((t.name.clone(), p));
        }
    }
    made
}

/// What init_replica leaves in the catalogue: the tables with their figures and models, what
/// was made for them, no batches from before, and the position replication starts from.
fn record(
    id: i64,
    db: &str,
    tables: &[catalog::tables::Copied],
    made: &[(String, ddl::PostLoad)],
    coords: &snapshot::Coordinates,
) {
    catalog::tables::record_copy(id, db, tables, made);
    if catalog::copies::keeps_copy_points() {
        catalog::copies::set_points(id, coords);
    }
    catalog::batches::forget_batches(id).or_raise();
    catalog::sources::mark_initialised(id, coords);
}
