//! Typed changes -> PostgreSQL DDL. The model's edits say what changes in MySQL's terms (a
//! column added, an index dropped); this module alone writes the statements, with the names
//! and builders init_replica's copy uses (`ddl.rs`).

use crate::ddl::{self, create_table, derived_name, foreign_keys, pg_name, post_load};
use crate::snapshot::{IndexDef, TableDef};
use crate::types::{quote_ident, quote_literal, Kind, PgColumn};

/// One change to the destination, in the order the statement makes them.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// a table with its keys, indexes, checks, sequences and its foreign keys to `replicated`
    CreateTable {
        def: TableDef,
        columns: Vec<PgColumn>,
        replicated: Vec<String>,
    },
    DropTable {
        table: String,
        if_exists: bool,
    },
    Truncate {
        table: String,
    },
    /// the table and the names made after it (`def`: the table as it was)
    RenameTable {
        def: TableDef,
        columns: Vec<PgColumn>,
        to: String,
    },
    AddColumn {
        table: String,
        column: PgColumn,
    },
    DropColumn {
        table: String,
        column: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    /// the names made after a column (sequence, check) follow its rename
    RenamedColumnNames {
        table: String,
        from: String,
        to: String,
        sequence: bool,
        check: bool,
    },
    /// None: DROP DEFAULT
    SetDefault {
        table: String,
        column: String,
        default: Option<String>,
    },
    SetType {
        table: String,
        column: String,
        was: PgColumn,
        now: PgColumn,
    },
    SetNotNull {
        table: String,
        column: String,
        not_null: bool,
    },
    AddCheck {
        table: String,
        column: PgColumn,
    },
    DropCheck {
        table: String,
        column: String,
    },
    /// a MySQL CHECK constraint of `def` (made when PostgreSQL reads it the same)
    AddTableCheck {
        def: TableDef,
        check: crate::check::CheckDef,
    },
    DropTableCheck {
        table: String,
        name: String,
    },
    /// MySQL renames the checks it named after a table with the table (`<table>_chk_<n>`);
    /// `def`: the table after the rename
    RenameTableCheck {
        def: TableDef,
        from: String,
        to: String,
    },
    AddIndex {
        table: String,
        index: IndexDef,
    },
    DropIndex {
        table: String,
        index: IndexDef,
    },
    RenameIndex {
        table: String,
        from: String,
        to: String,
    },
    /// a table's foreign key (`def` holds it alone), to a replicated table
    AddForeignKey {
        def: TableDef,
        replicated: Vec<String>,
    },
    DropForeignKey {
        table: String,
        name: String,
    },
    /// a generated column added to rows that exist: its values computed (MySQL did the same)
    Backfill {
        table: String,
        column: String,
        expr: String,
    },
    /// an AUTO_INCREMENT column added: numbered by a sequence of its own (the table is empty:
    /// `RequireEmpty` before it)
    AddSequence {
        table: String,
        column: String,
    },
    /// an AUTO_INCREMENT column added to rows: numbered in `order` (MySQL's: the primary key
    /// the table had); None, or text key values PostgreSQL orders differently, stop the change
    /// (`why`) where the table has rows
    NumberRows {
        table: String,
        column: String,
        order: Option<Vec<(String, bool)>>,
        why: String,
    },
    /// stops the change where rows match `unless_none` (`why`: what the destination cannot know)
    Guard {
        table: String,
        unless_none: String,
        why: String,
    },
    /// AUTO_INCREMENT removed: the column's sequence goes
    DropSequence {
        table: String,
        column: String,
    },
}

fn rel(dest: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(dest), quote_ident(table))
}

