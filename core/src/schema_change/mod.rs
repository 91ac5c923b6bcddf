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
//!
//! One phase per module, in the order a statement goes through them:
//! - `prepass`: tokens; what sqlparser cannot read (ALTER TABLE sub-commands one by one,
//!   MySQL-only forms) is recognised here, without regexes;
//! - `read`: sqlparser's MySQL AST -> the model's pieces (columns, keys, foreign keys);
//! - `edit` (tables, keys, sub-commands) and `columns` (a table's columns): the model edited,
//!   each edit returning typed [`pg::Change`]s (no SQL);
//! - `pg`: typed changes -> PostgreSQL DDL (built on `ddl.rs`, as init_replica's copy).

mod columns;
mod edit;
mod pg;
mod prepass;
mod read;

use std::collections::BTreeMap;

use serde_json::Value as Json;
use sqlparser::ast::ObjectName;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::ddl::{foreign_keys, post_load, PostLoad};
use crate::error::{Error, Result, SqlState, StoredError};
use crate::snapshot::{select_tables, TableDef};
use crate::types::{map_column, PgColumn};

use pg::Change;
use prepass::{alter_ops, alter_target, is_table_ddl, named_table, tokens, upper_words, word};

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
    /// how the server names the CHECK constraints a statement leaves unnamed
    pub naming: crate::check::Naming,
}

/// What the catalogue learns of a table after a statement. Stored in the log row's event data
/// (`registrations`) and read back by replay and by a starting worker.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
// (a few per statement, serialized into the log row: the size of a table model is no matter)
#[allow(clippy::large_enum_variant)]
pub enum Registration {
    /// no longer replicated (dropped, renamed away); `gone` is always true (the stored form)
    Gone { table: String, gone: bool },
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
}

impl Registration {
    pub fn gone(table: impl Into<String>) -> Registration {
        Registration::Gone {
            table: table.into(),
            gone: true,
        }
    }

    /// The table it registers (its new name after a rename).
    pub fn table(&self) -> &str {
        match self {
            Registration::Table { table, .. } | Registration::Gone { table, .. } => table,
        }
    }
}

/// A translated statement.
#[derive(Debug, Clone, PartialEq, Default)]
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

/// A schema change's log row event data (`jsb_event_data`): the MySQL statement, and what the
/// catalogue learns of it, or why it could not be replicated.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DdlEvent {
    pub mysql: String,
    #[serde(default)]
    pub registrations: Vec<Registration>,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StoredError>,
}

impl DdlEvent {
    pub fn failed(mysql: &str, e: &Error) -> DdlEvent {
        DdlEvent {
            mysql: mysql.to_string(),
            error: Some(e.into()),
            ..Default::default()
        }
    }

    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

impl Translation {
    /// The log row's event data: the MySQL statement and what the catalogue learns.
    pub fn event_data(&self, mysql: &str) -> DdlEvent {
        DdlEvent {
            mysql: mysql.to_string(),
            registrations: self.registrations.clone(),
            notes: self.notes.clone(),
            error: None,
        }
    }
}

/// What an edit of the model produces before it is written as PostgreSQL statements.
#[derive(Debug, Default)]
struct Draft {
    changes: Vec<Change>,
    registrations: Vec<Registration>,
    notes: Vec<String>,
    /// ALTER TABLE: the table as the statement found it (MySQL numbers the rows of an added
    /// AUTO_INCREMENT column in the order of the key it had then)
    table_at_start: Option<Box<TableDef>>,
}

impl Draft {
    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.registrations.is_empty()
    }

    fn extend(&mut self, other: Draft) {
        self.changes.extend(other.changes);
        self.registrations.extend(other.registrations);
        self.notes.extend(other.notes);
    }
}

/// An edit's result: not the source's (why), or a draft to apply.
enum Edit {
    Ignored(String),
    Apply(Draft),
}

fn ignored(why: &str) -> Result<Edit> {
    Ok(Edit::Ignored(why.into()))
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::new(SqlState::FeatureNotSupported, what.into()).hint(
        "Apply the change to the destination by hand, then enable_replica and start_replica; or copy the source again with init_replica.",
    )
}

impl Model {
    fn pg_columns(&self, t: &TableDef) -> Result<Vec<PgColumn>> {
        t.columns
            .iter()
            .map(|c| map_column(&t.name, c, &self.overrides))
            .collect()
    }

