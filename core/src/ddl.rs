//! PostgreSQL DDL for a copied MySQL table: the bare table first (fast load), then keys,
//! indexes, checks, sequences and foreign keys (NOT VALID) once the rows are in.

use crate::snapshot::{IndexDef, TableDef};
use crate::types::{quote_ident, quote_literal, PgColumn};

fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A name PostgreSQL keeps whole: at most 63 bytes, cut on a character boundary.
pub fn pg_name(s: &str) -> String {
    crate::names::pg_truncated(s).to_string()
}

/// The name of something that belongs to a table (`<table>_pkey`, `<table>_<index>`,
/// `<table>_<column>_seq`): within 63 bytes, the table's part cut first (to no less than 31
/// bytes) so that it never ends up the table's own name, as PostgreSQL's own naming does.
pub fn derived_name(table: &str, suffix: &str) -> String {
    if table.len() + 1 + suffix.len() <= 63 {
        return format!("{table}_{suffix}");
    }
    let table =
        crate::names::pg_truncated_to(table, (63 - 1usize).saturating_sub(suffix.len()).max(31));
    let suffix = crate::names::pg_truncated_to(suffix, 63 - 1 - table.len());
    format!("{table}_{suffix}")
}

/// The PostgreSQL name of MySQL index `index` of `table`: MySQL's index names are per table,
/// PostgreSQL's share the schema with the tables, so `<table>_<index>` alone would take the
/// name of a table such as `user_auth_realm` (table `user_auth`, index `realm`) — the `_idx`
/// suffix, PostgreSQL's own for indexes, keeps the two apart.
pub fn index_name(table: &str, index: &str) -> String {
    derived_name(table, &format!("{index}_idx"))
}

/// CREATE TABLE with columns, types, NOT NULL and defaults, no keys yet.
pub fn create_table(schema: &str, table: &str, cols: &[PgColumn]) -> String {
    let body: Vec<String> = cols
        .iter()
        .map(|c| {
            let mut s = format!("{} {}", quote_ident(&c.name), c.sql_type);
            if c.not_null {
                s.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            s
        })
        .collect();
    format!(
        "CREATE TABLE {} ({})",
        qualified(schema, table),
        body.join(", ")
    )
}

/// What a statement made after the load creates. t_index_def records the keys, indexes and
/// foreign keys (`v_kind`: the lower-case name); checks and sequences are not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefKind {
    Primary,
    Unique,
    Index,
    Foreign,
    Check,
    Sequence,
}

impl DefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DefKind::Primary => "primary",
            DefKind::Unique => "unique",
            DefKind::Index => "index",
            DefKind::Foreign => "foreign",
            DefKind::Check => "check",
            DefKind::Sequence => "sequence",
        }
    }

    /// a key or an index (what a table's registration lists with its foreign keys)
    pub fn is_index(self) -> bool {
        matches!(self, DefKind::Primary | DefKind::Unique | DefKind::Index)
    }

    /// recorded in t_index_def
    pub fn is_recorded(self) -> bool {
        self.is_index() || self == DefKind::Foreign
    }
}

/// One statement to run after the load, with what t_index_def records of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostLoad {
    pub kind: DefKind,
    pub name: String,
    pub sql: String,
}

/// The key or index `i` of `table` (not FULLTEXT or SPATIAL: PostgreSQL has neither).
pub fn index(schema: &str, table: &str, i: &IndexDef) -> PostLoad {
    let rel = qualified(schema, table);
    if i.primary {
        let name = derived_name(table, "pkey");
        return PostLoad {
            kind: DefKind::Primary,
            sql: format!(
                "ALTER TABLE {rel} ADD CONSTRAINT {} PRIMARY KEY ({})",
                quote_ident(&name),
                cols_list(&i.columns)
            ),
            name,
        };
    }
    let name = index_name(table, &i.name);
    PostLoad {
        kind: if i.unique {
            DefKind::Unique
        } else {
            DefKind::Index
        },
        sql: format!(
            "CREATE {}INDEX {} ON {rel} ({})",
            if i.unique { "UNIQUE " } else { "" },
            quote_ident(&name),
            cols_list(&i.columns)
        ),
        name,
    }
}

/// The CHECK of an ENUM column (`<table>_<column>_check`).
pub fn check(schema: &str, table: &str, column: &str, body: &str) -> PostLoad {
    let name = check_name(table, column);
    PostLoad {
        kind: DefKind::Check,
        sql: format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({body})",
            qualified(schema, table),
            quote_ident(&name)
        ),
        name,
    }
}

