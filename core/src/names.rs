//! Names chameleon gives to things: sources, destination schemas, per-source log tables.

use crate::error::{Error, Result};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
pub const MAX_IDENT_BYTES: usize = 63;

/// A source name shows up in worker names, NOTICEs and pg_stat_activity, so it is kept simple.
pub fn validate_source_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.is_empty() || name.len() > MAX_IDENT_BYTES || !ok_chars {
        return Err(Error::invalid(format!("invalid source name \"{name}\""))
            .detail("A source name has 1 to 63 characters: letters, digits, '_' and '-'.")
            .hint("Choose a name such as 'sakila' or 'shop_eu-1'."));
    }
    Ok(())
}

/// The destination schema is created by init_replica; it must be a plain PostgreSQL name that
/// does not collide with chameleon's own schemas or the system's.
pub fn validate_dest_schema(schema: &str) -> Result<()> {
    if schema.is_empty() || schema.len() > MAX_IDENT_BYTES {
        return Err(
            Error::invalid(format!("invalid destination schema \"{schema}\""))
                .detail("A schema name has 1 to 63 bytes.")
                .hint("Pick another dest_schema."),
        );
    }
    let lower = schema.to_ascii_lowercase();
    if lower.starts_with("pg_")
        || ["chameleon", "sch_chameleon", "information_schema", "public"].contains(&lower.as_str())
    {
        return Err(Error::invalid(format!("destination schema \"{schema}\" is reserved"))
            .detail("pg_*, information_schema, public and chameleon's own schemas cannot receive a replica.")
            .hint("Pick a dedicated schema, e.g. the MySQL database name."));
    }
    Ok(())
}

/// The 1.3 layout's pair of log tables of a source (DESIGN §2).
pub fn log_table_pair(id_source: i64) -> [String; 2] {
    [
        format!("t_log_replica_1_src_{id_source}"),
        format!("t_log_replica_2_src_{id_source}"),
    ]
}

/// The 1.2 layout's shared log tables.
pub const SHARED_LOG_TABLES: [&str; 2] = ["t_log_replica_1", "t_log_replica_2"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names() {
        for ok in ["sakila", "shop_eu-1", "A", &"x".repeat(63)] {
            assert!(validate_source_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "semi;colon",
            "quote'",
            &"x".repeat(64),
            "émoji",
        ] {
            let e = validate_source_name(bad).unwrap_err();
            assert!(e.hint.is_some());
        }
    }

    #[test]
    fn dest_schemas() {
        assert!(validate_dest_schema("sakila").is_ok());
        assert!(validate_dest_schema("Mixed Case ok").is_ok());
        for bad in [
            "",
            "pg_catalog",
            "PG_x",
            "sch_chameleon",
            "chameleon",
            "public",
            &"s".repeat(64),
        ] {
            assert!(validate_dest_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn log_tables_are_per_source() {
        assert_eq!(
            log_table_pair(7),
            ["t_log_replica_1_src_7", "t_log_replica_2_src_7"]
        );
        // the longest possible id still fits PostgreSQL's identifier limit
        assert!(log_table_pair(i64::MAX)[1].len() <= MAX_IDENT_BYTES);
    }
}
