//! The verbs that move a source through its life: init, start, stop, disable, enable, sync,
//! detach. Each locks the source, asks `chameleon_core::state::plan` what to do, and does it.

use chameleon_core::state::{plan, Verb};
use chameleon_core::{Error, SqlState};
use pgrx::prelude::*;

use crate::catalog;
use crate::error::{notice, raise, OrRaise};

fn transition(source: &str, verb: Verb) -> catalog::LockedSource {
    let src = catalog::lock_source(source);
    let t = plan(source, verb, src.state).or_raise();
    catalog::apply(&src, &t);
    src
}

/// 1.2 to 1.5's init_replica(source): named by their frozen scripts (symbol
/// init_replica_wrapper); 1.6 has init_replica(source, wait).
#[pg_extern(sql = false)]
fn init_replica(source: &str) -> i64 {
    crate::copy::init_replica(source, Verb::Init)
}

/// Copies the source's schema and data into its destination schema and records the binlog
/// coordinates replication starts from. Copy workers copy the tables in the background, table
/// by table and resumably (chameleon.show_copy follows them). With `wait` (the default) the
/// call waits for them and returns the rows copied (in a transaction that has written, it
/// copies in that transaction); without, it returns the number of tables queued.
#[pg_extern(schema = "chameleon", name = "init_replica")]
fn init_replica_v16(source: &str, wait: default!(bool, true)) -> i64 {
    if wait {
        crate::copy::init_replica_waiting(source)
    } else {
        crate::copy::init_replica_background(source)
    }
}

/// Starts the source's background worker (after the calling transaction commits).
#[pg_extern(schema = "chameleon")]
fn start_replica(source: &str) {
    let src = catalog::lock_source(source);
    let t = plan(source, Verb::Start, src.state).or_raise();
    // a purged position is refused here, with the fix, before anything changes; a server that
    // cannot be reached now is the worker's to wait for
    if let Some(cfg) = catalog::load_source(src.id) {
        match chameleon_core::source::check_position(
            &cfg.conn,
            &cfg.position.file,
            cfg.position.pos,
            cfg.position.gtid.as_deref(),
        ) {
            Ok(()) => {}
            Err(e) if e.state == SqlState::ConnectionFailure => notice(&format!(
                "{} ({}); the worker will keep trying",
                e.message,
                e.detail.as_deref().unwrap_or("no detail")
            )),
            Err(e) => raise(e),
        }
    }
    catalog::apply(&src, &t);
    // a worker for a running source (started now, or whose worker is gone): after COMMIT;
    // a second one for the same source leaves at once
    crate::worker::start_after_commit(src.id, source);
}

/// Stops the source: its worker sees the status and leaves between batches; nothing stored
/// is lost.
#[pg_extern(schema = "chameleon")]
fn stop_replica(source: &str) {
    transition(source, Verb::Stop);
}

/// Stops the source and keeps it from being started, by hand or automatically, until
/// enable_replica.
#[pg_extern(schema = "chameleon")]
fn disable_replica(source: &str) {
    transition(source, Verb::Disable);
}

/// Clears the disabled switch and an error status, so the source can be started again.
#[pg_extern(schema = "chameleon")]
fn enable_replica(source: &str) {
    let src = transition(source, Verb::Enable);
    catalog::sources::clear_error(src.id);
}

/// 1.2's sync_replica: copies the whole source again, like init_replica.
/// Named by the frozen 1.2 script (symbol sync_replica_wrapper); 1.3 uses
/// sync_replica_disabled instead.
#[pg_extern(sql = false)]
fn sync_replica(source: &str) {
    crate::copy::init_replica(source, Verb::Sync);
}

/// Copies `tables` again (1.6) while the source replicates the others: copy workers copy each
/// beside its table, the source's worker swaps the copies in between two batches and hands
/// over at each copy point. Also copies a table newly selected by include_tables. Returns the
/// number of tables queued; chameleon.show_copy follows them.
#[pg_extern(schema = "chameleon")]
fn sync_tables(source: &str, tables: Vec<String>) -> i64 {
    crate::copy::sync_tables(source, &tables)
}

/// 1.3's sync_replica: disabled by the release note.
#[pg_extern(schema = "chameleon", name = "sync_replica")]
fn sync_replica_disabled(source: &str) {
    catalog::lock_source(source); // an unknown source is still reported as such
    raise(
        Error::new(SqlState::FeatureNotSupported, "sync_replica is disabled in chameleon 1.3")
            .detail("sync_replica does not work as expected in single table mode; this release disables it until a correct per-table sync ships in a later version.")
            .hint(format!(
                "To copy tables again while the source runs (catalogue 1.6): SELECT chameleon.sync_tables('{source}', ARRAY['table', ...]); to copy the whole source again: SELECT chameleon.stop_replica('{source}'); SELECT chameleon.init_replica('{source}');"
            )),
    )
}

/// Stops the source, finishes its destination schema (sequences, foreign keys) and removes
/// the source from the catalogue, leaving a standalone schema.
#[pg_extern(schema = "chameleon")]
fn detach_replica(source: &str) {
    let src = catalog::lock_source(source);
    let t = plan(source, Verb::Detach, src.state).or_raise();
    catalog::apply(&src, &t);
    // sequences past their column's maximum: the application takes over the inserts
    let setvals = catalog::query_column::<String>(
        "SELECT format('SELECT setval(%L::regclass, coalesce((SELECT max(%I) FROM %s), 0)::bigint + 1, false)',
                       c.oid::regclass::text, a.attname, d.refobjid::regclass)
           FROM pg_class c
           JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
           JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE c.relkind = 'S' AND c.relnamespace = $1::regnamespace",
        &[src.dest_schema.as_str().into()],
    );
    for sql in &setvals {
        Spi::run(sql).or_raise();
    }
    // foreign keys were created NOT VALID for replication; now they are checked
    let fks = catalog::query_column::<String>(
        "SELECT format('ALTER TABLE %s VALIDATE CONSTRAINT %I', conrelid::regclass, conname)
           FROM pg_constraint WHERE connamespace = $1::regnamespace AND contype = 'f' AND NOT convalidated",
        &[src.dest_schema.as_str().into()],
    );
    for sql in &fks {
        Spi::run(sql).or_raise();
    }
    catalog::sources::remove_source(&src);
    crate::copy::drop_staging(src.id);
    notice(&format!(
        "source \"{source}\" detached: schema \"{}\" is a standalone copy ({} sequences set, {} foreign keys validated)",
        src.dest_schema,
        setvals.len(),
        fks.len()
    ));
}