pub fn check_name(table: &str, column: &str) -> String {
    derived_name(table, &format!("{column}_check"))
}

pub fn sequence_name(table: &str, column: &str) -> String {
    derived_name(table, &format!("{column}_seq"))
}

/// FULLTEXT and SPATIAL indexes, and MySQL 8's functional indexes (key parts that are
/// expressions, kept without their parts), live in the model only.
pub fn has_no_equivalent(i: &IndexDef) -> bool {
    matches!(i.index_type.as_str(), "FULLTEXT" | "SPATIAL" | "FUNCTIONAL")
}

fn cols_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sequence of an AUTO_INCREMENT column, owned by it, its next value after the rows there.
pub fn sequence(schema: &str, table: &str, column: &str) -> PostLoad {
    let rel = qualified(schema, table);
    let seq = sequence_name(table, column);
    let qseq = qualified(schema, &seq);
    PostLoad {
        kind: DefKind::Sequence,
        name: seq.clone(),
        sql: format!(
            "CREATE SEQUENCE {qseq} OWNED BY {rel}.{col};
                 ALTER TABLE {rel} ALTER COLUMN {col} SET DEFAULT nextval({lit}::regclass);
                 SELECT setval({lit}::regclass, coalesce((SELECT max({col})::bigint FROM {rel}), 0) + 1, false)",
            col = quote_ident(column),
            lit = quote_literal(&qseq),
        ),
    }
}

/// Keys, indexes, checks and sequences of one table; foreign keys separately (they need every
/// table to exist). FULLTEXT and SPATIAL indexes are returned in `skipped`.
pub fn post_load(schema: &str, t: &TableDef, cols: &[PgColumn]) -> (Vec<PostLoad>, Vec<String>) {
    let mut out = Vec::new();
    for c in cols.iter().filter(|c| c.auto_increment) {
        out.push(sequence(schema, &t.name, &c.name));
    }
    for c in cols {
        if let Some(body) = &c.check {
            out.push(check(schema, &t.name, &c.name, body));
        }
    }
    for i in t.indexes.iter().filter(|i| !has_no_equivalent(i)) {
        out.push(index(schema, &t.name, i));
    }
    let mut skipped = skipped_indexes(t);
    let is_enum = |pg: &PgColumn| t.columns.iter().any(|m| m.data_type == "enum" && pg_name(&m.name) == pg.name);
    for c in cols.iter().filter(|c| is_enum(c) && c.labels.iter().any(|l| l == crate::types::UNREADABLE_LABEL)) {
        skipped.push(format!(
            "the ENUM domain of \"{}\".\"{}\" (a label MariaDB shows as '?' that no row holds)",
            t.name, c.name
        ));
    }
    for k in &t.checks {
        match table_check(schema, t, k) {
            Ok(p) => out.push(p),
            Err(why) => skipped.push(format!(
                "CHECK constraint \"{}\" on \"{}\" ({why})",
                k.name, t.name
            )),
        }
    }
    (out, skipped)
}

/// The CHECK constraints of `t` PostgreSQL does not get, each as `name: why` (show_tables).
pub fn checks_not_carried(t: &TableDef) -> Vec<String> {
    t.checks
        .iter()
        .filter_map(|k| table_check("", t, k).err().map(|why| format!("{}: {why}", k.name)))
        .collect()
}

/// A MySQL CHECK constraint of `t`, NOT VALID: MySQL has checked the rows it holds, PostgreSQL
/// checks the ones that arrive. Err: why it is not carried (crate::check).
pub fn table_check(schema: &str, t: &TableDef, k: &crate::check::CheckDef) -> Result<PostLoad, String> {
    let expr = crate::check::translate(&k.clause, &t.columns)?;
    let name = pg_name(&k.name);
    Ok(PostLoad {
        kind: DefKind::Check,
        sql: format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({expr}) NOT VALID",
            qualified(schema, &t.name),
            quote_ident(&name)
        ),
        name,
    })
}

/// The indexes PostgreSQL has no equivalent for, as the copy's notice names them.
fn skipped_indexes(t: &TableDef) -> Vec<String> {
    t.indexes
        .iter()
        .filter(|i| has_no_equivalent(i))
        .map(|i| format!("{} index \"{}\" on \"{}\"", i.index_type, i.name, t.name))
        .collect()
}

fn rule(r: &str) -> &'static str {
    match r {
        "CASCADE" => "CASCADE",
        "SET NULL" => "SET NULL",
        "SET DEFAULT" => "SET DEFAULT",
        "RESTRICT" => "RESTRICT",
        _ => "NO ACTION",
    }
}