/// The statements of one change in schema `dest`.
pub(super) fn render(dest: &str, c: &Change) -> Vec<String> {
    let alter = |table: &str, what: String| format!("ALTER TABLE {} {what}", rel(dest, table));
    let schema = quote_ident(dest);
    match c {
        Change::CreateTable {
            def,
            columns,
            replicated,
        } => {
            let mut out = vec![create_table(dest, &def.name, columns)];
            out.extend(post_load(dest, def, columns).0.into_iter().map(|p| p.sql));
            out.extend(
                foreign_keys(dest, def, replicated)
                    .into_iter()
                    .map(|p| p.sql),
            );
            out
        }
        Change::DropTable { table, if_exists } => vec![format!(
            "DROP TABLE{} {}",
            if *if_exists { " IF EXISTS" } else { "" },
            rel(dest, table)
        )],
        Change::Truncate { table } => vec![format!("TRUNCATE {}", rel(dest, table))],
        Change::RenameTable { def, columns, to } => rename_table(dest, def, columns, to),
        Change::AddColumn { table, column } => add_column(dest, table, column),
        Change::DropColumn { table, column } => {
            vec![alter(table, format!("DROP COLUMN {}", quote_ident(column)))]
        }
        Change::RenameColumn { table, from, to } => vec![alter(
            table,
            format!("RENAME COLUMN {} TO {}", quote_ident(from), quote_ident(to)),
        )],
        Change::RenamedColumnNames { .. }
        | Change::SetDefault { .. }
        | Change::SetType { .. }
        | Change::SetNotNull { .. } => column_change(dest, c),
        Change::AddCheck { table, column } => column
            .check
            .iter()
            .map(|body| ddl::check(dest, table, &column.name, body).sql)
            .collect(),
        Change::DropCheck { table, column } => vec![alter(
            table,
            format!(
                "DROP CONSTRAINT IF EXISTS {}",
                quote_ident(&ddl::check_name(table, column))
            ),
        )],
        Change::AddSequence { table, column } => vec![ddl::sequence(dest, table, column).sql],
        Change::NumberRows { table, column, order, why } => number_rows(dest, table, column, order.as_deref(), why),
        Change::Guard { table, unless_none, why } => vec![guard(&format!("SELECT FROM {} WHERE {unless_none}", rel(dest, table)), why)],
        Change::Backfill { table, column, expr } => vec![format!(
            "UPDATE {} SET {} = {expr}",
            rel(dest, table),
            quote_ident(column)
        )],
        Change::AddTableCheck { def, check } => ddl::table_check(dest, def, check)
            .map(|p| vec![p.sql])
            .unwrap_or_default(),
        Change::DropTableCheck { table, name } => vec![alter(
            table,
            format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(&ddl::pg_name(name))),
        )],
        Change::RenameTableCheck { def, from, to } => {
            let made = def.checks.iter().find(|k| &k.name == to);
            match made.map(|k| ddl::table_check(dest, def, k)) {
                Some(Ok(_)) => vec![alter(
                    &def.name,
                    format!(
                        "RENAME CONSTRAINT {} TO {}",
                        quote_ident(&ddl::pg_name(from)),
                        quote_ident(&ddl::pg_name(to))
                    ),
                )],
                _ => vec![],
            }
        }
        Change::AddIndex { table, index } if !ddl::has_no_equivalent(index) => {
            vec![ddl::index(dest, table, index).sql]
        }
        Change::DropIndex { table, index } if index.primary => vec![alter(
            table,
            format!(
                "DROP CONSTRAINT {}",
                quote_ident(&derived_name(table, "pkey"))
            ),
        )],
        Change::DropIndex { table, index } if !ddl::has_no_equivalent(index) => vec![
            adopt_old_index_name(dest, table, &index.name),
            format!("DROP INDEX {schema}.{}", quote_ident(&ddl::index_name(table, &index.name))),
        ],
        Change::AddIndex { .. } | Change::DropIndex { .. } => vec![],
        Change::RenameIndex { table, from, to } => vec![
            adopt_old_index_name(dest, table, from),
            format!(
                "ALTER INDEX {schema}.{} RENAME TO {}",
                quote_ident(&ddl::index_name(table, from)),
                quote_ident(&ddl::index_name(table, to))
            ),
        ],
        Change::AddForeignKey { def, replicated } => foreign_keys(dest, def, replicated)
            .into_iter()
            .map(|p| p.sql)
            .collect(),
        Change::DropForeignKey { table, name } => vec![alter(
            table,
            format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(&pg_name(name))),
        )],
        Change::DropSequence { table, column } => vec![
            alter(
                table,
                format!("ALTER COLUMN {} DROP DEFAULT", quote_ident(column)),
            ),
            format!(
                "DROP SEQUENCE IF EXISTS {schema}.{}",
                quote_ident(&ddl::sequence_name(table, column))
            ),
        ],
    }
}