    /// (database, table) of a name as the statement's session sees it; None: not the source's.
    fn resolve(&self, default_db: &str, name: &ObjectName) -> Option<String> {
        let mut parts = read::ident_name(name);
        let table = parts.pop()?;
        let db = parts.pop().unwrap_or_else(|| default_db.to_string());
        db.eq_ignore_ascii_case(&self.database).then_some(table)
    }

    /// A replicated table a name resolves to.
    fn replicated(&self, default_db: &str, name: &ObjectName) -> Option<String> {
        self.resolve(default_db, name)
            .filter(|t| self.tables.contains_key(t))
    }

    fn selected(&self, table: &str) -> bool {
        !select_tables(&[table.to_string()], &self.include, &self.exclude).is_empty()
    }

    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    fn registration(&self, table: &str, renamed_from: Option<String>) -> Result<Registration> {
        let t = &self.tables[table];
        let cols = self.pg_columns(t)?;
        let (post, _) = post_load(&self.dest, t, &cols);
        let mut defs: Vec<PostLoad> = post.into_iter().filter(|p| p.kind.is_index()).collect();
        defs.extend(foreign_keys(&self.dest, t, &self.table_names()));
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
        let name = if prepass::is_kw(toks.first(), "ALTER") {
            alter_target(&toks).ok()?
        } else {
            named_table(&toks)?
        };
        self.replicated(default_db, &name)
    }

    /// Translates one binlog statement run with `default_db` as the session's database. The
    /// model changes only when the statement translates.
    pub fn translate(&mut self, default_db: &str, sql: &str) -> Result<Outcome> {
        let read = tokens(sql)?;
        let toks = prepass::without_start_transaction(&prepass::index_visibility(
            &prepass::binary_attribute(&read),
        ));
        // the statement as sqlparser reads it: rewritten only where the pre-pass changed it
        let rewritten;
        let sql = if toks == read {
            sql
        } else {
            rewritten = prepass::join(&toks);
            rewritten.as_str()
        };
        let words = upper_words(&toks, 6);
        if words.first().map(String::as_str) == Some("DROP")
            && matches!(
                words.get(1).map(String::as_str),
                Some("DATABASE" | "SCHEMA")
            )
        {
            let db = word(toks.get(if prepass::is_kw(toks.get(2), "IF") {
                4
            } else {
                2
            }))
            .unwrap_or_default();
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
        let edit = if words[0] == "ALTER" {
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
            match Parser::parse_sql(&MySqlDialect {}, sql) {
                Ok(stmts) => next.statements(default_db, stmts)?,
                Err(e) => {
                    let e = Error::new(SqlState::SyntaxError, "cannot read the statement")
                        .detail(e.to_string());
                    return self.unreadable(default_db, &toks, &words[0], e);
                }
            }
        };
        let draft = match edit {
            Edit::Ignored(why) => return Ok(Outcome::Ignored(why)),
            Edit::Apply(d) => d,
        };
        next.check_names()?;
        let statements = draft
            .changes
            .iter()
            .flat_map(|c| pg::render(&next.dest, c))
            .collect();
        *self = next;
        Ok(Outcome::Apply(Translation {
            statements,
            registrations: draft.registrations,
            notes: draft.notes,
        }))
    }

    /// A statement sqlparser cannot read: an error, unless the table it names shows it is not
    /// the source's.
    fn unreadable(
        &self,
        db: &str,
        toks: &[sqlparser::tokenizer::Token],
        first: &str,
        e: Error,
    ) -> Result<Outcome> {
        let Some(name) = named_table(toks) else {
            return Err(e);
        };
        let ignored = |why: &str| Ok(Outcome::Ignored(why.into()));
        match self.resolve(db, &name) {
            None => ignored("another database"),
            Some(t) if first == "CREATE" && !self.tables.contains_key(&t) && !self.selected(&t) => {
                ignored("not in the source's table list")
            }
            Some(t) if first != "CREATE" && !self.tables.contains_key(&t) => {
                ignored("not a replicated table")
            }
            Some(_) => Err(e),
        }
    }

    /// Names PostgreSQL's 63-byte limit makes one cannot both be replicated.
    fn check_names(&self) -> Result<()> {
        let place = format!("database \"{}\"", self.database);
        crate::names::check_truncation("table", &place, self.tables.keys().map(String::as_str))?;
        for t in self.tables.values() {
            crate::names::check_truncation(
                "column",
                &format!("table \"{}\"", t.name),
                t.columns.iter().map(|c| c.name.as_str()),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
