//! sync_tables, and tables added to include_tables: copies of tables made again while the
//! source replicates the others (docs/large-copies.md). Copy workers copy each table into the
//! source's staging schema with its copy point (`worker`); the replica worker, between two
//! batches, swaps the copies in (`swap_staged`) and gives every table the point it holds:
//! the new copy its copy point, the others the position it has applied. When a copy point is
//! behind that position the stream goes back to it, and the handover rule skips what each
//! table already holds — nothing is held back, nothing applied twice.

use chameleon_core::binlog::Position;
use chameleon_core::snapshot::{self, Coordinates};
use chameleon_core::state::Status;
use chameleon_core::{handover, Error, SqlState};
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};

use crate::catalog::{self, SourceConfig};
use crate::error::{notice, raise, OrRaise};

/// Where a source's tables are copied again before they are swapped in.
pub fn staging(id: i64) -> String {
    format!("chameleon_sync_{id}")
}

/// drop_source: the source's staging schema goes with it.
pub fn drop_staging(id: i64) {
    Spi::run(&format!("DROP SCHEMA IF EXISTS {} CASCADE", spi::quote_identifier(staging(id)))).or_raise();
}

/// The staging schema (made when the tables are queued, so that copy workers never race to
/// make it) holds no leftover of `table`.
pub fn prepare_staging(schema: &str, table: &str) {
    let s = spi::quote_identifier(schema);
    if catalog::query_opt::<bool>("SELECT to_regnamespace($1) IS NULL", &[schema.into()]).unwrap_or(true) {
        Spi::run(&format!("CREATE SCHEMA IF NOT EXISTS {s}")).or_raise();
    }
    Spi::run(&format!("DROP TABLE IF EXISTS {s}.{} CASCADE", spi::quote_identifier(table))).or_raise();
}

/// Queues `tables` to be copied again; copy workers start after the commit. The source keeps
/// replicating meanwhile (or, stopped, takes the copies when it starts).
pub fn sync_tables(source: &str, tables: &[String]) -> i64 {
    let src = catalog::lock_source(source);
    if !matches!(src.state.status, Status::Running | Status::Stopped | Status::Initialised) {
        raise(
            Error::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!("sync_tables cannot run on source \"{source}\" while it is {}", src.state.status.as_str()),
            )
            .hint("sync_tables copies tables of a source that has a copy: init_replica it first, or wait for its copy."),
        );
    }
    let s = super::source_config(src.id, source);
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let selected = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    let unknown: Vec<&String> = tables.iter().filter(|t| !selected.contains(t)).collect();
    if !unknown.is_empty() {
        raise(
            Error::new(SqlState::UndefinedTable, format!("sync_tables: {} not replicated by source \"{source}\"", quoted(&unknown)))
                .detail(format!("The source replicates {} tables of database \"{}\" (include_tables and exclude_tables applied).", selected.len(), s.conn.database))
                .hint("Name tables of the MySQL database that the source's include and exclude lists select; alter_source(include_tables => ...) adds one."),
        );
    }
    queue(&s, &facts, tables.to_vec());
    tables.len() as i64
}

/// After alter_source changed the table lists: the tables they now select that the source
/// does not replicate yet are copied the same way (their copy creates them).
pub fn queue_new_tables(id: i64) {
    let Some(s) = catalog::load_source(id) else { return };
    let registered = catalog::copies::registered(id);
    if registered.is_empty() || catalog::copies::purpose(id) != Some(catalog::copies::Purpose::Sync) {
        return; // no copy yet (init_replica takes the lists as they are), or disabled
    }
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let new: Vec<String> = snapshot::select_tables(&facts.tables, &s.include, &s.exclude)
        .into_iter()
        .filter(|t| !registered.contains(t))
        .collect();
    if !new.is_empty() {
        notice(&format!("source \"{}\": {} newly included, copied while it replicates", s.name, quoted(&new)));
        queue(&s, &facts, new);
    }
}

fn quoted<T: AsRef<str>>(tables: impl IntoIterator<Item = T>) -> String {
    tables.into_iter().map(|t| format!("\"{}\"", t.as_ref())).collect::<Vec<_>>().join(", ")
}

/// `tables` with MySQL's row estimate of each; a name PostgreSQL would truncate is refused.
pub fn estimated(s: &SourceConfig, facts: &chameleon_core::source::ServerFacts, tables: Vec<String>) -> Vec<(String, Option<i64>)> {
    chameleon_core::names::check_truncation("table", &format!("database \"{}\"", s.conn.database), tables.iter().map(String::as_str))
        .or_raise();
    tables
        .into_iter()
        .map(|name| {
            let estimate = facts.tables.iter().position(|t| *t == name).and_then(|i| facts.row_estimates[i]);
            (name, estimate)
        })
        .collect()
}

