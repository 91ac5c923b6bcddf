//! Queueing a background copy: the source is checked, the destination schema prepared and the
//! tables queued `waiting`, in one transaction; copy workers started after its commit do the
//! copying (`worker`), and the launcher restarts them until every table is in. With
//! `wait => false` that transaction is the caller's; with `wait => true` a copy worker's own
//! (`super::wait`).

use chameleon_core::state::{plan, Verb};
use chameleon_core::{options, snapshot, Error, SqlState};
use pgrx::prelude::*;

use crate::catalog;
use crate::error::{notice, raise, OrRaise};

/// init_replica(source, wait => false): queues the source's tables for copy workers started
/// when the caller commits; returns how many.
pub fn init_replica_background(source: &str) -> i64 {
    one_init_at_a_time(source);
    let src = catalog::lock_source(source);
    if options::copies_in_caller(&super::source_config(src.id, source).copy_options) {
        raise(
            Error::new(SqlState::ObjectNotInPrerequisiteState, format!("init_replica \"{source}\" with wait => false needs copy workers"))
                .detail("Its copy option parallel_tables is 0: init_replica copies in the caller's transaction.")
                .hint(format!("SELECT chameleon.alter_source('{source}', copy_options => '{{\"parallel_tables\": 2}}') gives it copy workers.")),
        );
    }
    let Some((tables, workers)) = queue_copy(source) else {
        // nothing to hand over: the copy is the snapshot's coordinates alone
        return super::init_replica(source, Verb::Init);
    };
    notice(&format!(
        "init_replica \"{source}\": {tables} tables queued for {workers} copy workers (copy option parallel_tables); they start when this transaction commits: SELECT * FROM chameleon.show_copy('{source}')",
    ));
    tables as i64
}

/// Queues the source's tables in the current transaction and starts copy workers after its
/// commit. (tables, workers); None when nothing is selected.
pub fn queue_copy(source: &str) -> Option<(usize, usize)> {
    let src = catalog::lock_source(source);
    let t = plan(source, Verb::Init, src.state).or_raise();
    let s = super::source_config(src.id, source);
    let facts = chameleon_core::source::check(&s.conn, &s.include).or_raise();
    let selected = snapshot::select_tables(&facts.tables, &s.include, &s.exclude);
    if selected.is_empty() {
        return None;
    }
    super::check_mapping(&s, &selected);
    let tables = super::sync::estimated(&s, &facts, selected);
    super::prepare_destination(src.id, &src.dest_schema);
    catalog::copies::queue(src.id, &s.conn.database, &tables);
    catalog::batches::forget_batches(src.id).or_raise();
    catalog::apply(&src, &t);
    catalog::copies::begin(src.id);
    let workers = options::copy_workers(&s.copy_options).min(tables.len());
    super::sync::start_after_commit(src.id, source, workers);
    Some((tables.len(), workers))
}

/// init_replica calls on one source run one after another, whichever way they copy: a
/// transaction-level advisory lock, held by a caller that waits for copy workers too (it holds
/// no row lock, so its workers can take the source's).
pub(super) fn one_init_at_a_time(source: &str) {
    Spi::run_with_args(
        "SELECT pg_advisory_xact_lock(hashtext('chameleon.init_replica'), hashtext($1))",
        &[source.into()],
    )
    .or_raise();
}
