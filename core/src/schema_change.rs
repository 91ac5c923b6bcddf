//! DDL replication: a MySQL statement from the binlog, read by sqlparser's MySQL dialect, becomes
//! the PostgreSQL statements that make the destination follow, and changes chameleon's model of
//! the replicated tables (the shape row events are decoded with after it).
//!
//! The model is the source's tables as `TableDef`s (columns in MySQL order, indexes, foreign
//! keys), the same structure init_replica reads from information_schema; PostgreSQL names
//! follow init_replica's conventions (`<table>_pkey`, `<table>_<index>`, `<table>_<col>_seq`,
//! `<table>_<col>_check`), so a later statement finds what an earlier one made.
//!
//! A statement is one of three things: not the source's (another database, a table outside the
//! include list, not a table change at all) and ignored knowingly; translated; or an error
//! (cannot be parsed or translated), which the worker never skips silently.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, CreateTableLikeKind,
    DataType, EnumMember, Expr, IndexColumn, MySQLColumnPosition, ObjectName, ObjectNamePart,
    ReferentialAction, RenameTableNameKind, Statement, TableConstraint,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::ddl::{create_table, derived_name, foreign_keys, pg_name, post_load, PostLoad};
use crate::error::{Error, Result, SqlState};
use crate::snapshot::{select_tables, ForeignKey, IndexDef, TableDef};
use crate::types::{
    is_text_type, map_column, quote_ident, quote_literal, Kind, MysqlColumn, PgColumn,
};

/// The source's replicated tables, as the binlog has them at the current position.
#[derive(Debug, Clone)]
pub struct Model {
    /// the MySQL database
    pub database: String,
    /// the PostgreSQL schema
    pub dest: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub overrides: Json,
    pub tables: BTreeMap<String, TableDef>,
}

/// What the catalogue learns of a table after a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    /// registered (again) with its primary key and its keys, indexes and foreign keys
    Table {
        table: String,
        /// the name it had before a rename
        renamed_from: Option<String>,
        pkey: Vec<String>,
        defs: Vec<PostLoad>,
        /// the table as MySQL now has it (kept in t_replica_tables.jsb_columns)
        model: TableDef,
    },
    /// no longer replicated (dropped, renamed away)
    Gone { table: String },
}

/// A translated statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// PostgreSQL statements, run in order in the replay transaction
    pub statements: Vec<String>,
    pub registrations: Vec<Registration>,
    /// parts of the statement knowingly left out (FULLTEXT indexes, table options, ...)
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// not a change to the source's replicated tables: why
    Ignored(String),
    Apply(Translation),
}

impl Translation {
    /// The log row's event data: the MySQL statement and what the catalogue learns.
    pub fn event_data(&self, mysql: &str) -> Json {
        let regs: Vec<Json> = self
            .registrations
            .iter()
            .map(|r| match r {
                Registration::Table {
                    table,
                    renamed_from,
                    pkey,
                    defs,
                    model,
                } => json!({
                    "table": table,
                    "renamed_from": renamed_from,
                    "pkey": pkey,
                    "model": model,
                    "defs": defs.iter().map(|d| json!({"kind": d.kind, "name": d.name, "sql": d.sql})).collect::<Vec<_>>(),
                }),
                Registration::Gone { table } => json!({"table": table, "gone": true}),
            })
            .collect();
        json!({"mysql": mysql, "registrations": regs, "notes": self.notes})
    }
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::new(SqlState::FeatureNotSupported, what.into()).hint(
        "Apply the change to the destination by hand, then enable_replica and start_replica; or copy the source again with init_replica.",
    )
}

fn ident_name(parts: &ObjectName) -> Vec<String> {
    parts
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect()
}

/// Keywords a statement starts with that make it a change to tables.
fn is_table_ddl(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let skip = |w: &[&str], lead: &[&str]| -> usize {
        let mut i = 0;
        while i < w.len() && lead.contains(&w[i]) {
            i += 1;
        }
        i
    };
    match w.first().copied() {
        Some("ALTER") => {
            let i = 1 + skip(&w[1..], &["IGNORE", "ONLINE", "OFFLINE"]);
            w.get(i) == Some(&"TABLE")
        }
        Some("CREATE") => {
            let i = 1 + skip(
                &w[1..],
                &[
                    "OR",
                    "REPLACE",
                    "TEMPORARY",
                    "UNIQUE",
                    "FULLTEXT",
                    "SPATIAL",
                    "ONLINE",
                    "OFFLINE",
                ],
            );
            matches!(w.get(i), Some(&"TABLE") | Some(&"INDEX"))
        }
        Some("DROP") => {
            let i = 1 + skip(&w[1..], &["TEMPORARY", "ONLINE", "OFFLINE"]);
            matches!(w.get(i), Some(&"TABLE") | Some(&"TABLES") | Some(&"INDEX"))
        }
        Some("RENAME") => matches!(w.get(1), Some(&"TABLE") | Some(&"TABLES")),
        Some("TRUNCATE") => true,
        _ => false,
    }
}

/// The statement's tokens without whitespace and comments.
fn tokens(sql: &str) -> Result<Vec<Token>> {
    let t = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .map_err(|e| {
            Error::new(SqlState::SyntaxError, "cannot read the statement").detail(e.to_string())
        })?;
    Ok(t.into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect())
}

fn upper_words(toks: &[Token], n: usize) -> Vec<String> {
    toks.iter()
        .take(n)
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        })
        .collect()
}

