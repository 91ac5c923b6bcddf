//! The replicated tables as the worker knows them: chameleon's model (columns, keys,
//! indexes; schema changes move it forward), each table's column decoders, and the shape
//! replay plans with. Every replay target is built here, by `target`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chameleon_core::batch::{Columns, Decoders, StatementEvent};
use chameleon_core::event::EventKind;
use chameleon_core::names::pg_truncated;
use chameleon_core::replay::Target;
use chameleon_core::schema_change::{DdlEvent, Model, Outcome, Registration, Translation};
use chameleon_core::snapshot::{read_tables, select_tables, TableDef};
use chameleon_core::types::{map_column, PgColumn};
use chameleon_core::{Error, Result};
use pgrx::prelude::*;
use serde_json::Value as Json;

use crate::catalog::batches::StoredLogRow;
use crate::catalog::{self, query_column, SourceConfig};


/// What replay needs to know of the destination: each table's key and columns, and which
/// tables foreign keys link (those keep binlog order among themselves).
#[derive(Clone, Default)]
pub struct Shape {
    pub targets: HashMap<String, Target>,
    pub linked: HashSet<String>,
}

/// A destination table as replay addresses it. Row images are keyed by PostgreSQL's names
/// (63 bytes at most), so key and columns are cut as PostgreSQL cuts them.
fn target<'a>(
    schema: &str,
    table: &str,
    key: &[String],
    columns: impl IntoIterator<Item = &'a String>,
) -> Target {
    Target {
        schema: schema.to_string(),
        table: table.to_string(),
        key: key.iter().map(|k| pg_truncated(k).to_string()).collect(),
        columns: columns
            .into_iter()
            .map(|c| pg_truncated(c).to_string())
            .collect(),
    }
}

/// The shape of tables with these columns: keys as the catalogue registers them, foreign
/// key links as the destination has them. Inside a transaction.
fn shape_of(src: &SourceConfig, columns: HashMap<String, Vec<String>>) -> Result<Shape> {
    let keys = catalog::tables::keys(src.id)?;
    let linked = query_column::<String>(
        "SELECT DISTINCT c.relname::text FROM pg_constraint k
           JOIN pg_class c ON c.oid IN (k.conrelid, k.confrelid)
          WHERE k.contype = 'f' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)",
        &[src.dest_schema.as_str().into()],
    )
    .into_iter()
    .collect();
    let no_key = Vec::new();
    let targets = columns
        .iter()
        .map(|(table, cols)| {
            let key = keys.get(table).unwrap_or(&no_key);
            (table.clone(), target(&src.dest_schema, table, key, cols))
        })
        .collect();
    Ok(Shape { targets, linked })
}

/// The destination's shape for replaying `rows` read back from log rows: the columns both the
/// destination table and the rows' images have (an insert's or update's image is a whole row;
/// a column only the destination has is never overwritten; a delete's may be its key alone, so
/// it serves only a table that has nothing else here). Inside a transaction.
pub fn destination_shape(src: &SourceConfig, rows: &[StoredLogRow]) -> Result<Shape> {
    let mut images: HashMap<&str, &Json> = HashMap::new();
    let (deletes, whole): (Vec<_>, Vec<_>) = rows.iter().partition(|e| e.kind == EventKind::Delete);
    for e in whole.into_iter().chain(deletes) {
        if let Some(image) = &e.data {
            images.entry(e.table.as_str()).or_insert(image);
        }
    }
    let tables: Vec<String> = images.keys().map(|t| t.to_string()).collect();
    let columns: HashMap<String, Vec<String>> = Spi::connect(|c| {
        c.select(
            "SELECT c.relname::text, array_agg(a.attname::text ORDER BY a.attnum)
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND c.relname = ANY($2)
              GROUP BY 1",
            None,
            &[src.dest_schema.as_str().into(), tables.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<Vec<String>>(2)?.unwrap_or_default(),
            ))
        })
        .collect::<std::result::Result<HashMap<_, _>, _>>()
    })
    .map_err(crate::error::catalogue("reading the destination's columns"))?;
    let columns = images
        .iter()
        .map(|(table, image)| {
            let cols = columns
                .get(*table)
                .into_iter()
                .flatten()
                .filter(|c| image.get(c.as_str()).is_some())
                .cloned()
                .collect();
            (table.to_string(), cols)
        })
        .collect();
    shape_of(src, columns)
}

/// The replicated tables as the binlog has them at the reader's position.
pub struct ReplicatedTables {
    model: Model,
    decoders: HashMap<String, Decoders>,
    pub shape: Shape,
    /// on_error = 'skip': a statement that cannot be replicated does not stop reading
    skip_errors: bool,
    /// a statement could not be replicated and the source stops: read no further
    pub failed: bool,
}

impl ReplicatedTables {
    /// How the server the reader follows names unnamed CHECK constraints (known once connected).
    pub fn set_naming(&mut self, naming: chameleon_core::check::Naming) {
        self.model.naming = naming;
    }
}

impl Columns for ReplicatedTables {
    fn columns(&mut self, schema: &str, table: &str) -> Result<Option<Decoders>> {
        Ok(if schema == self.model.database {
            self.decoders.get(table).cloned()
        } else {
            None
        })
    }

    fn table_of(&self, schema: &str, query: &str) -> Option<String> {
        self.model.table_of(schema, query)
    }

