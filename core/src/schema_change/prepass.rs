//! The token pre-pass: what a statement is before sqlparser reads it. ALTER TABLE is split into
//! its sub-commands here, so that each is read alone and the forms sqlparser does not know
//! (DROP KEY, RENAME INDEX/KEY, RENAME without TO, ADD COLUMN IF NOT EXISTS, table options,
//! CONVERT TO CHARACTER SET) are recognised from tokens, never with regexes.

use sqlparser::ast::{AlterTableOperation, ObjectName, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result, SqlState};

/// Keywords a statement starts with that make it a change to tables.
pub(super) fn is_table_ddl(words: &[String]) -> bool {
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
pub(super) fn tokens(sql: &str) -> Result<Vec<Token>> {
    let t = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .map_err(|e| {
            Error::new(SqlState::SyntaxError, "cannot read the statement").detail(e.to_string())
        })?;
    Ok(t.into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect())
}

pub(super) fn upper_words(toks: &[Token], n: usize) -> Vec<String> {
    toks.iter()
        .take(n)
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        })
        .collect()
}

pub(super) fn join(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn word(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => None,
    }
}

pub(super) fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// One sub-command of an ALTER TABLE.
#[derive(Debug)]
pub(super) enum Op {
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
    /// `ENGINE [=] x` (lower case), with the clause as written: no PostgreSQL effect, but the
    /// engine decides whether foreign keys added later are kept
    Engine(String, String),
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
pub(super) fn named_table(toks: &[Token]) -> Option<ObjectName> {
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
pub(super) fn alter_target(toks: &[Token]) -> Result<ObjectName> {
    alter_name(toks).map(|(n, _)| n)
}

/// The table an ALTER TABLE names, and where its sub-commands start.
pub(super) fn alter_name(toks: &[Token]) -> Result<(ObjectName, usize)> {
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
pub(super) fn alter_ops(toks: &[Token]) -> Result<(ObjectName, Vec<Op>)> {
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
            // ADD [COLUMN] (a INT, b INT): one ADD COLUMN each, in order
            ["ADD", "COLUMN", "(", ..] | ["ADD", "(", ..] => {
                let open = if w[1] == "COLUMN" { 2 } else { 1 };
                for def in split_top_level(&c[open + 1..c.len().saturating_sub(1)]) {
                    let sql = format!("ALTER TABLE x ADD COLUMN {}", join(def));
                    ops.push(Op::Parsed(parse_alter_op(&sql)?));
                }
            }
            ["ADD", "COLUMN", "IF", "NOT"] | ["ADD", "IF", "NOT", "EXISTS"] => {
                let at = if w[1] == "COLUMN" { 5 } else { 4 };
                let sql = format!("ALTER TABLE x ADD COLUMN {}", join(&c[at..]));
                ops.push(Op::AddIfMissing(parse_alter_op(&sql)?));
            }
            // MySQL 8's DROP CHECK name: a DROP CONSTRAINT
            ["DROP", "CHECK", ..] => {
                let sql = format!("ALTER TABLE x DROP CONSTRAINT {}", join(&c[2..]));
                ops.push(Op::Parsed(parse_alter_op(&sql)?));
            }
            // MySQL 8: an index's or a column's visibility (no PostgreSQL effect)
            ["ALTER", "INDEX", ..] => ops.push(Op::Ignored(join(&c))),
            ["ALTER", "COLUMN", _, "SET"]
                if is_kw(c.get(4), "VISIBLE") || is_kw(c.get(4), "INVISIBLE") =>
            {
                ops.push(Op::Ignored(join(&c)))
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
            ["ENGINE", ..] => match table_engine(&join(&c)) {
                Some(engine) => ops.push(Op::Engine(engine, join(&c))),
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

/// Column definitions with MySQL's BINARY attribute (`CHAR(10) BINARY`, `VARCHAR(5) CHARACTER
/// SET latin1 BINARY`: a binary collation), which sqlparser does not read, written as the
/// COLLATE clause it does read. BINARY as a type (`BINARY(16)`, `c BINARY`) stays.
pub(super) fn binary_attribute(toks: &[Token]) -> Vec<Token> {
    const TEXT_TYPES: &[&str] = &[
        "CHAR",
        "VARCHAR",
        "CHARACTER",
        "TEXT",
        "TINYTEXT",
        "MEDIUMTEXT",
        "LONGTEXT",
        "NCHAR",
        "NVARCHAR",
    ];
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let attribute = is_kw(Some(t), "BINARY")
            && !matches!(toks.get(i + 1), Some(Token::LParen))
            && i > 0
            && (matches!(toks[i - 1], Token::RParen)
                || TEXT_TYPES.iter().any(|k| is_kw(toks.get(i - 1), k))
                || (i > 1 && (is_kw(toks.get(i - 2), "SET") || is_kw(toks.get(i - 2), "CHARSET"))));
        if attribute {
            out.extend(
                tokens("COLLATE binary_bin")
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|t| *t != Token::EOF),
            );
        } else {
            out.push(t.clone());
        }
    }
    out
}

/// MySQL 8's index visibility (`INDEX ix (c) INVISIBLE`, after the key parts or an index
/// option), which sqlparser does not read, left out: PostgreSQL has no invisible index, the
/// index is made as it is on a fresh copy. (A column's INVISIBLE, which sqlparser reads, may go
/// too: an invisible column is an ordinary one in PostgreSQL.)
pub(super) fn index_visibility(toks: &[Token]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    for t in toks {
        let visibility = is_kw(Some(t), "INVISIBLE") || is_kw(Some(t), "VISIBLE");
        let after_index_part = matches!(
            out.last(),
            Some(Token::RParen | Token::SingleQuotedString(_))
        ) || is_kw(out.last(), "BTREE")
            || is_kw(out.last(), "HASH");
        if !(visibility && after_index_part) {
            out.push(t.clone());
        }
    }
    out
}

/// MySQL 8.0.21+ logs `CREATE TABLE … SELECT` as the table's definition followed by `START
/// TRANSACTION` (its rows follow in the same transaction): the definition is what is read.
pub(super) fn without_start_transaction(toks: &[Token]) -> Vec<Token> {
    let mut end = toks.len();
    while end > 0 && matches!(toks[end - 1], Token::EOF | Token::SemiColon) {
        end -= 1;
    }
    let create = is_kw(toks.first(), "CREATE");
    if create && end >= 2 && is_kw(toks.get(end - 2), "START") && is_kw(toks.get(end - 1), "TRANSACTION") {
        toks[..end - 2].to_vec()
    } else {
        toks.to_vec()
    }
}

/// Tokens split at the commas outside parentheses.
fn split_top_level(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (i, t) in toks.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                out.push(&toks[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[from..]);
    out.into_iter().filter(|d| !d.is_empty()).collect()
}

pub(super) fn parse_alter_op(sql: &str) -> Result<AlterTableOperation> {
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

/// The `ENGINE [=] x` of table options, lower case.
pub(super) fn table_engine(options: &str) -> Option<String> {
    let toks = tokens(options).ok()?;
    let at = toks.iter().position(|t| is_kw(Some(t), "ENGINE"))? + 1;
    let at = if matches!(toks.get(at), Some(Token::Eq)) { at + 1 } else { at };
    word(toks.get(at)).map(|w| w.to_ascii_lowercase())
}

/// `[DEFAULT] CHARSET [=] x` or `CHARACTER SET [=] x` among a table's options.
pub(super) fn table_charset(options: &str) -> Option<String> {
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