fn join(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn word(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => None,
    }
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// One sub-command of an ALTER TABLE.
#[derive(Debug)]
enum Op {
    Parsed(AlterTableOperation),
    /// `DROP KEY name` (sqlparser reads DROP INDEX only)
    DropIndex(String),
    /// `RENAME {INDEX|KEY} a TO b`
    RenameIndex(String, String),
    /// `ADD [COLUMN] IF NOT EXISTS ...` (MariaDB): added unless the column exists
    AddIfMissing(AlterTableOperation),
    /// `CONVERT TO CHARACTER SET x`: every text column's text is in x from now on
    Convert(String),
    /// `[DEFAULT] CHARACTER SET [=] x`: columns added later without their own take x
    TableCharset(String),
    /// table options and other clauses with no PostgreSQL effect
    Ignored(String),
}

const TABLE_OPTIONS: &[&str] = &[
    "ENGINE",
    "CHARSET",
    "CHARACTER",
    "COLLATE",
    "DEFAULT",
    "COMMENT",
    "ROW_FORMAT",
    "KEY_BLOCK_SIZE",
    "FORCE",
    "STATS_PERSISTENT",
    "STATS_AUTO_RECALC",
    "STATS_SAMPLE_PAGES",
    "PACK_KEYS",
    "CHECKSUM",
    "DELAY_KEY_WRITE",
    "CONVERT",
    "ORDER",
    "MAX_ROWS",
    "MIN_ROWS",
    "AVG_ROW_LENGTH",
    "INSERT_METHOD",
    "PAGE_CHECKSUM",
    "TRANSACTIONAL",
    "ENCRYPTED",
    "ENCRYPTION_KEY_ID",
    "PAGE_COMPRESSED",
    "PAGE_COMPRESSION_LEVEL",
    "SEQUENCE",
    "WITH",
    "WITHOUT",
    "ENABLE",
    "DISABLE",
];

/// The first table a statement names: after TABLE / TABLES (IF [NOT] EXISTS skipped), or after
/// ON for an index.
fn named_table(toks: &[Token]) -> Option<ObjectName> {
    let at = toks.iter().position(|t| {
        is_kw(Some(t), "TABLE") || is_kw(Some(t), "TABLES") || is_kw(Some(t), "ON")
    })?;
    let mut i = at + 1;
    while is_kw(toks.get(i), "IF") || is_kw(toks.get(i), "NOT") || is_kw(toks.get(i), "EXISTS") {
        i += 1;
    }
    let mut end = i + 1;
    while matches!(toks.get(end), Some(Token::Period)) {
        end += 2;
    }
    let name = toks.get(i..end.min(toks.len()))?;
    Parser::new(&MySqlDialect {})
        .try_with_sql(&join(name))
        .and_then(|mut p| p.parse_object_name(false))
        .ok()
}

/// The table an ALTER TABLE names.
fn alter_target(toks: &[Token]) -> Result<ObjectName> {
    alter_name(toks).map(|(n, _)| n)
}

/// The table an ALTER TABLE names, and where its sub-commands start.
fn alter_name(toks: &[Token]) -> Result<(ObjectName, usize)> {
    // ALTER [IGNORE|ONLINE|OFFLINE] TABLE [IF EXISTS] name
    let mut i = 1;
    while !is_kw(toks.get(i), "TABLE") {
        i += 1;
        if i >= toks.len() {
            return Err(Error::new(
                SqlState::SyntaxError,
                "cannot read the ALTER TABLE statement",
            ));
        }
    }
    i += 1;
    if is_kw(toks.get(i), "IF") && is_kw(toks.get(i + 1), "EXISTS") {
        i += 2;
    }
    let name_start = i;
    i += 1;
    while matches!(toks.get(i), Some(Token::Period)) {
        i += 2;
    }
    let name_toks = &toks[name_start..i.min(toks.len())];
    let name = Parser::new(&MySqlDialect {})
        .try_with_sql(&join(name_toks))
        .and_then(|mut p| p.parse_object_name(false))
        .map_err(|e| {
            Error::new(SqlState::SyntaxError, "cannot read the table name").detail(e.to_string())
        })?;
    Ok((name, i))
}

/// Splits an ALTER TABLE into its table name and sub-commands (at commas outside parentheses),
/// so that each is read alone and forms sqlparser does not know are handled here.
fn alter_ops(toks: &[Token]) -> Result<(ObjectName, Vec<Op>)> {
    let (name, i) = alter_name(toks)?;
    let mut clauses: Vec<Vec<Token>> = vec![vec![]];
    let mut depth = 0i32;
    for t in &toks[i..] {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                clauses.push(vec![]);
                continue;
            }
            Token::SemiColon | Token::EOF => continue,
            _ => {}
        }
        clauses.last_mut().expect("one clause").push(t.clone());
    }
    let mut ops = Vec::new();
    for c in clauses.into_iter().filter(|c| !c.is_empty()) {
        let w = upper_words(&c, 4);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["DROP", "KEY", ..] | ["DROP", "INDEX", ..] => {
                let name = word(c.get(2)).ok_or_else(|| {
                    Error::new(SqlState::SyntaxError, "DROP INDEX without a name")
                })?;
                ops.push(Op::DropIndex(name));
            }
            ["RENAME", "KEY" | "INDEX", ..] => {
                match (word(c.get(2)), is_kw(c.get(3), "TO"), word(c.get(4))) {
                    (Some(a), true, Some(b)) => ops.push(Op::RenameIndex(a, b)),
                    _ => {
                        return Err(Error::new(
                            SqlState::SyntaxError,
                            format!("cannot read \"{}\"", join(&c)),
                        ))
                    }
                }
            }
            // ALTER TABLE t RENAME u (no TO): sqlparser wants TO or AS
            ["RENAME", x, ..] if c.len() == 2 && !["TO", "AS", "COLUMN"].contains(x) => {
                let sql = format!("ALTER TABLE x RENAME TO {}", join(&c[1..]));
                ops.push(Op::Parsed(parse_alter_op(&sql)?));
            }
            ["ADD", "COLUMN", "IF", "NOT"] | ["ADD", "IF", "NOT", "EXISTS"] => {
                let at = if w[1] == "COLUMN" { 5 } else { 4 };
                let sql = format!("ALTER TABLE x ADD COLUMN {}", join(&c[at..]));
                ops.push(Op::AddIfMissing(parse_alter_op(&sql)?));
            }
            ["CONVERT", "TO", ..] => match table_charset(&join(&c)) {
                Some(cs) => ops.push(Op::Convert(cs)),
                None => {
                    return Err(Error::new(
                        SqlState::SyntaxError,
                        format!("cannot read \"{}\"", join(&c)),
                    ))
                }
            },
            ["DEFAULT", "CHARSET" | "CHARACTER", ..]
            | ["CHARSET", ..]
            | ["CHARACTER", "SET", ..] => match table_charset(&join(&c)) {
                Some(cs) => ops.push(Op::TableCharset(cs)),
                None => ops.push(Op::Ignored(join(&c))),
            },
            // ALGORITHM / LOCK / AUTO_INCREMENT are read by sqlparser (and ignored below)
            [first, ..]
                if TABLE_OPTIONS.contains(first)
                    && !(*first == "DEFAULT" && w.get(1).is_some_and(|x| *x == "VALUES")) =>
            {
                ops.push(Op::Ignored(join(&c)));
            }
            _ => {
                let sql = format!("ALTER TABLE x {}", join(&c));
                ops.push(Op::Parsed(parse_alter_op(&sql)?));
            }
        }
    }
    Ok((name, ops))
}

fn parse_alter_op(sql: &str) -> Result<AlterTableOperation> {
    let mut st = Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| {
        Error::new(
            SqlState::SyntaxError,
            "cannot read the ALTER TABLE statement",
        )
        .detail(e.to_string())
    })?;
    match st.pop() {
        Some(Statement::AlterTable(mut a)) if a.operations.len() == 1 => Ok(a.operations.remove(0)),
        _ => Err(Error::new(
            SqlState::SyntaxError,
            "cannot read the ALTER TABLE statement",
        )),
    }
}

/// The column as information_schema would describe it.
fn mysql_column(def: &ColumnDef) -> Result<MysqlColumn> {
    mysql_column_parts(
        &def.name.value,
        &def.data_type,
        &def.options
            .iter()
            .map(|o| o.option.clone())
            .collect::<Vec<_>>(),
    )
}

