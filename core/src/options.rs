//! Per-source options: what add_source and alter_source accept, validated before anything is
//! written, so that nothing is half-registered.

use crate::error::{Error, Result};
use serde_json::Value;

/// Keys accepted in `copy_options` (used by init_replica).
pub const COPY_OPTION_KEYS: &[(&str, &str)] = &[
    (
        "rows_per_chunk",
        "rows read from MySQL per fetch during the copy (integer > 0)",
    ),
    ("parallel_tables", "tables init_replica copies at once, one copy worker each (integer 0..64, default 2; 0: no copy workers, init_replica copies in the caller's transaction, all or nothing)"),
    (
        "lock_timeout_ms",
        "how long init_replica waits for the global read lock (integer > 0)",
    ),
    ("key_ranges", "key ranges a copy worker reads a large table in at once, one MySQL connection each, from one snapshot (integer 1..16; default: half the machine's cores shared by the copy workers; 1: never split)"),
];

/// A table is read in key ranges only from this many rows (MySQL's estimate): below, one
/// more snapshot and its connections cost more than they gain.
pub const SPLIT_MIN_ROWS: u64 = 100_000;

/// In how many key ranges a copy worker reads a table of `estimate` rows (1: whole): the copy
/// option `key_ranges`, or by default half the machine's `cores` shared by `workers` copy
/// workers — a worker already keeps about two busy (its COPY, and MySQL's side of its reads),
/// and on 2 cores ranges did not pay (bench/init: 1.07× from MariaDB, 0.79× from MySQL).
pub fn key_ranges(copy_options: &Value, estimate: u64, workers: usize, cores: usize) -> usize {
    if estimate < SPLIT_MIN_ROWS {
        return 1;
    }
    match copy_options.get("key_ranges").and_then(Value::as_u64) {
        Some(n) => n.clamp(1, 16) as usize,
        None => (cores / (2 * workers.max(1))).clamp(1, 16),
    }
}

/// How many copy workers a background copy starts (copy option `parallel_tables`; at least
/// one: sync_tables and a copy under way need one even when init_replica copies without).
pub fn copy_workers(copy_options: &Value) -> usize {
    copy_options.get("parallel_tables").and_then(Value::as_u64).map_or(2, |n| n.clamp(1, 64) as usize)
}

/// Whether init_replica copies in its caller's transaction, all or nothing, without copy
/// workers (`parallel_tables` 0: 1.5's copy).
pub fn copies_in_caller(copy_options: &Value) -> bool {
    copy_options.get("parallel_tables").and_then(Value::as_u64) == Some(0)
}

/// Where an unreplayable row or untranslatable statement leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// stop the source in `error` (default)
    Stop,
    /// log it in t_discarded_rows and go on
    Skip,
}

impl OnError {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "stop" => Ok(OnError::Stop),
            "skip" => Ok(OnError::Skip),
            other => Err(Error::invalid(format!("invalid on_error \"{other}\""))
                .hint("on_error is 'stop' (default: the source stops in error) or 'skip' (logged and skipped).")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Stop => "stop",
            OnError::Skip => "skip",
        }
    }
}

pub fn validate_batch_size(n: i32) -> Result<()> {
    if !(1..=1_000_000).contains(&n) {
        return Err(Error::invalid(format!("invalid batch_size {n}")).hint(
            "batch_size is the number of rows per stored batch, from 1 to 1000000 (default 10000).",
        ));
    }
    Ok(())
}

pub fn validate_server_id(id: i64) -> Result<()> {
    if !(1..=u32::MAX as i64).contains(&id) {
        return Err(Error::invalid(format!("invalid server_id {id}"))
            .hint("server_id is the replica id chameleon uses towards MySQL: 1 to 4294967295, different from the server's and other replicas'."));
    }
    Ok(())
}