/// The changes of one column's definition.
fn column_change(dest: &str, c: &Change) -> Vec<String> {
    let alter = |table: &str, column: &str, what: String| {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} {what}",
            rel(dest, table),
            quote_ident(column)
        )
    };
    match c {
        Change::RenamedColumnNames {
            table,
            from,
            to,
            sequence,
            check,
        } => {
            let mut out = Vec::new();
            if *sequence {
                out.push(format!(
                    "ALTER SEQUENCE {}.{} RENAME TO {}",
                    quote_ident(dest),
                    quote_ident(&ddl::sequence_name(table, from)),
                    quote_ident(&ddl::sequence_name(table, to))
                ));
            }
            if *check {
                out.push(format!(
                    "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                    rel(dest, table),
                    quote_ident(&ddl::check_name(table, from)),
                    quote_ident(&ddl::check_name(table, to))
                ));
            }
            out
        }
        Change::SetDefault {
            table,
            column,
            default: Some(d),
        } => vec![alter(table, column, format!("SET DEFAULT {d}"))],
        Change::SetDefault {
            table,
            column,
            default: None,
        } => vec![alter(table, column, "DROP DEFAULT".into())],
        Change::SetType {
            table,
            column,
            was,
            now,
        } => vec![alter(
            table,
            column,
            format!(
                "TYPE {} USING {}",
                now.sql_type,
                cast(&quote_ident(column), was, now)
            ),
        )],
        Change::SetNotNull {
            table,
            column,
            not_null,
        } => vec![alter(
            table,
            column,
            format!("{} NOT NULL", if *not_null { "SET" } else { "DROP" }),
        )],
        _ => vec![],
    }
}

/// A statement that stops the change (an error at replay: the source stops, the operator's fix
/// in the hint) where `query` finds a row.
fn guard(query: &str, why: &str) -> String {
    do_if(
        &format!("EXISTS ({query})"),
        &format!(
            "RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = {}, \
             HINT = 'Apply the change to the destination by hand, then enable_replica and start_replica; or copy the source again with init_replica.'",
            quote_literal(why)
        ),
    )
}

/// `then` where `condition` holds, at replay (an anonymous block: plain SQL has no IF).
fn do_if(condition: &str, then: &str) -> String {
    format!("DO $chameleon$ BEGIN IF {condition} THEN {then}; END IF; END $chameleon$")
}

/// The statements that number the rows of an added AUTO_INCREMENT column as MySQL did: a
/// guard that stops the change where that order is unknown (and the table has rows), then the
/// numbers in the key's order (text key columns compared by code point: the guard has checked
/// that their values are ASCII letters of one case and digits, ordered alike by every MySQL
/// collation).
fn number_rows(dest: &str, table: &str, column: &str, order: Option<&[(String, bool)]>, why: &str) -> Vec<String> {
    let rel = rel(dest, table);
    let exact = match order {
        None => "false".to_string(),
        Some(cols) => {
            let checks: Vec<String> = cols
                .iter()
                .filter(|(_, text)| *text)
                .map(|(c, _)| {
                    let c = quote_ident(c);
                    format!("(NOT EXISTS (SELECT FROM {rel} WHERE {c} !~ '^[0-9A-Z]*$') OR NOT EXISTS (SELECT FROM {rel} WHERE {c} !~ '^[0-9a-z]*$'))")
                })
                .collect();
            if checks.is_empty() { "true".to_string() } else { checks.join(" AND ") }
        }
    };
    let mut out = vec![guard(&format!("SELECT FROM {rel} WHERE NOT ({exact})"), why)];
    if let Some(cols) = order {
        let by: Vec<String> = cols
            .iter()
            .map(|(c, text)| format!("{}{}", quote_ident(c), if *text { " COLLATE \"C\"" } else { "" }))
            .collect();
        out.push(format!(
            "UPDATE {rel} SET {col} = n.n FROM (SELECT ctid AS row, row_number() OVER (ORDER BY {}) AS n FROM {rel}) n WHERE {rel}.ctid = n.row",
            by.join(", "),
            col = quote_ident(column)
        ));
    }
    out
}

/// An index made by a release that named indexes `<table>_<index>` (ddl::index_name) takes
/// today's name before it is dropped or renamed; a no-op where there is none.
fn adopt_old_index_name(dest: &str, table: &str, index: &str) -> String {
    let (old, new) = (derived_name(table, index), ddl::index_name(table, index));
    let regclass = |name: &str| quote_literal(&format!("{}.{}", quote_ident(dest), quote_ident(name)));
    do_if(
        &format!(
            "to_regclass({}) IS NULL AND EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass({}))",
            regclass(&new),
            regclass(&old)
        ),
        &format!("ALTER INDEX {}.{} RENAME TO {}", quote_ident(dest), quote_ident(&old), quote_ident(&new)),
    )
}

