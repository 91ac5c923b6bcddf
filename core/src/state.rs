//! The life of a source: which verb may run in which status, and where it leads.
//!
//! Status values are the catalogue's enum `en_src_status`. `enabled` is the per-source switch
//! set by disable_replica/enable_replica. Keeping the rules here (not spread over SQL
//! functions) makes them testable and the same for every verb.

use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ready,
    Initialising,
    Initialised,
    Stopped,
    Running,
    Error,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Ready,
        Status::Initialising,
        Status::Initialised,
        Status::Stopped,
        Status::Running,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Initialising => "initialising",
            Status::Initialised => "initialised",
            Status::Stopped => "stopped",
            Status::Running => "running",
            Status::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The release note's first upgrade step: the catalogue may only be migrated while no
    /// source is replicating or copying.
    pub fn allows_upgrade(self) -> bool {
        matches!(self, Status::Stopped | Status::Ready | Status::Initialised)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Init,
    Start,
    Stop,
    Disable,
    Enable,
    Drop,
    Detach,
    Sync,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Init => "init_replica",
            Verb::Start => "start_replica",
            Verb::Stop => "stop_replica",
            Verb::Disable => "disable_replica",
            Verb::Enable => "enable_replica",
            Verb::Drop => "drop_source",
            Verb::Detach => "detach_replica",
            Verb::Sync => "sync_replica",
        }
    }
}

/// What a verb does to a source's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// the new status, if it changes
    pub to: Option<Status>,
    /// the new value of the enabled switch, if it changes
    pub enabled: Option<bool>,
    /// a NOTICE for the caller when the verb had nothing to do
    pub notice: Option<String>,
}

impl Transition {
    fn to(s: Status) -> Self {
        Transition {
            to: Some(s),
            enabled: None,
            notice: None,
        }
    }
    fn noop(msg: String) -> Self {
        Transition {
            to: None,
            enabled: None,
            notice: Some(msg),
        }
    }
}

/// The facts about a source a transition depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceState {
    pub status: Status,
    pub enabled: bool,
    /// init_replica stored binlog coordinates to start from
    pub has_position: bool,
}

fn refuse(source: &str, verb: Verb, st: Status, hint: &str) -> Error {
    Error::new(
        SqlState::ObjectNotInPrerequisiteState,
        format!(
            "{} cannot run on source \"{source}\" while it is {}",
            verb.name(),
            st.as_str()
        ),
    )
    .hint(hint.to_string())
}

