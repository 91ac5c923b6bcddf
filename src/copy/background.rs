//! init_replica(source, wait => false): the caller's transaction only checks the source,
//! prepares the destination schema and queues the tables; copy workers started after its
//! commit do the copying (`worker`), and the launcher restarts them until every table is in.

use chameleon_core::state::{plan, Verb};
use chameleon_core::{options, snapshot, Error, SqlState};

use crate::catalog;
use crate::error::{notice, raise, OrRaise};

/// Queues the source's tables for the copy workers; returns how many.
pub fn init_replica_background(source: &str) -> i64 {
    let src = catalog::lock_source(source);
    let t = plan(source, Verb::Init, src.state).or_raise();
    let Some(s) = catalog::load_source(src.id) else {
        raise(Error::new(SqlState::UndefinedObject, format!("source \"{source}\" disappeared")))
    };
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let selected = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    if selected.is_empty() {
        // nothing to hand over: the copy is the snapshot's coordinates alone
        return super::init_replica(source, Verb::Init);
    }
    let tables = super::sync::estimated(&s, &facts, selected);
    super::prepare_destination(src.id, &src.dest_schema);
    catalog::copies::queue(src.id, &s.conn.database, &tables);
    catalog::batches::forget_batches(src.id).or_raise();
    catalog::apply(&src, &t);
    catalog::copies::begin(src.id);
    let workers = options::copy_workers(&s.copy_options).min(tables.len());
    super::sync::start_after_commit(src.id, source, workers);
    notice(&format!(
        "init_replica \"{source}\": {} tables queued for {workers} copy workers (copy option parallel_tables); they start when this transaction commits: SELECT * FROM chameleon.show_copy('{source}')",
        tables.len()
    ));
    tables.len() as i64
}