    fn statement(&mut self, schema: &str, query: &str) -> StatementEvent {
        let outcome = self.model.translate(schema, query);
        let failed = |defs: &mut ReplicatedTables, table: String, e: &Error| {
            defs.failed = !defs.skip_errors;
            StatementEvent::Failed {
                table,
                data: DdlEvent::failed(query, e),
            }
        };
        match outcome {
            Ok(Outcome::Ignored(_)) => StatementEvent::Ignored,
            Ok(Outcome::Apply(t)) => {
                let table = t
                    .registrations
                    .first()
                    .map(|r| r.table().to_string())
                    .unwrap_or_default();
                match self.follow(&t) {
                    Ok(()) => StatementEvent::Ddl {
                        sql: t.statements.join(";\n"),
                        table,
                        data: t.event_data(query),
                    },
                    Err(e) => failed(self, table, &e),
                }
            }
            Err(e) => {
                let table = self.model.table_of(schema, query).unwrap_or_default();
                failed(self, table, &e)
            }
        }
    }
}

impl ReplicatedTables {
    /// After a schema change: the decoders and the replay shape of the tables it touched.
    fn follow(&mut self, t: &Translation) -> Result<()> {
        for r in &t.registrations {
            let (table, renamed_from, pkey) = match r {
                Registration::Gone { table, .. } => {
                    self.decoders.remove(table);
                    self.shape.targets.remove(table);
                    continue;
                }
                Registration::Table {
                    table,
                    renamed_from,
                    pkey,
                    ..
                } => (table, renamed_from, pkey),
            };
            if let Some(old) = renamed_from {
                self.decoders.remove(old);
                self.shape.targets.remove(old);
            }
            let def = &self.model.tables[table];
            self.decoders
                .insert(table.clone(), decoders(def, &self.model.overrides)?);
            let columns: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
            self.shape.targets.insert(
                table.clone(),
                target(&self.model.dest, table, pkey, &columns),
            );
        }
        // tables a foreign key links keep binlog order among themselves
        self.shape.linked = self
            .model
            .tables
            .values()
            .flat_map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|f| self.model.tables.contains_key(&f.ref_table))
                    .flat_map(|f| [t.name.clone(), f.ref_table.clone()])
            })
            .collect();
        Ok(())
    }
}

fn decoders(def: &TableDef, overrides: &Json) -> Result<Decoders> {
    let key = def.primary_key();
    def.columns
        .iter()
        .map(|c| map_column(&def.name, c, overrides).map(|pg| (c.clone(), PgColumn { key: key.contains(&c.name), ..pg })))
        .collect::<Result<Vec<_>>>()
        .map(Arc::new)
}

/// The replicated tables' model where the source resumes: as the catalogue keeps it (1.4:
/// init_replica and each replayed schema change write it, schema changes stored but not yet
/// replayed are applied on top), or as MySQL has it now (older catalogues, tables not kept
/// yet: right unless MySQL's schema changed after the resume position).
fn resume_model(src: &SourceConfig) -> Result<BTreeMap<String, TableDef>> {
    let (kept, pending) = if src.keeps_models {
        super::backend::tx(|| {
            Ok((
                Some(catalog::tables::kept_models(src.id, &src.conn.database)?),
                catalog::batches::pending_registrations(src.id)?,
            ))
        })
    } else {
        (None, Vec::new())
    };
    let mut model = BTreeMap::new();
    let mut from_mysql = Vec::new();
    for (table, def) in kept.iter().flatten() {
        match def {
            Some(def) => {
                model.insert(table.clone(), def.clone());
            }
            None => from_mysql.push(table.clone()),
        }
    }
    if kept.is_none() || !from_mysql.is_empty() {
        let mut conn = chameleon_core::source::connect(&src.conn)?;
        let facts = chameleon_core::source::gather_facts(&mut conn, &src.conn.database)?;
        let selected = select_tables(&facts.tables, &src.include, &src.exclude);
        let names: Vec<String> = match &kept {
            Some(_) => selected
                .into_iter()
                .filter(|t| from_mysql.contains(t))
                .collect(),
            None => selected,
        };
        for t in read_tables(&mut conn, &src.conn.database, &names)? {
            model.insert(t.name.clone(), t);
        }
    }
    // schema changes stored while replay is paused: the resume position is past them
    for r in pending.into_iter().flatten() {
        match r {
            Registration::Gone { table, .. } => {
                model.remove(&table);
            }
            Registration::Table {
                table,
                renamed_from,
                model: def,
                ..
            } => {
                if let Some(from) = renamed_from {
                    model.remove(&from);
                }
                model.insert(table, def);
            }
        }
    }
    Ok(model)
}

/// The replicated tables where the source resumes, with their decoders and replay shape.
pub fn at_resume_position(src: &SourceConfig) -> Result<ReplicatedTables> {
    let tables = resume_model(src)?;
    let mut decoded = HashMap::new();
    for t in tables.values() {
        decoded.insert(t.name.clone(), decoders(t, &src.type_overrides)?);
    }
    let columns = decoded
        .iter()
        .map(|(t, d)| (t.clone(), d.iter().map(|(m, _)| m.name.clone()).collect()))
        .collect();
    let shape = super::backend::tx(|| shape_of(src, columns));
    Ok(ReplicatedTables {
        model: Model {
            database: src.conn.database.clone(),
            dest: src.dest_schema.clone(),
            include: src.include.clone(),
            exclude: src.exclude.clone(),
            overrides: src.type_overrides.clone(),
            tables,
            // the reader learns the server's (read_binlog)
            naming: Default::default(),
        },
        decoders: decoded,
        shape,
        skip_errors: src.skip_errors,
        failed: false,
    })
}