/// Decides what `verb` does to `source`, or why it may not run.
pub fn plan(source: &str, verb: Verb, s: SourceState) -> Result<Transition> {
    use Status::*;
    let st = s.status;
    match verb {
        Verb::Init | Verb::Sync => match st {
            Running => Err(refuse(
                source,
                verb,
                st,
                "Stop it first: SELECT chameleon.stop_replica(...).",
            )),
            Initialising => Err(refuse(
                source,
                verb,
                st,
                "Another init_replica is copying this source; wait for it or cancel it.",
            )),
            _ if !s.enabled => Err(refuse(
                source,
                verb,
                st,
                "The source is disabled: SELECT chameleon.enable_replica(...) first.",
            )),
            _ => Ok(Transition::to(Initialising)),
        },
        Verb::Start => match st {
            _ if !s.enabled => Err(refuse(
                source,
                verb,
                st,
                "The source is disabled: SELECT chameleon.enable_replica(...) first.",
            )),
            Running => Ok(Transition::noop(format!(
                "source \"{source}\" is already running"
            ))),
            Initialised | Stopped => Ok(Transition::to(Running)),
            Ready => Err(refuse(
                source,
                verb,
                st,
                "Copy it first: SELECT chameleon.init_replica(...).",
            )),
            Initialising => Err(refuse(source, verb, st, "Wait for init_replica to finish.")),
            Error => Err(refuse(
                source,
                verb,
                st,
                "See chameleon.show_errors(), then SELECT chameleon.enable_replica(...).",
            )),
        },
        Verb::Stop => match st {
            Running => Ok(Transition::to(Stopped)),
            _ => Ok(Transition::noop(format!(
                "source \"{source}\" is not running ({})",
                st.as_str()
            ))),
        },
        Verb::Disable => {
            let to = if st == Running { Some(Stopped) } else { None };
            let notice = (!s.enabled).then(|| format!("source \"{source}\" is already disabled"));
            Ok(Transition {
                to,
                enabled: Some(false),
                notice,
            })
        }
        Verb::Enable => {
            let to = match st {
                Error if s.has_position => Some(Stopped),
                Error => Some(Ready),
                _ => None,
            };
            let notice = (s.enabled && to.is_none())
                .then(|| format!("source \"{source}\" is already enabled"));
            Ok(Transition {
                to,
                enabled: Some(true),
                notice,
            })
        }
        Verb::Drop => match st {
            Running | Initialising => Err(refuse(
                source,
                verb,
                st,
                "Stop it first: SELECT chameleon.stop_replica(...).",
            )),
            _ => Ok(Transition {
                to: None,
                enabled: None,
                notice: None,
            }),
        },
        Verb::Detach => match st {
            Initialising => Err(refuse(source, verb, st, "Wait for init_replica to finish.")),
            Ready => Err(refuse(
                source,
                verb,
                st,
                "The source holds no copy yet: use drop_source.",
            )),
            Running => Ok(Transition::to(Stopped)),
            _ => Ok(Transition {
                to: None,
                enabled: None,
                notice: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn st(status: Status) -> SourceState {
        SourceState {
            status,
            enabled: true,
            has_position: true,
        }
    }

    #[test]
    fn status_text_round_trips() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("disabled"), None);
    }

    #[test]
    fn upgrade_guard_matches_release_note() {
        let allowed: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.allows_upgrade())
            .collect();
        assert_eq!(allowed, vec![Ready, Initialised, Stopped]);
    }

    #[test]
    fn start_needs_a_copy_and_no_error() {
        assert_eq!(
            plan("s", Verb::Start, st(Initialised)).unwrap().to,
            Some(Running)
        );
        assert_eq!(
            plan("s", Verb::Start, st(Stopped)).unwrap().to,
            Some(Running)
        );
        assert!(plan("s", Verb::Start, st(Running))
            .unwrap()
            .notice
            .is_some());
        for bad in [Ready, Initialising, Error] {
            let e = plan("s", Verb::Start, st(bad)).unwrap_err();
            assert_eq!(e.state, SqlState::ObjectNotInPrerequisiteState);
            assert!(e.hint.is_some());
        }
        let disabled = SourceState {
            enabled: false,
            ..st(Stopped)
        };
        assert!(plan("s", Verb::Start, disabled)
            .unwrap_err()
            .hint
            .unwrap()
            .contains("enable_replica"));
    }

    #[test]
    fn stop_is_idempotent() {
        assert_eq!(
            plan("s", Verb::Stop, st(Running)).unwrap().to,
            Some(Stopped)
        );
        for other in [Ready, Initialised, Stopped, Error] {
            let t = plan("s", Verb::Stop, st(other)).unwrap();
            assert_eq!(t.to, None);
            assert!(t.notice.is_some());
        }
    }

    #[test]
    fn disable_stops_and_enable_clears_error() {
        let t = plan("s", Verb::Disable, st(Running)).unwrap();
        assert_eq!((t.to, t.enabled), (Some(Stopped), Some(false)));
        let t = plan(
            "s",
            Verb::Enable,
            SourceState {
                status: Error,
                enabled: false,
                has_position: true,
            },
        )
        .unwrap();
        assert_eq!(
            (t.to, t.enabled, t.notice),
            (Some(Stopped), Some(true), None)
        );
        let t = plan(
            "s",
            Verb::Enable,
            SourceState {
                status: Error,
                enabled: true,
                has_position: false,
            },
        )
        .unwrap();
        assert_eq!(t.to, Some(Ready));
        assert!(plan("s", Verb::Enable, st(Stopped))
            .unwrap()
            .notice
            .is_some());
    }

    #[test]
    fn drop_and_init_refuse_busy_sources() {
        for busy in [Running, Initialising] {
            assert!(plan("s", Verb::Drop, st(busy)).is_err());
            assert!(plan("s", Verb::Init, st(busy)).is_err());
        }
        assert_eq!(
            plan("s", Verb::Init, st(Error)).unwrap().to,
            Some(Initialising)
        );
        assert!(plan("s", Verb::Detach, st(Ready)).is_err());
        assert_eq!(
            plan("s", Verb::Detach, st(Running)).unwrap().to,
            Some(Stopped)
        );
    }
}
