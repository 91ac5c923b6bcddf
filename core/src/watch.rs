//! What a caller waiting for copy workers (init_replica with `wait`) makes of the copy as the
//! catalogue shows it: still running, done, or an error to raise.

use crate::state::Status;
use crate::{Error, SqlState};

/// A source's copy as the waiting caller reads it.
#[derive(Debug, Clone)]
pub struct Watch {
    /// the source's status, and whether it is enabled
    pub status: Status,
    pub enabled: bool,
    /// why it failed, when that was recorded after it was queued
    pub error: Option<String>,
    /// where replication starts (once initialised)
    pub position: String,
    /// tables queued for this copy, and of them still waiting
    pub queued: i64,
    pub waiting: i64,
    /// rows copied, and each table copied so far (in the order they were)
    pub rows: i64,
    pub copied: Vec<(String, i64)>,
}

/// Ok(true) when the copy is done, Ok(false) while it runs, the error to raise otherwise.
/// `first_gone`: the copy worker that queues the tables has stopped.
pub fn outcome(source: &str, w: &Watch, first_gone: bool) -> Result<bool, Error> {
    let so_far = || format!("{} of {} tables were copied.", w.copied.len(), w.queued);
    if let Some(why) = &w.error {
        return Err(Error::new(SqlState::Reported(*b"38000"), format!("init_replica \"{source}\": the copy failed: {why}"))
            .detail(so_far())
            .hint("SELECT * FROM chameleon.show_status() shows it too; init_replica copies again once it is fixed."));
    }
    let initialising = w.status == Status::Initialising;
    if w.queued > 0 && w.waiting == 0 && !initialising {
        return Ok(true);
    }
    if initialising && !w.enabled {
        return Err(Error::new(SqlState::ObjectNotInPrerequisiteState, format!("init_replica \"{source}\": the copy was paused by disable_replica"))
            .detail(format!("{} The copy resumes from there.", so_far()))
            .hint(format!("SELECT chameleon.enable_replica('{source}') resumes it; SELECT chameleon.init_replica('{source}') then waits for it.")));
    }
    if w.queued > 0 && !initialising {
        return Err(Error::new(
            SqlState::ObjectNotInPrerequisiteState,
            format!("init_replica \"{source}\": the copy was given up (the source is now {})", w.status.as_str()),
        )
        .detail(so_far()));
    }
    if w.queued == 0 && first_gone {
        return Err(Error::new(SqlState::Internal, format!("init_replica \"{source}\": the copy worker stopped before it queued any table"))
            .hint("The server log says why; if no table is selected any more, init_replica copies the coordinates alone."));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(status: &str, queued: i64, waiting: i64) -> Watch {
        let status = Status::parse(status).unwrap();
        Watch { status, enabled: true, error: None, position: String::new(), queued, waiting, rows: 0, copied: Vec::new() }
    }

    #[test]
    fn waits_until_every_queued_table_is_in_and_the_source_initialised() {
        // not queued yet (the first worker is starting), then copying
        assert!(!outcome("s", &watch("ready", 0, 0), false).unwrap());
        assert!(!outcome("s", &watch("initialising", 3, 2), false).unwrap());
        // all copied, the last worker not yet done with the foreign keys
        assert!(!outcome("s", &watch("initialising", 3, 0), true).unwrap());
        assert!(outcome("s", &watch("initialised", 3, 0), true).unwrap());
        // started by someone else at once: still done
        assert!(outcome("s", &watch("running", 3, 0), true).unwrap());
    }

    #[test]
    fn a_failure_a_pause_or_a_lost_worker_ends_the_wait() {
        let mut failed = watch("error", 3, 1);
        failed.error = Some("MySQL went away".into());
        failed.copied = vec![("a".into(), 10)];
        let e = outcome("s", &failed, true).unwrap_err();
        assert_eq!(e.state.code(), "38000");
        assert!(e.message.contains("MySQL went away") && e.detail.unwrap().starts_with("1 of 3"));
        // an error recorded before the queueing (the copy worker refused): same
        let mut refused = watch("ready", 0, 0);
        refused.error = Some("no".into());
        assert_eq!(outcome("s", &refused, true).unwrap_err().state.code(), "38000");
        let mut paused = watch("initialising", 3, 2);
        paused.enabled = false;
        assert_eq!(outcome("s", &paused, false).unwrap_err().state.code(), "55000");
        // detached or dropped back to ready mid-copy
        assert_eq!(outcome("s", &watch("ready", 3, 2), false).unwrap_err().state.code(), "55000");
        // the queueing worker gone without queueing or saying why
        assert_eq!(outcome("s", &watch("ready", 0, 0), true).unwrap_err().state.code(), "XX000");
    }
}