fn mysql_column_parts(name: &str, dt: &DataType, options: &[ColumnOption]) -> Result<MysqlColumn> {
    let text = crate::types::normalize_column_type(&dt.to_string());
    let base_end = text.find(['(', ' ']).unwrap_or(text.len());
    let mut base = text[..base_end].to_string();
    let args: Vec<u64> = text
        .find('(')
        .map(|o| {
            text[o + 1..text.find(')').unwrap_or(text.len())]
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // after the last ')': an ENUM label named 'unsigned' is no attribute
    let unsigned = text.rsplit(')').next().is_some_and(|a| a.contains("unsigned"));
    let mut c = MysqlColumn {
        name: name.to_string(),
        nullable: true,
        ..Default::default()
    };
    let labels = |vals: Vec<String>| -> String {
        vals.iter()
            .map(|v| format!("'{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",")
    };
    let column_type = match dt {
        DataType::Enum(members, _) => {
            base = "enum".into();
            let vals = members
                .iter()
                .map(|m| match m {
                    EnumMember::Name(n) => n.clone(),
                    EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect();
            format!("enum({})", labels(vals))
        }
        DataType::Set(vals) => {
            base = "set".into();
            format!("set({})", labels(vals.clone()))
        }
        DataType::JSON => {
            // MariaDB: LONGTEXT with CHECK (json_valid(..)), text in the binlog
            c.is_json = true;
            base = "longtext".into();
            "longtext".into()
        }
        _ => {
            base = match base.as_str() {
                "integer" => "int".into(),
                "bool" | "boolean" => {
                    c.column_type = "tinyint(1)".into();
                    "tinyint".into()
                }
                "dec" | "fixed" | "numeric" => "decimal".into(),
                "real" => "double".into(),
                "character" | "nchar" => "char".into(),
                "nvarchar" => "varchar".into(),
                "datetime" | "timestamp" | "time" | "date" | "year" => base,
                other => other.into(),
            };
            if base == "double" && text.starts_with("double precision") {
                text.replacen("double precision", "double", 1)
            } else if c.column_type.is_empty() {
                text.clone()
            } else {
                c.column_type.clone()
            }
        }
    };
    match base.as_str() {
        "decimal" => {
            c.numeric_precision = Some(*args.first().unwrap_or(&10));
            c.numeric_scale = Some(*args.get(1).unwrap_or(&0));
        }
        "bit" => c.numeric_precision = Some(*args.first().unwrap_or(&1)),
        "char" | "binary" => c.char_max_length = Some(*args.first().unwrap_or(&1)),
        "varchar" | "varbinary" => {
            c.char_max_length = Some(*args.first().ok_or_else(|| {
                unsupported(format!("column \"{name}\": {base} without a length"))
            })?)
        }
        "datetime" | "timestamp" | "time" => {
            c.datetime_precision = Some(*args.first().unwrap_or(&0))
        }
        _ => {}
    }
    c.data_type = base;
    c.column_type = column_type;
    if unsigned && !c.column_type.contains("unsigned") {
        c.column_type.push_str(" unsigned");
    }
    for o in options {
        match o {
            ColumnOption::NotNull => c.nullable = false,
            ColumnOption::Null => c.nullable = true,
            ColumnOption::Default(e) => {
                c.default = Some(default_text(e));
            }
            ColumnOption::PrimaryKey(_) => c.nullable = false,
            ColumnOption::CharacterSet(cs) => c.charset = Some(cs.to_string().to_ascii_lowercase()),
            ColumnOption::DialectSpecific(toks)
                if toks.iter().any(
                    |t| matches!(t, Token::Word(w) if w.keyword == Keyword::AUTO_INCREMENT),
                ) =>
            {
                c.extra = "auto_increment".into();
            }
            ColumnOption::Generated { .. } => {
                return Err(unsupported(format!(
                    "column \"{name}\" is generated: generated columns are not replicated by DDL"
                )))
            }
            // MariaDB's JSON: LONGTEXT CHECK (json_valid(col))
            ColumnOption::Check(_)
                if c.data_type == "longtext"
                    && o.to_string().to_ascii_lowercase().contains("json_valid") =>
            {
                c.is_json = true;
            }
            _ => {}
        }
    }
    if c.auto_increment() {
        c.nullable = false;
    }
    Ok(c)
}

/// `[DEFAULT] CHARSET [=] x` or `CHARACTER SET [=] x` among a table's options.
fn table_charset(options: &str) -> Option<String> {
    let toks = tokens(options).ok()?;
    let at = toks.iter().enumerate().find_map(|(i, t)| {
        if is_kw(Some(t), "CHARSET") {
            Some(i + 1)
        } else if is_kw(Some(t), "CHARACTER") && is_kw(toks.get(i + 1), "SET") {
            Some(i + 2)
        } else {
            None
        }
    })?;
    let at = if matches!(toks.get(at), Some(Token::Eq)) {
        at + 1
    } else {
        at
    };
    word(toks.get(at)).map(|w| w.to_ascii_lowercase())
}

/// A default as MariaDB's information_schema writes it ('quoted' literals).
fn default_text(e: &Expr) -> String {
    e.to_string()
}

fn index_columns(cols: &[IndexColumn]) -> Result<Vec<String>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => Ok(i.value.clone()),
            // a prefix index `name(10)` reads as a function call: the column is what counts
            Expr::Function(f) => Ok(ident_name(&f.name).pop().unwrap_or_default()),
            other => Err(unsupported(format!("index on the expression {other}"))),
        })
        .collect()
}

fn rule(a: &Option<ReferentialAction>) -> String {
    match a {
        Some(ReferentialAction::Cascade) => "CASCADE",
        Some(ReferentialAction::SetNull) => "SET NULL",
        Some(ReferentialAction::SetDefault) => "SET DEFAULT",
        Some(ReferentialAction::NoAction) => "NO ACTION",
        // MySQL's default, as information_schema then reports it
        _ => "RESTRICT",
    }
    .into()
}

/// A column as the table spells it (MySQL column names are case-insensitive).
fn canonical(t: &TableDef, col: &str) -> String {
    t.columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(col))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| col.to_string())
}

fn canonical_all(t: &TableDef, cols: Vec<String>) -> Vec<String> {
    cols.iter().map(|c| canonical(t, c)).collect()
}

/// MySQL's name for an unnamed index: its first column, then `_2`, `_3` … when taken.
fn free_index_name(t: &TableDef, first: &str) -> String {
    let taken = |n: &str| t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n));
    if !taken(first) {
        return first.to_string();
    }
    (2..)
        .map(|k| format!("{first}_{k}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

fn free_fk_name(t: &TableDef) -> String {
    let taken = |n: &str| t.foreign_keys.iter().any(|f| f.name == n);
    (1..)
        .map(|k| format!("{}_ibfk_{k}", t.name))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

impl Model {
    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.dest), quote_ident(table))
    }

    fn pg_columns(&self, t: &TableDef) -> Result<Vec<PgColumn>> {
        t.columns
            .iter()
            .map(|c| map_column(&t.name, c, &self.overrides))
            .collect()
    }

    fn pg_column(&self, table: &str, c: &MysqlColumn) -> Result<PgColumn> {
        map_column(table, c, &self.overrides)
    }

    /// (database, table) of a name as the statement's session sees it; None: not the source's.
    fn resolve(&self, default_db: &str, name: &ObjectName) -> Option<String> {
        let mut parts = ident_name(name);
        let table = parts.pop()?;
        let db = parts.pop().unwrap_or_else(|| default_db.to_string());
        db.eq_ignore_ascii_case(&self.database).then_some(table)
    }

    fn selected(&self, table: &str) -> bool {
        !select_tables(&[table.to_string()], &self.include, &self.exclude).is_empty()
    }

    fn registration(&self, table: &str, renamed_from: Option<String>) -> Result<Registration> {
        let t = &self.tables[table];
        let cols = self.pg_columns(t)?;
        let (post, _) = post_load(&self.dest, t, &cols);
        let copied: Vec<String> = self.tables.keys().cloned().collect();
        let mut defs: Vec<PostLoad> = post
            .into_iter()
            .filter(|p| matches!(p.kind, "primary" | "unique" | "index"))
            .collect();
        defs.extend(foreign_keys(&self.dest, t, &copied));
        Ok(Registration::Table {
            table: table.to_string(),
            renamed_from,
            pkey: t.primary_key(),
            defs,
            model: t.clone(),
        })
    }

    /// The replicated table a statement names, if any (when it could not be translated, the
    /// operator's fix concerns this table).
    pub fn table_of(&self, default_db: &str, sql: &str) -> Option<String> {
        let toks = tokens(sql).ok()?;
        let name = if is_kw(toks.first(), "ALTER") {
            alter_target(&toks).ok()?
        } else {
            named_table(&toks)?
        };
        self.resolve(default_db, &name)
            .filter(|t| self.tables.contains_key(t))
    }

    /// Translates one binlog statement run with `default_db` as the session's database. The
    /// model changes only when the statement translates.
    pub fn translate(&mut self, default_db: &str, sql: &str) -> Result<Outcome> {
        let toks = tokens(sql)?;
        let words = upper_words(&toks, 6);
        if matches!(words.first().map(String::as_str), Some("DROP"))
            && matches!(
                words.get(1).map(String::as_str),
                Some("DATABASE" | "SCHEMA")
            )
        {
            let db =
                word(toks.get(if is_kw(toks.get(2), "IF") { 4 } else { 2 })).unwrap_or_default();
            if db.eq_ignore_ascii_case(&self.database) && !self.tables.is_empty() {
                return Err(unsupported(format!(
                    "the source database \"{db}\" was dropped"
                )));
            }
            return Ok(Outcome::Ignored("another database".into()));
        }
        if !is_table_ddl(&words) {
            return Ok(Outcome::Ignored("not a change to tables".into()));
        }
        let mut next = self.clone();
        let out = if words[0] == "ALTER" {
            // another database's or an unreplicated table: not read any further
            let name = alter_target(&toks)?;
            match self.resolve(default_db, &name) {
                None => return Ok(Outcome::Ignored("another database".into())),
                Some(t) if !self.tables.contains_key(&t) => {
                    return Ok(Outcome::Ignored("not a replicated table".into()))
                }
                Some(_) => {}
            }
            let (name, ops) = alter_ops(&toks)?;
            next.alter(default_db, &name, ops)?
        } else {
            let stmts = match Parser::parse_sql(&MySqlDialect {}, sql) {
                Ok(s) => s,
                Err(e) => {
                    let e = Error::new(SqlState::SyntaxError, "cannot read the statement")
                        .detail(e.to_string());
                    // unreadable, but perhaps not the source's: the table it names decides
                    let Some(name) = named_table(&toks) else {
                        return Err(e);
                    };
                    return match self.resolve(default_db, &name) {
                        None => Ok(Outcome::Ignored("another database".into())),
                        Some(t)
                            if words[0] == "CREATE"
                                && !self.tables.contains_key(&t)
                                && !self.selected(&t) =>
                        {
                            Ok(Outcome::Ignored("not in the source's table list".into()))
                        }
                        Some(t) if words[0] != "CREATE" && !self.tables.contains_key(&t) => {
                            Ok(Outcome::Ignored("not a replicated table".into()))
                        }
                        Some(_) => Err(e),
                    };
                }
            };
            let mut all = Translation {
                statements: vec![],
                registrations: vec![],
                notes: vec![],
            };
            let mut why = None;
            for st in stmts {
                match next.statement(default_db, st)? {
                    Outcome::Apply(t) => {
                        all.statements.extend(t.statements);
                        all.registrations.extend(t.registrations);
                        all.notes.extend(t.notes);
                    }
                    Outcome::Ignored(w) => why = Some(w),
                }
            }
            match why {
                Some(w) if all.statements.is_empty() && all.registrations.is_empty() => {
                    Outcome::Ignored(w)
                }
                _ => Outcome::Apply(all),
            }
        };
        if matches!(out, Outcome::Apply(_)) {
            // names PostgreSQL's 63-byte limit makes one cannot both be replicated
            let place = format!("database \"{}\"", next.database);
            crate::names::check_truncation(
                "table",
                &place,
                next.tables.keys().map(String::as_str),
            )?;
            for t in next.tables.values() {
                crate::names::check_truncation(
                    "column",
                    &format!("table \"{}\"", t.name),
                    t.columns.iter().map(|c| c.name.as_str()),
                )?;
            }
            *self = next;
        }
        Ok(out)
    }

    fn statement(&mut self, db: &str, st: Statement) -> Result<Outcome> {
        let ignored = |why: &str| Ok(Outcome::Ignored(why.into()));
        match st {
            Statement::CreateTable(ct) => {
                let Some(name) = self.resolve(db, &ct.name) else {
                    return ignored("another database");
                };
                if ct.temporary {
                    return ignored("a temporary table");
                }
                if !self.selected(&name) {
                    return ignored("not in the source's table list");
                }
                let mut stmts = Vec::new();
                if self.tables.contains_key(&name) {
                    if ct.if_not_exists {
                        return ignored("the table exists");
                    }
                    if !ct.or_replace {
                        return Err(unsupported(format!(
                            "table \"{name}\" exists in the destination"
                        )));
                    }
                    stmts.push(format!("DROP TABLE {}", self.qualified(&name)));
                    self.tables.remove(&name);
                }
                let def = if let Some(like) = &ct.like {
                    let (CreateTableLikeKind::Plain(l) | CreateTableLikeKind::Parenthesized(l)) =
                        like;
                    let src = self
                        .resolve(db, &l.name)
                        .filter(|s| self.tables.contains_key(s))
                        .ok_or_else(|| {
                            unsupported(format!(
                                "CREATE TABLE … LIKE {}: the table it copies is not replicated",
                                l.name
                            ))
                        })?;
                    let mut d = self.tables[&src].clone();
                    d.name = name.clone();
                    // MySQL's LIKE copies no foreign keys
                    d.foreign_keys.clear();
                    d
                } else {
                    if ct.query.is_some() && ct.columns.is_empty() {
                        return Err(unsupported(
                            "CREATE TABLE … SELECT without column definitions",
                        ));
                    }
                    let mut def = self.table_def(db, &name, &ct.columns, &ct.constraints)?;
                    // the table's default character set, for text columns without their own
                    def.charset = table_charset(&ct.table_options.to_string());
                    if let Some(cs) = &def.charset {
                        for c in def
                            .columns
                            .iter_mut()
                            .filter(|c| c.charset.is_none() && is_text_type(&c.data_type))
                        {
                            c.charset = Some(cs.clone());
                        }
                    }
                    def
                };
                let cols = self.pg_columns(&def)?;
                stmts.push(create_table(&self.dest, &name, &cols));
                let (post, skipped) = post_load(&self.dest, &def, &cols);
                stmts.extend(post.into_iter().map(|p| p.sql));
                self.tables.insert(name.clone(), def);
                let copied: Vec<String> = self.tables.keys().cloned().collect();
                stmts.extend(
                    foreign_keys(&self.dest, &self.tables[&name], &copied)
                        .into_iter()
                        .map(|p| p.sql),
                );
                Ok(Outcome::Apply(Translation {
                    statements: stmts,
                    registrations: vec![self.registration(&name, None)?],
                    notes: skipped,
                }))
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                temporary,
                table,
                ..
            } => {
                use sqlparser::ast::ObjectType;
                match object_type {
                    ObjectType::Table if !temporary => {
                        let mut t = Translation {
                            statements: vec![],
                            registrations: vec![],
                            notes: vec![],
                        };
                        for n in &names {
                            let Some(name) =
                                self.resolve(db, n).filter(|n| self.tables.contains_key(n))
                            else {
                                continue;
                            };
                            t.statements.push(format!(
                                "DROP TABLE{} {}",
                                if if_exists { " IF EXISTS" } else { "" },
                                self.qualified(&name)
                            ));
                            self.tables.remove(&name);
                            for other in self.tables.values_mut() {
                                other.foreign_keys.retain(|f| f.ref_table != name);
                            }
                            t.registrations.push(Registration::Gone { table: name });
                        }
                        if t.statements.is_empty() {
                            ignored("no replicated table")
                        } else {
                            Ok(Outcome::Apply(t))
                        }
                    }
                    ObjectType::Index => {
                        let (Some(ix), Some(tbl)) = (names.first(), table.as_ref()) else {
                            return Err(unsupported("DROP INDEX without ON table"));
                        };
                        let ix = ident_name(ix).pop().unwrap_or_default();
                        self.alter(db, tbl, vec![Op::DropIndex(ix)])
                    }
                    _ => ignored("not a table"),
                }
            }
            Statement::RenameTable(pairs) => {
                let mut all = Translation {
                    statements: vec![],
                    registrations: vec![],
                    notes: vec![],
                };
                for p in pairs {
                    let t = self.rename(db, &p.old_name, &p.new_name)?;
                    all.statements.extend(t.statements);
                    all.registrations.extend(t.registrations);
                }
                if all.statements.is_empty() && all.registrations.is_empty() {
                    ignored("no replicated table")
                } else {
                    Ok(Outcome::Apply(all))
                }
            }
            Statement::Truncate(t) => {
                let mut out = Translation {
                    statements: vec![],
                    registrations: vec![],
                    notes: vec![],
                };
                for target in &t.table_names {
                    if let Some(name) = self
                        .resolve(db, &target.name)
                        .filter(|n| self.tables.contains_key(n))
                    {
                        out.statements
                            .push(format!("TRUNCATE {}", self.qualified(&name)));
                    }
                }
                if out.statements.is_empty() {
                    ignored("no replicated table")
                } else {
                    Ok(Outcome::Apply(out))
                }
            }
            Statement::CreateIndex(ci) => {
                let name = ci
                    .name
                    .as_ref()
                    .map(|n| ident_name(n).pop().unwrap_or_default());
                let cols = index_columns(&ci.columns)?;
                self.alter(
                    db,
                    &ci.table_name,
                    vec![Op::Parsed(AlterTableOperation::AddConstraint {
                        constraint: if ci.unique {
                            TableConstraint::Unique(sqlparser::ast::UniqueConstraint {
                                name: None,
                                index_name: name.map(sqlparser::ast::Ident::new),
                                index_type_display: sqlparser::ast::KeyOrIndexDisplay::Index,
                                index_type: None,
                                columns: cols
                                    .iter()
                                    .map(|c| IndexColumn::from(sqlparser::ast::Ident::new(c)))
                                    .collect(),
                                include: vec![],
                                index_options: vec![],
                                characteristics: None,
                                nulls_distinct: sqlparser::ast::NullsDistinctOption::None,
                            })
                        } else {
                            TableConstraint::Index(sqlparser::ast::IndexConstraint {
                                display_as_key: false,
                                name: name.map(sqlparser::ast::Ident::new),
                                index_type: None,
                                columns: cols
                                    .iter()
                                    .map(|c| IndexColumn::from(sqlparser::ast::Ident::new(c)))
                                    .collect(),
                                index_options: vec![],
                            })
                        },
                        not_valid: false,
                    })],
                )
            }
            _ => ignored("not a change to tables"),
        }
    }

    fn table_def(
        &self,
        db: &str,
        name: &str,
        columns: &[ColumnDef],
        constraints: &[TableConstraint],
    ) -> Result<TableDef> {
        let mut t = TableDef {
            name: name.to_string(),
            columns: vec![],
            indexes: vec![],
            foreign_keys: vec![],
            approx_rows: 0,
            charset: None,
        };
        for c in columns {
            let mc = mysql_column(c)?;
            for o in &c.options {
                match &o.option {
                    ColumnOption::PrimaryKey(_) => t.indexes.insert(
                        0,
                        IndexDef {
                            name: "PRIMARY".into(),
                            unique: true,
                            primary: true,
                            columns: vec![mc.name.clone()],
                            index_type: "BTREE".into(),
                        },
                    ),
                    ColumnOption::Unique(_) => {
                        let n = free_index_name(&t, &mc.name);
                        t.indexes.push(IndexDef {
                            name: n,
                            unique: true,
                            primary: false,
                            columns: vec![mc.name.clone()],
                            index_type: "BTREE".into(),
                        });
                    }
                    ColumnOption::ForeignKey(fk) => {
                        let mut fk = fk.clone();
                        fk.columns = vec![c.name.clone()];
                        self.add_foreign_key(db, &mut t, &fk);
                    }
                    _ => {}
                }
            }
            t.columns.push(mc);
        }
        for k in constraints {
            self.add_constraint(db, &mut t, k)?;
        }
        Ok(t)
    }

    fn add_foreign_key(
        &self,
        db: &str,
        t: &mut TableDef,
        fk: &sqlparser::ast::ForeignKeyConstraint,
    ) {
        let name = fk
            .name
            .as_ref()
            .map(|n| n.value.clone())
            .unwrap_or_else(|| free_fk_name(t));
        let ref_table = self
            .resolve(db, &fk.foreign_table)
            .unwrap_or_else(|| format!("{}", fk.foreign_table));
        let columns: Vec<String> = fk.columns.iter().map(|c| canonical(t, &c.value)).collect();
        // InnoDB indexes a foreign key's columns when no index starts with them: named as the
        // index name given, else the constraint's name, else the first column
        if !t.indexes.iter().any(|i| i.columns.starts_with(&columns)) {
            let ix = fk
                .index_name
                .as_ref()
                .or(fk.name.as_ref())
                .map(|n| n.value.clone())
                .unwrap_or_else(|| free_index_name(t, &columns[0]));
            t.indexes.push(IndexDef {
                name: ix,
                unique: false,
                primary: false,
                columns: columns.clone(),
                index_type: "BTREE".into(),
            });
        }
        t.foreign_keys.push(ForeignKey {
            name,
            columns,
            ref_table,
            ref_columns: fk
                .referred_columns
                .iter()
                .map(|c| c.value.clone())
                .collect(),
            on_update: rule(&fk.on_update),
            on_delete: rule(&fk.on_delete),
        });
    }

    /// Adds a key, index or foreign key to the model; returns the PostgreSQL name of an index
    /// it made (None for foreign keys and what PostgreSQL does not have).
    fn add_constraint(
        &self,
        db: &str,
        t: &mut TableDef,
        k: &TableConstraint,
    ) -> Result<Option<String>> {
        match k {
            TableConstraint::PrimaryKey(p) => {
                if t.indexes.iter().any(|i| i.primary) {
                    return Err(unsupported(format!(
                        "table \"{}\" has a primary key already",
                        t.name
                    )));
                }
                let cols = canonical_all(t, index_columns(&p.columns)?);
                for c in t.columns.iter_mut().filter(|c| cols.contains(&c.name)) {
                    c.nullable = false;
                }
                t.indexes.insert(
                    0,
                    IndexDef {
                        name: "PRIMARY".into(),
                        unique: true,
                        primary: true,
                        columns: cols,
                        index_type: "BTREE".into(),
                    },
                );
                Ok(Some(derived_name(&t.name, "pkey")))
            }
            TableConstraint::Unique(u) => {
                let cols = canonical_all(t, index_columns(&u.columns)?);
                let name = u
                    .index_name
                    .as_ref()
                    .or(u.name.as_ref())
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| free_index_name(t, &cols[0]));
                t.indexes.push(IndexDef {
                    name: name.clone(),
                    unique: true,
                    primary: false,
                    columns: cols,
                    index_type: "BTREE".into(),
                });
                Ok(Some(derived_name(&t.name, &name)))
            }
            TableConstraint::Index(ix) => {
                let cols = canonical_all(t, index_columns(&ix.columns)?);
                let name = ix
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| free_index_name(t, &cols[0]));
                t.indexes.push(IndexDef {
                    name: name.clone(),
                    unique: false,
                    primary: false,
                    columns: cols,
                    index_type: "BTREE".into(),
                });
                Ok(Some(derived_name(&t.name, &name)))
            }
            TableConstraint::FulltextOrSpatial(f) => {
                let cols = canonical_all(t, index_columns(&f.columns)?);
                let name = f
                    .opt_index_name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| free_index_name(t, &cols[0]));
                let kind = if f.fulltext { "FULLTEXT" } else { "SPATIAL" };
                t.indexes.push(IndexDef {
                    name,
                    unique: false,
                    primary: false,
                    columns: cols,
                    index_type: kind.into(),
                });
                Ok(None)
            }
            TableConstraint::ForeignKey(fk) => {
                self.add_foreign_key(db, t, fk);
                Ok(None)
            }
            // CHECK constraints are MySQL expressions: not carried (as init_replica)
            TableConstraint::Check(_) => Ok(None),
            other => Err(unsupported(format!("constraint {other}"))),
        }
    }

    fn rename(&mut self, db: &str, from: &ObjectName, to: &ObjectName) -> Result<Translation> {
        let mut t = Translation {
            statements: vec![],
            registrations: vec![],
            notes: vec![],
        };
        let old = self
            .resolve(db, from)
            .filter(|n| self.tables.contains_key(n));
        let new = self.resolve(db, to).filter(|n| self.selected(n));
        match (old, new) {
            (None, None) => {}
            (None, Some(n)) => {
                return Err(unsupported(format!("table \"{n}\" comes into the source by a rename: its rows were never copied"))
                    .hint("Copy the source again with init_replica (or leave the table out with exclude_tables)."))
            }
            (Some(o), None) => {
                // leaves the source: kept in the destination as it is, no longer replicated
                self.tables.remove(&o);
                t.registrations.push(Registration::Gone { table: o });
            }
            (Some(o), Some(n)) => {
                let mut def = self.tables.remove(&o).expect("present");
                let rel = self.qualified(&o);
                t.statements.push(format!("ALTER TABLE {rel} RENAME TO {}", quote_ident(&n)));
                let nrel = self.qualified(&n);
                // the names made after the table's name follow it
                for i in &def.indexes {
                    if i.index_type == "FULLTEXT" || i.index_type == "SPATIAL" {
                        continue;
                    }
                    let (a, b) = if i.primary {
                        (format!("{o}_pkey"), format!("{n}_pkey"))
                    } else {
                        (format!("{o}_{}", i.name), format!("{n}_{}", i.name))
                    };
                    t.statements.push(format!(
                        "ALTER INDEX {}.{} RENAME TO {}",
                        quote_ident(&self.dest),
                        quote_ident(&pg_name(&a)),
                        quote_ident(&pg_name(&b))
                    ));
                }
                for c in &def.columns {
                    if c.auto_increment() {
                        t.statements.push(format!(
                            "ALTER SEQUENCE {}.{} RENAME TO {}",
                            quote_ident(&self.dest),
                            quote_ident(&derived_name(&o, &format!("{}_seq", c.name))),
                            quote_ident(&derived_name(&n, &format!("{}_seq", c.name)))
                        ));
                    }
                    if c.data_type == "enum" {
                        t.statements.push(format!(
                            "ALTER TABLE {nrel} RENAME CONSTRAINT {} TO {}",
                            quote_ident(&derived_name(&o, &format!("{}_check", c.name))),
                            quote_ident(&derived_name(&n, &format!("{}_check", c.name)))
                        ));
                    }
                }
                def.name = n.clone();
                for other in self.tables.values_mut() {
                    for f in other.foreign_keys.iter_mut().filter(|f| f.ref_table == o) {
                        f.ref_table = n.clone();
                    }
                }
                for f in def.foreign_keys.iter_mut().filter(|f| f.ref_table == o) {
                    f.ref_table = n.clone();
                }
                self.tables.insert(n.clone(), def);
                t.registrations.push(self.registration(&n, Some(o))?);
            }
        }
        Ok(t)
    }

    fn alter(&mut self, db: &str, name: &ObjectName, ops: Vec<Op>) -> Result<Outcome> {
        let Some(mut table) = self.resolve(db, name) else {
            return Ok(Outcome::Ignored("another database".into()));
        };
        if !self.tables.contains_key(&table) {
            return Ok(Outcome::Ignored("not a replicated table".into()));
        }
        let mut out = Translation {
            statements: vec![],
            registrations: vec![],
            notes: vec![],
        };
        let mut renamed_from: Option<String> = None;
        // a change can be the model's alone (a FULLTEXT index dropped)
        let before = self.tables.clone();
        for op in ops {
            let rel = self.qualified(&table);
            match op {
                Op::Ignored(what) => out.notes.push(format!("ignored: {what}")),
                Op::TableCharset(cs) => {
                    self.tables.get_mut(&table).expect("present").charset = Some(cs)
                }
                Op::Convert(cs) => {
                    // PostgreSQL's text is UTF-8 either way; what changes is how the binlog
                    // carries it
                    let t = self.tables.get_mut(&table).expect("present");
                    for c in t.columns.iter_mut().filter(|c| is_text_type(&c.data_type)) {
                        c.charset = Some(cs.clone());
                    }
                    t.charset = Some(cs);
                }
                Op::DropIndex(ix) => self.drop_index(&table, &ix, &mut out)?,
                Op::RenameIndex(a, b) => {
                    let t = self.tables.get_mut(&table).expect("present");
                    let i = t
                        .indexes
                        .iter_mut()
                        .find(|i| i.name.eq_ignore_ascii_case(&a))
                        .ok_or_else(|| {
                            unsupported(format!("index \"{a}\" is unknown on \"{table}\""))
                        })?;
                    if i.index_type != "FULLTEXT" && i.index_type != "SPATIAL" {
                        out.statements.push(format!(
                            "ALTER INDEX {}.{} RENAME TO {}",
                            quote_ident(&self.dest),
                            quote_ident(&derived_name(&table, &i.name)),
                            quote_ident(&derived_name(&table, &b))
                        ));
                    }
                    i.name = b;
                }
                Op::AddIfMissing(AlterTableOperation::AddColumn {
                    column_def,
                    column_position,
                    ..
                }) => {
                    if self.tables[&table]
                        .columns
                        .iter()
                        .any(|c| c.name.eq_ignore_ascii_case(&column_def.name.value))
                    {
                        out.notes
                            .push(format!("column \"{}\" exists", column_def.name.value));
                    } else {
                        self.add_column(&table, &column_def, column_position.as_ref(), &mut out)?;
                    }
                }
                Op::AddIfMissing(other) | Op::Parsed(other) => match other {
                    AlterTableOperation::AddColumn {
                        column_def,
                        column_position,
                        ..
                    } => {
                        self.add_column(&table, &column_def, column_position.as_ref(), &mut out)?
                    }
                    AlterTableOperation::DropColumn {
                        column_names,
                        if_exists,
                        ..
                    } => {
                        for c in column_names {
                            self.drop_column(&table, &c.value, if_exists, &mut out)?;
                        }
                    }
                    AlterTableOperation::ChangeColumn {
                        old_name,
                        new_name,
                        data_type,
                        options,
                        column_position,
                    } => self.change_column(
                        &table,
                        &old_name.value,
                        &new_name.value,
                        &data_type,
                        &options,
                        column_position.as_ref(),
                        &mut out,
                    )?,
                    AlterTableOperation::ModifyColumn {
                        col_name,
                        data_type,
                        options,
                        column_position,
                    } => self.change_column(
                        &table,
                        &col_name.value,
                        &col_name.value,
                        &data_type,
                        &options,
                        column_position.as_ref(),
                        &mut out,
                    )?,
                    AlterTableOperation::RenameColumn {
                        old_column_name,
                        new_column_name,
                    } => {
                        let t = self.tables.get_mut(&table).expect("present");
                        let c = t
                            .columns
                            .iter_mut()
                            .find(|c| c.name.eq_ignore_ascii_case(&old_column_name.value))
                            .ok_or_else(|| {
                                unsupported(format!(
                                    "column \"{}\" is unknown on \"{table}\"",
                                    old_column_name.value
                                ))
                            })?;
                        let old = std::mem::replace(&mut c.name, new_column_name.value.clone());
                        let auto = c.auto_increment();
                        let enumerated = c.data_type == "enum";
                        out.statements.push(format!(
                            "ALTER TABLE {rel} RENAME COLUMN {} TO {}",
                            quote_ident(&old),
                            quote_ident(&new_column_name.value)
                        ));
                        self.renamed_column(
                            &table,
                            &old,
                            &new_column_name.value,
                            auto,
                            enumerated,
                            &mut out,
                        );
                    }
                    AlterTableOperation::AlterColumn { column_name, op } => {
                        let t = self.tables.get_mut(&table).expect("present");
                        let c = t
                            .columns
                            .iter_mut()
                            .find(|c| c.name.eq_ignore_ascii_case(&column_name.value))
                            .ok_or_else(|| {
                                unsupported(format!(
                                    "column \"{}\" is unknown on \"{table}\"",
                                    column_name.value
                                ))
                            })?;
                        let col = quote_ident(&c.name);
                        match op {
                            AlterColumnOperation::SetDefault { value } => {
                                c.default = Some(default_text(&value));
                                let c = c.clone();
                                let pg = map_column(&table, &c, &self.overrides)?;
                                match pg.default {
                                    Some(d) => out.statements.push(format!(
                                        "ALTER TABLE {rel} ALTER COLUMN {col} SET DEFAULT {d}"
                                    )),
                                    None => out.statements.push(format!(
                                        "ALTER TABLE {rel} ALTER COLUMN {col} DROP DEFAULT"
                                    )),
                                }
                            }
                            AlterColumnOperation::DropDefault => {
                                c.default = None;
                                out.statements.push(format!(
                                    "ALTER TABLE {rel} ALTER COLUMN {col} DROP DEFAULT"
                                ));
                            }
                            other => return Err(unsupported(format!("ALTER COLUMN … {other}"))),
                        }
                    }
                    AlterTableOperation::AddConstraint { constraint, .. } => {
                        let mut t = self.tables[&table].clone();
                        let made = self.add_constraint(db, &mut t, &constraint)?;
                        let cols = self.pg_columns(&t)?;
                        let copied: Vec<String> = self.tables.keys().cloned().collect();
                        match &constraint {
                            TableConstraint::ForeignKey(_) => {
                                let known: Vec<String> = self.tables[&table]
                                    .indexes
                                    .iter()
                                    .map(|i| i.name.clone())
                                    .collect();
                                let (post, _) = post_load(&self.dest, &t, &cols);
                                let added: Vec<String> = t
                                    .indexes
                                    .iter()
                                    .filter(|i| !known.contains(&i.name))
                                    .map(|i| derived_name(&table, &i.name))
                                    .collect();
                                out.statements.extend(
                                    post.into_iter()
                                        .filter(|p| p.kind == "index" && added.contains(&p.name))
                                        .map(|p| p.sql),
                                );
                                let fk = t.foreign_keys.last().expect("just added").clone();
                                let one = TableDef {
                                    foreign_keys: vec![fk],
                                    ..t.clone()
                                };
                                out.statements.extend(
                                    foreign_keys(&self.dest, &one, &copied)
                                        .into_iter()
                                        .map(|p| p.sql),
                                );
                            }
                            _ => {
                                if let Some(pg) = made {
                                    let (post, _) = post_load(&self.dest, &t, &cols);
                                    out.statements.extend(
                                        post.into_iter()
                                            .filter(|p| {
                                                p.name == pg
                                                    && matches!(
                                                        p.kind,
                                                        "primary" | "unique" | "index"
                                                    )
                                            })
                                            .map(|p| p.sql),
                                    );
                                } else if matches!(
                                    constraint,
                                    TableConstraint::FulltextOrSpatial(_)
                                ) {
                                    out.notes.push(format!(
                                        "{constraint}: no PostgreSQL equivalent, not created"
                                    ));
                                }
                            }
                        }
                        self.tables.insert(table.clone(), t);
                    }
                    AlterTableOperation::DropPrimaryKey { .. } => {
                        self.drop_index(&table, "PRIMARY", &mut out)?
                    }
                    AlterTableOperation::DropIndex { name } => {
                        self.drop_index(&table, &name.value, &mut out)?
                    }
                    AlterTableOperation::DropForeignKey { name, .. } => {
                        let t = self.tables.get_mut(&table).expect("present");
                        t.foreign_keys.retain(|f| f.name != name.value);
                        out.statements.push(format!(
                            "ALTER TABLE {rel} DROP CONSTRAINT IF EXISTS {}",
                            quote_ident(&pg_name(&name.value))
                        ));
                    }
                    AlterTableOperation::DropConstraint { name, .. } => {
                        let t = &self.tables[&table];
                        if t.foreign_keys.iter().any(|f| f.name == name.value) {
                            self.tables
                                .get_mut(&table)
                                .expect("present")
                                .foreign_keys
                                .retain(|f| f.name != name.value);
                            out.statements.push(format!(
                                "ALTER TABLE {rel} DROP CONSTRAINT IF EXISTS {}",
                                quote_ident(&pg_name(&name.value))
                            ));
                        } else if t
                            .indexes
                            .iter()
                            .any(|i| i.name.eq_ignore_ascii_case(&name.value))
                        {
                            self.drop_index(&table, &name.value, &mut out)?;
                        } else {
                            out.notes.push(format!(
                                "constraint \"{}\" (a CHECK) is not carried",
                                name.value
                            ));
                        }
                    }
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::To(n) | RenameTableNameKind::As(n)) = table_name;
                        let from = ObjectName::from(vec![
                            sqlparser::ast::Ident::new(self.database.clone()),
                            sqlparser::ast::Ident::new(table.clone()),
                        ]);
                        let t = self.rename(db, &from, &n)?;
                        out.statements.extend(t.statements);
                        match t.registrations.into_iter().next() {
                            Some(Registration::Table {
                                table: new,
                                renamed_from: from,
                                ..
                            }) => {
                                renamed_from = renamed_from.or(from);
                                table = new;
                            }
                            Some(Registration::Gone { table: gone }) => {
                                // what follows no longer concerns the source
                                out.registrations.push(Registration::Gone { table: gone });
                                return Ok(Outcome::Apply(out));
                            }
                            None => {}
                        }
                    }
                    AlterTableOperation::Algorithm { .. }
                    | AlterTableOperation::Lock { .. }
                    | AlterTableOperation::AutoIncrement { .. } => {
                        out.notes.push(format!("ignored: {other}"))
                    }
                    other => return Err(unsupported(format!("ALTER TABLE … {other}"))),
                },
            }
        }
        if out.statements.is_empty() && renamed_from.is_none() && self.tables == before {
            return Ok(Outcome::Ignored(if out.notes.is_empty() {
                "no change".into()
            } else {
                out.notes.join("; ")
            }));
        }
        out.registrations
            .push(self.registration(&table, renamed_from)?);
        Ok(Outcome::Apply(out))
    }

    /// A column renamed: keys, indexes and foreign keys (this table's and those pointing at it)
    /// follow in the model; the names PostgreSQL made after the column follow too.
    fn renamed_column(
        &mut self,
        table: &str,
        old: &str,
        new: &str,
        auto: bool,
        enumerated: bool,
        out: &mut Translation,
    ) {
        let rel = self.qualified(table);
        let schema = quote_ident(&self.dest);
        if auto {
            out.statements.push(format!(
                "ALTER SEQUENCE {schema}.{} RENAME TO {}",
                quote_ident(&derived_name(table, &format!("{old}_seq"))),
                quote_ident(&derived_name(table, &format!("{new}_seq")))
            ));
        }
        if enumerated {
            out.statements.push(format!(
                "ALTER TABLE {rel} RENAME CONSTRAINT {} TO {}",
                quote_ident(&derived_name(table, &format!("{old}_check"))),
                quote_ident(&derived_name(table, &format!("{new}_check")))
            ));
        }
        let swap = |cols: &mut Vec<String>| {
            for c in cols.iter_mut().filter(|c| *c == old) {
                *c = new.to_string();
            }
        };
        let t = self.tables.get_mut(table).expect("present");
        for i in &mut t.indexes {
            swap(&mut i.columns);
        }
        for f in &mut t.foreign_keys {
            swap(&mut f.columns);
        }
        for other in self.tables.values_mut() {
            for f in other
                .foreign_keys
                .iter_mut()
                .filter(|f| f.ref_table == table)
            {
                swap(&mut f.ref_columns);
            }
        }
    }

    fn drop_index(&mut self, table: &str, ix: &str, out: &mut Translation) -> Result<()> {
        let t = self.tables.get_mut(table).expect("present");
        let Some(pos) = t.indexes.iter().position(|i| {
            i.name.eq_ignore_ascii_case(ix) || (ix.eq_ignore_ascii_case("PRIMARY") && i.primary)
        }) else {
            return Err(unsupported(format!(
                "index \"{ix}\" is unknown on \"{table}\""
            )));
        };
        let i = t.indexes.remove(pos);
        let rel = format!("{}.{}", quote_ident(&self.dest), quote_ident(table));
        if i.primary {
            out.statements.push(format!(
                "ALTER TABLE {rel} DROP CONSTRAINT {}",
                quote_ident(&derived_name(table, "pkey"))
            ));
        } else if i.index_type != "FULLTEXT" && i.index_type != "SPATIAL" {
            out.statements.push(format!(
                "DROP INDEX {}.{}",
                quote_ident(&self.dest),
                quote_ident(&derived_name(table, &i.name))
            ));
        }
        Ok(())
    }

    fn add_column(
        &mut self,
        table: &str,
        def: &ColumnDef,
        pos: Option<&MySQLColumnPosition>,
        out: &mut Translation,
    ) -> Result<()> {
        let mut mc = mysql_column(def)?;
        if mc.charset.is_none() && is_text_type(&mc.data_type) {
            mc.charset.clone_from(&self.tables[table].charset);
        }
        if mc.auto_increment() {
            return Err(unsupported(format!("column \"{}\" is added with AUTO_INCREMENT: MySQL numbers the existing rows, the destination cannot know how", mc.name)));
        }
        let pg = self.pg_column(table, &mc)?;
        let rel = self.qualified(table);
        let mut sql = format!(
            "ALTER TABLE {rel} ADD COLUMN {} {}",
            quote_ident(&pg.name),
            pg.sql_type
        );
        match (&pg.default, pg.not_null) {
            (Some(d), _) => sql.push_str(&format!(" DEFAULT {d}")),
            // MySQL gives existing rows the type's implicit default
            (None, true) => sql.push_str(&format!(" DEFAULT {}", implicit_default(&pg))),
            (None, false) => {}
        }
        if pg.not_null {
            sql.push_str(" NOT NULL");
        }
        out.statements.push(sql);
        if pg.default.is_none() && pg.not_null {
            out.statements.push(format!(
                "ALTER TABLE {rel} ALTER COLUMN {} DROP DEFAULT",
                quote_ident(&pg.name)
            ));
        }
        if let Some(check) = &pg.check {
            out.statements.push(format!(
                "ALTER TABLE {rel} ADD CONSTRAINT {} CHECK ({check})",
                quote_ident(&derived_name(table, &format!("{}_check", pg.name)))
            ));
        }
        let t = self.tables.get_mut(table).expect("present");
        let name = mc.name.clone();
        insert_at(&mut t.columns, mc, pos)?;
        for o in &def.options {
            match &o.option {
                ColumnOption::Unique(_) => {
                    let n = free_index_name(t, &name);
                    t.indexes.push(IndexDef {
                        name: n.clone(),
                        unique: true,
                        primary: false,
                        columns: vec![name.clone()],
                        index_type: "BTREE".into(),
                    });
                    out.statements.push(format!(
                        "CREATE UNIQUE INDEX {} ON {rel} ({})",
                        quote_ident(&derived_name(table, &n)),
                        quote_ident(&name)
                    ));
                }
                ColumnOption::PrimaryKey(_) => {
                    if t.indexes.iter().any(|i| i.primary) {
                        return Err(unsupported(format!(
                            "table \"{table}\" has a primary key already"
                        )));
                    }
                    t.indexes.insert(
                        0,
                        IndexDef {
                            name: "PRIMARY".into(),
                            unique: true,
                            primary: true,
                            columns: vec![name.clone()],
                            index_type: "BTREE".into(),
                        },
                    );
                    out.statements.push(format!(
                        "ALTER TABLE {rel} ADD CONSTRAINT {} PRIMARY KEY ({})",
                        quote_ident(&derived_name(table, "pkey")),
                        quote_ident(&name)
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn drop_column(
        &mut self,
        table: &str,
        col: &str,
        if_exists: bool,
        out: &mut Translation,
    ) -> Result<()> {
        let rel = self.qualified(table);
        let t = self.tables.get_mut(table).expect("present");
        let Some(pos) = t
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(col))
        else {
            if if_exists {
                return Ok(());
            }
            return Err(unsupported(format!(
                "column \"{col}\" is unknown on \"{table}\""
            )));
        };
        let c = t.columns.remove(pos);
        out.statements.push(format!(
            "ALTER TABLE {rel} DROP COLUMN {}",
            quote_ident(&c.name)
        ));
        // PostgreSQL drops every index on the column; MySQL keeps the others' remaining columns
        let mut kept = Vec::new();
        for mut i in std::mem::take(&mut t.indexes) {
            if !i.columns.contains(&c.name) {
                kept.push(i);
                continue;
            }
            i.columns.retain(|x| *x != c.name);
            if i.columns.is_empty() {
                continue;
            }
            if i.index_type != "FULLTEXT" && i.index_type != "SPATIAL" {
                let cols = i
                    .columns
                    .iter()
                    .map(|x| quote_ident(x))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.statements.push(if i.primary {
                    format!(
                        "ALTER TABLE {rel} ADD CONSTRAINT {} PRIMARY KEY ({cols})",
                        quote_ident(&derived_name(table, "pkey"))
                    )
                } else {
                    format!(
                        "CREATE {}INDEX {} ON {rel} ({cols})",
                        if i.unique { "UNIQUE " } else { "" },
                        quote_ident(&derived_name(table, &i.name))
                    )
                });
            }
            kept.push(i);
        }
        t.indexes = kept;
        t.foreign_keys.retain(|f| !f.columns.contains(&c.name));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn change_column(
        &mut self,
        table: &str,
        old: &str,
        new: &str,
        dt: &DataType,
        options: &[ColumnOption],
        pos: Option<&MySQLColumnPosition>,
        out: &mut Translation,
    ) -> Result<()> {
        let rel = self.qualified(table);
        let t = self.tables.get(table).expect("present");
        let idx = t
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(old))
            .ok_or_else(|| unsupported(format!("column \"{old}\" is unknown on \"{table}\"")))?;
        let before = t.columns[idx].clone();
        let mut after = mysql_column_parts(new, dt, options)?;
        if after.charset.is_none() && is_text_type(&after.data_type) {
            after.charset.clone_from(&t.charset);
        }
        let was = self.pg_column(table, &before)?;
        if after.auto_increment() && !before.auto_increment() {
            return Err(unsupported(format!(
                "column \"{old}\" becomes AUTO_INCREMENT"
            )));
        }
        // a MODIFY that does not name AUTO_INCREMENT removes it in MySQL
        if before.auto_increment() && !after.auto_increment() {
            out.statements.push(format!(
                "ALTER TABLE {rel} ALTER COLUMN {} DROP DEFAULT",
                quote_ident(&before.name)
            ));
            out.statements.push(format!(
                "DROP SEQUENCE IF EXISTS {}.{}",
                quote_ident(&self.dest),
                quote_ident(&derived_name(table, &format!("{}_seq", before.name)))
            ));
        }
        if after.name != before.name {
            out.statements.push(format!(
                "ALTER TABLE {rel} RENAME COLUMN {} TO {}",
                quote_ident(&before.name),
                quote_ident(&after.name)
            ));
        }
        let col = quote_ident(&after.name);
        if before.data_type == "enum" {
            out.statements.push(format!(
                "ALTER TABLE {rel} DROP CONSTRAINT IF EXISTS {}",
                quote_ident(&derived_name(table, &format!("{}_check", before.name)))
            ));
        }
        let now = self.pg_column(table, &after)?;
        if now.sql_type != was.sql_type {
            if !before.auto_increment() || !after.auto_increment() {
                out.statements
                    .push(format!("ALTER TABLE {rel} ALTER COLUMN {col} DROP DEFAULT"));
            }
            out.statements.push(format!(
                "ALTER TABLE {rel} ALTER COLUMN {col} TYPE {} USING {}",
                now.sql_type,
                cast(&col, &was, &now)
            ));
        }
        if !after.auto_increment() {
            match &now.default {
                Some(d) => out.statements.push(format!(
                    "ALTER TABLE {rel} ALTER COLUMN {col} SET DEFAULT {d}"
                )),
                None if was.default.is_some() || now.sql_type != was.sql_type => out
                    .statements
                    .push(format!("ALTER TABLE {rel} ALTER COLUMN {col} DROP DEFAULT")),
                None => {}
            }
        }
        // columns of the primary key stay NOT NULL
        let in_pk = t
            .indexes
            .iter()
            .any(|i| i.primary && i.columns.contains(&before.name));
        if in_pk {
            after.nullable = false;
        }
        if !after.nullable && before.nullable {
            out.statements
                .push(format!("ALTER TABLE {rel} ALTER COLUMN {col} SET NOT NULL"));
        } else if after.nullable && !before.nullable {
            out.statements.push(format!(
                "ALTER TABLE {rel} ALTER COLUMN {col} DROP NOT NULL"
            ));
        }
        let now = self.pg_column(table, &after)?;
        if let Some(check) = &now.check {
            out.statements.push(format!(
                "ALTER TABLE {rel} ADD CONSTRAINT {} CHECK ({check})",
                quote_ident(&derived_name(table, &format!("{}_check", after.name)))
            ));
        }
        let t = self.tables.get_mut(table).expect("present");
        t.columns.remove(idx);
        let (oldname, newname) = (before.name.clone(), after.name.clone());
        match pos {
            None => t.columns.insert(idx, after),
            Some(p) => insert_at(&mut t.columns, after, Some(p))?,
        }
        if oldname != newname {
            // the old enum check was dropped above, the new one made under the new name
            self.renamed_column(
                table,
                &oldname,
                &newname,
                before.auto_increment() && now.auto_increment,
                false,
                out,
            );
        }
        Ok(())
    }
}

/// The USING expression of a type change.
fn cast(col: &str, was: &PgColumn, now: &PgColumn) -> String {
    match (was.kind, now.kind) {
        (Kind::Bool, Kind::Int | Kind::Decimal) => format!("{col}::int::{}", now.sql_type),
        (Kind::Int, Kind::Bool) => format!("{col} <> 0"),
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
        // zero dates are -infinity in NOT NULL columns (docs/types.md)
        Kind::Date | Kind::DateTime | Kind::Timestamp => "'-infinity'".into(),
        Kind::Time => "'0'::interval".into(),
        _ => match pg.labels.first() {
            Some(first) if pg.check.is_some() => quote_literal(first),
            _ => "''".into(),
        },
    }
}

fn insert_at(
    cols: &mut Vec<MysqlColumn>,
    c: MysqlColumn,
    pos: Option<&MySQLColumnPosition>,
) -> Result<()> {
    match pos {
        None => cols.push(c),
        Some(MySQLColumnPosition::First) => cols.insert(0, c),
        Some(MySQLColumnPosition::After(a)) => {
            let i = cols
                .iter()
                .position(|x| x.name.eq_ignore_ascii_case(&a.value))
                .ok_or_else(|| unsupported(format!("AFTER \"{}\": no such column", a.value)))?;
            cols.insert(i + 1, c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