fn queue(s: &SourceConfig, facts: &chameleon_core::source::ServerFacts, tables: Vec<String>) {
    let estimated = estimated(s, facts, tables);
    catalog::copies::queue_sync(s.id, &s.conn.database, &estimated);
    Spi::run(&format!("CREATE SCHEMA IF NOT EXISTS {}", spi::quote_identifier(staging(s.id)))).or_raise();
    let workers = chameleon_core::options::copy_workers(&s.copy_options).min(estimated.len());
    start_after_commit(s.id, &s.name, workers);
    notice(&format!(
        "source \"{}\": {} tables queued for {workers} copy workers; each takes its place between two batches once copied: SELECT * FROM chameleon.show_copy('{}')",
        s.name,
        estimated.len(),
        s.name
    ));
}

/// The copy workers start once the queue is committed: a rolled-back call starts nothing.
pub fn start_after_commit(id: i64, source: &str, workers: usize) {
    let db = crate::worker::database_name();
    let source = source.to_string();
    register_xact_callback(PgXactCallbackEvent::Commit, move || {
        super::worker::launch(id, &source, &db, workers)
    });
}

/// The replica worker, between two batches, with no stored batch left to replay (the source's
/// position `at` is what it has applied): swaps every staged copy in, sets the tables' copy
/// points and, when a copy point is behind `at`, the source's position back to it.
/// Some(position) when something was swapped in: the stream must start again from there.
pub fn swap_staged(src: &SourceConfig) -> Option<Position> {
    if !catalog::copies::keeps_copy_points() {
        return None; // (a catalogue before 1.6 has no copies to swap)
    }
    let staged = catalog::copies::staged(src.id).or_raise();
    if staged.is_empty() || !catalog::batches::pending_batches(src.id).or_raise().is_empty() {
        return None;
    }
    let at = catalog::load_source(src.id)?.position;
    let db = &src.conn.database;
    let dest = spi::quote_identifier(&src.dest_schema);
    let names: Vec<String> = staged.iter().map(|(_, d)| d.name.clone()).collect();
    for (_, def) in &staged {
        let t = spi::quote_identifier(&def.name);
        Spi::run(&format!("DROP TABLE IF EXISTS {dest}.{t} CASCADE")).or_raise();
        Spi::run(&format!("ALTER TABLE {}.{t} SET SCHEMA {dest}", spi::quote_identifier(staging(src.id)))).or_raise();
        catalog::copies::swapped(src.id, db, def);
    }
    record_definitions(src, &names);
    // what the worker applied is in every other table: their point is where it stands (by
    // coordinates on MariaDB, whose position names one domain's last GTID only)
    let applied = Coordinates {
        binlog_file: at.file.clone(),
        binlog_position: at.pos,
        gtid: at.gtid.clone().filter(|g| chameleon_core::gtid::is_mysql_set(g)).unwrap_or_default(),
    };
    catalog::copies::hold_up_to(src.id, &names, &applied);
    let points: Vec<Coordinates> = staged.into_iter().map(|(p, _)| p).chain([applied.clone()]).collect();
    let from = handover::earliest(&points).cloned().unwrap_or(applied);
    let from = Position { file: from.binlog_file, pos: from.binlog_position, gtid: (!from.gtid.is_empty()).then_some(from.gtid) };
    catalog::sources::write_position(src.id, &from, 0).or_raise();
    // (the staging schema is left empty; it is made again for the next sync)
    log!("chameleon replica \"{}\": {} swapped in; reading again from {}:{}", src.name, quoted(&names), from.file, from.pos);
    Some(from)
}

/// The swapped tables' keys and indexes as the catalogue lists them, and the foreign keys
/// from and to them again (DROP … CASCADE took those of the others).
fn record_definitions(src: &SourceConfig, names: &[String]) {
    let db = &src.conn.database;
    let defs = catalog::tables::models(src.id, db);
    let all: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
    let mut made = Vec::new();
    for def in &defs {
        if names.contains(&def.name) {
            catalog::tables::forget_definitions(src.id, db, &def.name);
            let mapped = super::map_tables(src, vec![def.clone()]);
            let (post, _) = chameleon_core::ddl::post_load(&src.dest_schema, def, &mapped[0].1);
            made.extend(post.into_iter().map(|p| (def.name.clone(), p)));
            for p in chameleon_core::ddl::foreign_keys(&src.dest_schema, def, &all) {
                Spi::run(&p.sql).or_raise();
                made.push((def.name.clone(), p));
            }
        } else {
            // another table's keys to a swapped one (still in the catalogue as they were)
            for p in chameleon_core::ddl::foreign_keys(&src.dest_schema, def, names) {
                Spi::run(&p.sql).or_raise();
            }
        }
    }
    catalog::tables::record_all_made(src.id, db, &made);
}
