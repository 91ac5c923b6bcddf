//! What a change in a batch is: the catalogue's `en_binlog_event` (the kind of a log row).

use crate::binlog::RowKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Insert,
    Update,
    Delete,
    /// a schema change (its PostgreSQL statements in the log row's t_query)
    Ddl,
}

impl EventKind {
    /// The label of `sch_chameleon.en_binlog_event`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Insert => "insert",
            EventKind::Update => "update",
            EventKind::Delete => "delete",
            EventKind::Ddl => "ddl",
        }
    }

    /// A label read back from a log table.
    pub fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Insert,
            EventKind::Update,
            EventKind::Delete,
            EventKind::Ddl,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl From<RowKind> for EventKind {
    fn from(k: RowKind) -> EventKind {
        match k {
            RowKind::Insert => EventKind::Insert,
            RowKind::Update => EventKind::Update,
            RowKind::Delete => EventKind::Delete,
        }
    }
}