/// A replica server id that is stable per source and distinct across sources of every
/// database and cluster (MySQL disconnects a replica whose id another one uses): derived from
/// the cluster's system identifier, the database and the source, in [1000000, 4294967295).
pub fn default_server_id(system_identifier: i64, database_oid: u32, id_source: i64) -> i64 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in system_identifier
        .to_le_bytes()
        .iter()
        .chain(&database_oid.to_le_bytes())
        .chain(&id_source.to_le_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    1_000_000 + (h % (u64::from(u32::MAX) - 1_000_000)) as i64
}

/// Table lists name tables of the source database, without schema, as MySQL spells them.
pub fn validate_table_list(what: &str, tables: &[String]) -> Result<()> {
    for t in tables {
        if t.is_empty() || t.chars().count() > 64 || t.contains('.') {
            return Err(Error::invalid(format!("invalid table name \"{t}\" in {what}"))
                .detail("Table lists name tables of the source's MySQL database, without schema, 1 to 64 characters.")
                .hint(format!("e.g. {what} => ARRAY['film', 'actor']")));
        }
    }
    Ok(())
}

pub fn validate_copy_options(v: &Value) -> Result<()> {
    let obj = v.as_object().ok_or_else(|| {
        Error::invalid("copy_options must be a JSON object")
            .hint("e.g. copy_options => '{\"rows_per_chunk\": 50000}'")
    })?;
    for (k, val) in obj {
        let Some(_) = COPY_OPTION_KEYS.iter().find(|(name, _)| name == k) else {
            let known: Vec<_> = COPY_OPTION_KEYS
                .iter()
                .map(|(n, d)| format!("{n}: {d}"))
                .collect();
            return Err(Error::invalid(format!("unknown copy option \"{k}\""))
                .hint(format!("Known copy options: {}.", known.join("; "))));
        };
        let n = val
            .as_i64()
            .ok_or_else(|| Error::invalid(format!("copy option \"{k}\" must be an integer")))?;
        let (min, max) = match k.as_str() {
            "parallel_tables" => (0, 64),
            "key_ranges" => (1, 16),
            _ => (1, i64::from(i32::MAX)),
        };
        if n < min || n > max {
            return Err(
                Error::invalid(format!("copy option \"{k}\" is out of range: {n}"))
                    .hint(format!("{k} goes from {min} to {max}.")),
            );
        }
    }
    Ok(())
}

