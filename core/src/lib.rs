//! chameleon-core: the logic of chameleon that needs no PostgreSQL.
//!
//! Everything here is plain Rust, tested with `cargo test -p chameleon-core`.
//! The extension crate turns [`Error`] into PostgreSQL errors (SQLSTATE, detail, hint).

pub mod batch;
pub mod binlog;
pub mod check;
pub mod conn;
pub mod copy;
pub mod ddl;
pub mod error;
pub mod event;
pub mod gtid;
pub mod handover;
pub mod mysql_json;
pub mod names;
pub mod options;
pub mod replay;
pub mod schema_change;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod types;
pub mod watch;

pub use error::{Error, Result, SqlState};

/// The MySQL client chameleon-core uses (its connection type crosses into the extension).
pub use mysql;