/// ALTER TABLE … RENAME, and the names made after the table (indexes, sequences, checks).
fn rename_table(dest: &str, def: &TableDef, columns: &[PgColumn], to: &str) -> Vec<String> {
    let from = &def.name;
    let schema = quote_ident(dest);
    let mut out = vec![format!(
        "ALTER TABLE {} RENAME TO {}",
        rel(dest, from),
        quote_ident(to)
    )];
    for i in def.indexes.iter().filter(|i| !ddl::has_no_equivalent(i)) {
        let (old, new) = if i.primary {
            (derived_name(from, "pkey"), derived_name(to, "pkey"))
        } else {
            out.push(adopt_old_index_name(dest, from, &i.name));
            (ddl::index_name(from, &i.name), ddl::index_name(to, &i.name))
        };
        out.push(format!("ALTER INDEX {schema}.{} RENAME TO {}", quote_ident(&old), quote_ident(&new)));
    }
    for c in columns {
        if c.auto_increment {
            out.push(format!(
                "ALTER SEQUENCE {schema}.{} RENAME TO {}",
                quote_ident(&ddl::sequence_name(from, &c.name)),
                quote_ident(&ddl::sequence_name(to, &c.name))
            ));
        }
        if c.check.is_some() {
            out.push(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                rel(dest, to),
                quote_ident(&ddl::check_name(from, &c.name)),
                quote_ident(&ddl::check_name(to, &c.name))
            ));
        }
    }
    out
}

/// ADD COLUMN: existing rows get MySQL's value (the default, or the type's implicit one for a
/// NOT NULL column without a default, which is then dropped); an ENUM's check after it.
fn add_column(dest: &str, table: &str, pg: &PgColumn) -> Vec<String> {
    let rel = rel(dest, table);
    let mut sql = format!(
        "ALTER TABLE {rel} ADD COLUMN {} {}",
        quote_ident(&pg.name),
        pg.sql_type
    );
    match (&pg.default, pg.not_null) {
        (Some(d), _) => sql.push_str(&format!(" DEFAULT {d}")),
        (None, true) => sql.push_str(&format!(" DEFAULT {}", implicit_default(pg))),
        (None, false) => {}
    }
    if pg.not_null {
        sql.push_str(" NOT NULL");
    }
    let mut out = vec![sql];
    if pg.default.is_none() && pg.not_null {
        out.push(format!(
            "ALTER TABLE {rel} ALTER COLUMN {} DROP DEFAULT",
            quote_ident(&pg.name)
        ));
    }
    out.extend(
        pg.check
            .iter()
            .map(|body| ddl::check(dest, table, &pg.name, body).sql),
    );
    out
}

/// The USING expression of a type change.
fn cast(col: &str, was: &PgColumn, now: &PgColumn) -> String {
    let number = |k: Kind| matches!(k, Kind::Int | Kind::Decimal | Kind::Float | Kind::Double);
    match (was.kind, now.kind) {
        (Kind::Bool, Kind::Int | Kind::Decimal) => format!("{col}::int::{}", now.sql_type),
        (Kind::Int, Kind::Bool) => format!("{col} <> 0"),
        // MySQL reads a string as a number by its leading number, 0 where there is none (a
        // lenient ALTER; a strict one refused what it would change): CubeCart's VARBINARY → INT
        (Kind::Text | Kind::Bytes, k) if number(k) => {
            let text = if was.kind == Kind::Bytes { format!("convert_from({col}, 'UTF8')") } else { col.to_string() };
            format!(
                "coalesce(substring({text} from '^\\s*([-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?)'), '0')::numeric::{}",
                now.sql_type
            )
        }
        // bytes and text are the same bytes in MySQL (text::bytea would read escapes)
        (Kind::Bytes, Kind::Text) => format!("convert_from({col}, 'UTF8')"),
        (k, Kind::Bytes) if k != Kind::Bytes => format!("convert_to({col}::text, 'UTF8')"),
        _ => format!("{col}::{}", now.sql_type),
    }
}

/// What MySQL gives existing rows for a NOT NULL column added without a default.
fn implicit_default(pg: &PgColumn) -> String {
    match pg.kind {
        Kind::Int | Kind::Decimal | Kind::Float | Kind::Double => "0".into(),
        Kind::Bool => "false".into(),
        Kind::Bit(n) => format!("B'{}'", "0".repeat(n as usize)),
        Kind::Bytes => "''::bytea".into(),
        Kind::Json => "'null'::jsonb".into(),
        Kind::Vector => "'{}'::real[]".into(),
        // zero dates are -infinity in NOT NULL columns (docs/types.md)
        Kind::Date | Kind::DateTime | Kind::Timestamp => "'-infinity'".into(),
        Kind::Time => "'0'::interval".into(),
        _ => match pg.labels.first() {
            Some(first) if pg.check.is_some() => quote_literal(first),
            _ => "''".into(),
        },
    }
}