/// Foreign keys, NOT VALID: the copy is consistent, so checking them is left to
/// detach_replica (replication may apply a child row before its parent's batch).
pub fn foreign_keys(schema: &str, t: &TableDef, copied: &[String]) -> Vec<PostLoad> {
    t.foreign_keys
        .iter()
        .filter(|f| copied.contains(&f.ref_table))
        .map(|f| {
            let name = pg_name(&f.name);
            PostLoad {
                kind: DefKind::Foreign,
                sql: format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {} NOT VALID",
                    qualified(schema, &t.name),
                    quote_ident(&name),
                    cols_list(&f.columns),
                    qualified(schema, &f.ref_table),
                    cols_list(&f.ref_columns),
                    rule(&f.on_update),
                    rule(&f.on_delete),
                ),
                name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ForeignKey;
    use crate::types::{map_column, MysqlColumn};

    fn table() -> (TableDef, Vec<PgColumn>) {
        let id = MysqlColumn {
            name: "id".into(),
            data_type: "int".into(),
            column_type: "int(10) unsigned".into(),
            extra: "auto_increment".into(),
            ..Default::default()
        };
        let st = MysqlColumn {
            name: "state".into(),
            data_type: "enum".into(),
            column_type: "enum('a','b')".into(),
            nullable: true,
            default: Some("'a'".into()),
            ..Default::default()
        };
        let t = TableDef {
            engine: None,
            name: "Order Items".into(),
            columns: vec![id.clone(), st.clone()],
            indexes: vec![
                IndexDef {
                    name: "PRIMARY".into(),
                    unique: true,
                    primary: true,
                    columns: vec!["id".into()],
                    index_type: "BTREE".into(),
                },
                IndexDef {
                    name: "k_state".into(),
                    unique: false,
                    primary: false,
                    columns: vec!["state".into(), "id".into()],
                    index_type: "BTREE".into(),
                },
                IndexDef {
                    name: "ft".into(),
                    unique: false,
                    primary: false,
                    columns: vec!["state".into()],
                    index_type: "FULLTEXT".into(),
                },
            ],
            foreign_keys: vec![ForeignKey {
                name: "fk_o".into(),
                columns: vec!["id".into()],
                ref_table: "orders".into(),
                ref_columns: vec!["id".into()],
                on_update: "CASCADE".into(),
                on_delete: "RESTRICT".into(),
            }],
            approx_rows: 0,
            charset: None,
            checks: vec![],
        };
        let cols = t
            .columns
            .iter()
            .map(|c| map_column(&t.name, c, &serde_json::json!({})).unwrap())
            .collect();
        (t, cols)
    }

    #[test]
    fn table_then_keys() {
        let (t, cols) = table();
        assert_eq!(create_table("shop", &t.name, &cols),
            "CREATE TABLE \"shop\".\"Order Items\" (\"id\" bigint NOT NULL, \"state\" text DEFAULT 'a')");
        let (post, skipped) = post_load("shop", &t, &cols);
        let kinds: Vec<_> = post.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, vec!["sequence", "check", "primary", "index"]);
        assert!(post[0]
            .sql
            .contains("setval('\"shop\".\"Order Items_id_seq\"'::regclass"));
        assert_eq!(post[2].sql, "ALTER TABLE \"shop\".\"Order Items\" ADD CONSTRAINT \"Order Items_pkey\" PRIMARY KEY (\"id\")");
        assert_eq!(
            post[3].sql,
            "CREATE INDEX \"Order Items_k_state_idx\" ON \"shop\".\"Order Items\" (\"state\", \"id\")"
        );
        assert_eq!(skipped, vec!["FULLTEXT index \"ft\" on \"Order Items\""]);
    }

    #[test]
    fn foreign_keys_only_to_copied_tables() {
        let (t, _) = table();
        assert!(foreign_keys("shop", &t, &["Order Items".into()]).is_empty());
        let fk = foreign_keys("shop", &t, &["orders".into()]);
        assert_eq!(fk[0].sql, "ALTER TABLE \"shop\".\"Order Items\" ADD CONSTRAINT \"fk_o\" FOREIGN KEY (\"id\") REFERENCES \"shop\".\"orders\" (\"id\") ON UPDATE CASCADE ON DELETE RESTRICT NOT VALID");
    }

    #[test]
    fn long_names_are_cut_on_characters() {
        let n = pg_name(&"é".repeat(40));
        assert!(n.len() <= 63 && n.chars().all(|c| c == 'é'));
    }
}
