//! Names chameleon gives to things: sources, destination schemas, per-source log tables.

use crate::error::{Error, Result};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
pub const MAX_IDENT_BYTES: usize = 63;

/// A name as PostgreSQL keeps it: at most 63 bytes, cut on a character boundary (longer
/// names are truncated by PostgreSQL itself, with a NOTICE).
pub fn pg_truncated(s: &str) -> &str {
    pg_truncated_to(s, MAX_IDENT_BYTES)
}

/// `s` cut to at most `bytes` bytes on a character boundary.
pub fn pg_truncated_to(s: &str, bytes: usize) -> &str {
    let mut end = s.len().min(bytes);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// MySQL allows 64 characters (up to 256 bytes), PostgreSQL 63 bytes: two MySQL names that
/// truncate to the same PostgreSQL name cannot both be replicated. `what` is "table" or
/// "column", `place` where they are ("database shop", "table orders").
pub fn check_truncation<'a>(
    what: &str,
    place: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for n in names {
        if let Some(first) = seen.insert(pg_truncated(n), n) {
            if first != n {
                return Err(Error::new(
                    crate::error::SqlState::DuplicateObject,
                    format!("{what}s \"{first}\" and \"{n}\" of {place} have the same PostgreSQL name \"{}\"", pg_truncated(n)),
                )
                .detail("PostgreSQL keeps the first 63 bytes of a name; MySQL allows 64 characters.")
                .hint(if what == "table" {
                    "Leave one of them out (alter_source(..., exclude_tables => ...)) or rename it on MySQL, then init_replica again."
                } else {
                    "Rename one of the columns on MySQL, or leave the table out with exclude_tables, then init_replica again."
                }));
            }
        }
    }
    Ok(())
}

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

#[cfg(test)]
mod truncation_tests {
    use super::*;

    #[test]
    fn derived_names_never_become_the_tables_own() {
        let long = "é".repeat(40);
        let pkey = crate::ddl::derived_name(&long, "pkey");
        assert!(
            pkey.len() <= 63 && pkey.ends_with("_pkey") && pkey != pg_truncated(&long),
            "{pkey}"
        );
        assert_eq!(crate::ddl::derived_name("orders", "pkey"), "orders_pkey");
        let ix = crate::ddl::derived_name(&long, &"i".repeat(64));
        assert!(ix.len() <= 63 && ix.starts_with(&"é".repeat(15)), "{ix}");
    }

    #[test]
    fn names_equal_after_63_bytes_clash() {
        let long = "é".repeat(40);
        assert_eq!(
            pg_truncated(&format!("{long}_one")).len(),
            62,
            "cut on a character"
        );
        assert!(check_truncation("table", "database d", ["a", "b", "A"]).is_ok());
        let e = check_truncation(
            "table",
            "database d",
            [
                format!("{long}_one").as_str(),
                "x",
                format!("{long}_two").as_str(),
            ],
        )
        .unwrap_err();
        assert_eq!(e.state.code(), "42710");
        assert!(
            e.message.contains("_one") && e.message.contains("_two"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("exclude_tables"));
    }
}