/// Type overrides map a MySQL type (lower case, e.g. "tinyint(1)") or a column
/// ("table.column") to a PostgreSQL type name: `{"tinyint(1)": "boolean", "film.rating": "text"}`.
pub fn validate_type_overrides(v: &Value) -> Result<()> {
    let obj = v.as_object().ok_or_else(|| {
        Error::invalid("type_overrides must be a JSON object").hint(
            "e.g. type_overrides => '{\"tinyint(1)\": \"boolean\", \"film.rating\": \"text\"}'",
        )
    })?;
    for (k, val) in obj {
        let target = val
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "type override \"{k}\" must map to a PostgreSQL type name (a string)"
                ))
            })?;
        if k.trim().is_empty() || target.contains(';') {
            return Err(
                Error::invalid(format!("invalid type override \"{k}\": \"{target}\"")).hint(
                    "Keys are MySQL types or table.column; values are PostgreSQL type names.",
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn on_error() {
        assert_eq!(OnError::parse("stop").unwrap(), OnError::Stop);
        assert_eq!(OnError::parse("skip").unwrap().as_str(), "skip");
        assert!(OnError::parse("ignore").unwrap_err().hint.is_some());
    }

    #[test]
    fn ranges() {
        assert!(validate_batch_size(10_000).is_ok());
        assert!(validate_batch_size(0).is_err());
        assert!(validate_batch_size(1_000_001).is_err());
        assert!(validate_server_id(1).is_ok());
        assert!(validate_server_id(4_294_967_295).is_ok());
        assert!(validate_server_id(0).is_err());
        assert!(validate_server_id(4_294_967_296).is_err());
        let a = default_server_id(7_300_000_000_000_000_001, 16384, 1);
        assert_eq!(
            a,
            default_server_id(7_300_000_000_000_000_001, 16384, 1),
            "stable"
        );
        assert_ne!(
            a,
            default_server_id(7_300_000_000_000_000_001, 16385, 1),
            "another database"
        );
        assert_ne!(
            a,
            default_server_id(7_300_000_000_000_000_001, 16384, 2),
            "another source"
        );
        assert_ne!(
            a,
            default_server_id(7_300_000_000_000_000_002, 16384, 1),
            "another cluster"
        );
        for id in 1..1000 {
            let s = default_server_id(42, 5, id);
            assert!(validate_server_id(s).is_ok() && s >= 1_000_000);
        }
    }

    #[test]
    fn table_lists() {
        assert!(
            validate_table_list("include_tables", &["film".into(), "Film Text".into()]).is_ok()
        );
        assert!(validate_table_list("include_tables", &["sakila.film".into()]).is_err());
        assert!(validate_table_list("exclude_tables", &["".into()]).is_err());
    }

    #[test]
    fn copy_options() {
        assert!(validate_copy_options(&json!({})).is_ok());
        assert!(
            validate_copy_options(&json!({"rows_per_chunk": 5000, "parallel_tables": 2})).is_ok()
        );
        let e = validate_copy_options(&json!({"rows_per_chunks": 1})).unwrap_err();
        assert!(e.hint.unwrap().contains("rows_per_chunk"));
        assert!(validate_copy_options(&json!({"parallel_tables": 65})).is_err());
        assert!(validate_copy_options(&json!({"parallel_tables": -1})).is_err());
        assert!(validate_copy_options(&json!({"rows_per_chunk": 0})).is_err());
        // 0: init_replica copies in its caller's transaction; background copies still get one
        let none = json!({"parallel_tables": 0});
        assert!(validate_copy_options(&none).is_ok());
        assert!(copies_in_caller(&none) && !copies_in_caller(&json!({})));
        assert_eq!((copy_workers(&none), copy_workers(&json!({}))), (1, 2));
        assert!(validate_copy_options(&json!({"key_ranges": 17})).is_err());
        assert!(validate_copy_options(&json!({"key_ranges": 4})).is_ok());
    }

    #[test]
    fn a_large_table_is_split_over_the_cores_the_workers_leave() {
        let (auto, big) = (json!({}), 5 * SPLIT_MIN_ROWS);
        // 2 cores: whole tables; more cores: ranges for what the workers leave
        assert_eq!(key_ranges(&auto, big, 2, 2), 1);
        assert_eq!(key_ranges(&auto, big, 1, 2), 1);
        assert_eq!(key_ranges(&auto, big, 1, 8), 4);
        assert_eq!(key_ranges(&auto, big, 2, 16), 4);
        assert_eq!(key_ranges(&auto, big, 1, 64), 16);
        // a small table never; the option decides otherwise
        assert_eq!(key_ranges(&auto, SPLIT_MIN_ROWS - 1, 1, 8), 1);
        assert_eq!(key_ranges(&json!({"key_ranges": 4}), big, 2, 2), 4);
        assert_eq!(key_ranges(&json!({"key_ranges": 1}), big, 1, 8), 1);
        assert!(validate_copy_options(&json!({"parallel_tables": "2"})).is_err());
        assert!(validate_copy_options(&json!([1])).is_err());
    }

    #[test]
    fn type_overrides() {
        assert!(
            validate_type_overrides(&json!({"tinyint(1)": "boolean", "film.rating": "text"}))
                .is_ok()
        );
        assert!(validate_type_overrides(&json!({"x": 1})).is_err());
        assert!(validate_type_overrides(&json!({"x": "int; drop table t"})).is_err());
        assert!(validate_type_overrides(&json!("boolean")).is_err());
    }
}
