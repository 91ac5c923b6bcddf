//! The model edited by a statement. Each edit changes the model and returns what changes in the
//! destination as typed [`Change`]s; `pg.rs` writes them as SQL.

use sqlparser::ast::{
    AlterTableOperation, CreateIndex, CreateTable, CreateTableLikeKind, Ident, IndexColumn,
    ObjectName, ObjectType, RenameTable, RenameTableNameKind, Statement, TableConstraint,
};

use super::columns::ColumnChange;
use super::pg::Change;
use super::prepass::{table_charset, table_engine, Op};
use super::read::ident_name;
use super::{ignored, unsupported, Draft, Edit, Model, Registration};
use crate::error::Result;
use crate::snapshot::TableDef;
use crate::types::is_text_type;

impl Model {
    pub(super) fn table_mut(&mut self, table: &str) -> &mut TableDef {
        self.tables
            .get_mut(table)
            .expect("an ALTER TABLE edits a table of the model")
    }

    /// The statements sqlparser read from one binlog event (usually one).
    pub(super) fn statements(&mut self, db: &str, stmts: Vec<Statement>) -> Result<Edit> {
        let mut all = Draft::default();
        let mut why = None;
        for st in stmts {
            match self.statement(db, st)? {
                Edit::Apply(d) => all.extend(d),
                Edit::Ignored(w) => why = Some(w),
            }
        }
        Ok(match why {
            Some(w) if all.is_empty() => Edit::Ignored(w),
            _ => Edit::Apply(all),
        })
    }

    fn statement(&mut self, db: &str, st: Statement) -> Result<Edit> {
        match st {
            Statement::CreateTable(ct) => self.create_table(db, &ct),
            Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                temporary: false,
                ..
            } => self.drop_tables(db, &names, if_exists),
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                table,
                ..
            } => {
                let (Some(ix), Some(tbl)) = (names.first(), table.as_ref()) else {
                    return Err(unsupported("DROP INDEX without ON table"));
                };
                let ix = ident_name(ix).pop().unwrap_or_default();
                self.alter(db, tbl, vec![Op::DropIndex(ix)])
            }
            Statement::Drop { .. } => ignored("not a table"),
            Statement::RenameTable(pairs) => self.rename_tables(db, &pairs),
            Statement::Truncate(t) => {
                let mut out = Draft::default();
                for target in &t.table_names {
                    if let Some(table) = self.replicated(db, &target.name) {
                        out.changes.push(Change::Truncate { table });
                    }
                }
                applied_to_a_table(out)
            }
            Statement::CreateIndex(ci) => self.create_index(db, &ci),
            _ => ignored("not a change to tables"),
        }
    }

    fn create_table(&mut self, db: &str, ct: &CreateTable) -> Result<Edit> {
        let Some(name) = self.resolve(db, &ct.name) else {
            return ignored("another database");
        };
        if ct.temporary {
            return ignored("a temporary table");
        }
        if !self.selected(&name) {
            return ignored("not in the source's table list");
        }
        let mut out = Draft::default();
        if self.tables.contains_key(&name) {
            if ct.if_not_exists {
                return ignored("the table exists");
            }
            if !ct.or_replace {
                return Err(unsupported(format!(
                    "table \"{name}\" exists in the destination"
                )));
            }
            out.changes.push(Change::DropTable {
                table: name.clone(),
                if_exists: false,
            });
            self.tables.remove(&name);
        }
        let def = match &ct.like {
            Some(CreateTableLikeKind::Plain(l) | CreateTableLikeKind::Parenthesized(l)) => {
                let src = self.replicated(db, &l.name).ok_or_else(|| {
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
            }
            None => self.defined_table(db, &name, ct)?,
        };
        let columns = self.pg_columns(&def)?;
        // what the table's PostgreSQL side leaves out, as init_replica names it
        out.notes = crate::ddl::post_load(&self.dest, &def, &columns).1;
        self.tables.insert(name.clone(), def.clone());
        out.changes.push(Change::CreateTable {
            def,
            columns,
            replicated: self.table_names(),
        });
        out.registrations.push(self.registration(&name, None)?);
        Ok(Edit::Apply(out))
    }

    /// A table CREATE TABLE defines with its columns; text columns without a character set of
    /// their own take the table's.
    fn defined_table(&self, db: &str, name: &str, ct: &CreateTable) -> Result<TableDef> {
        if ct.query.is_some() && ct.columns.is_empty() {
            return Err(unsupported(
                "CREATE TABLE … SELECT without column definitions",
            ));
        }
        let options = ct.table_options.to_string();
        let engine = table_engine(&options);
        // another engine than InnoDB takes no foreign keys (MySQL parses and drops them)
        let keeps = crate::snapshot::is_innodb(engine.as_deref());
        let constraints: Vec<TableConstraint> = ct
            .constraints
            .iter()
            .filter(|k| keeps || !matches!(k, TableConstraint::ForeignKey(_)))
            .cloned()
            .collect();
        let mut def = self.table_def(db, name, &ct.columns, &constraints)?;
        def.engine = engine;
        def.charset = table_charset(&options);
        if let Some(cs) = &def.charset {
            for c in def
                .columns
                .iter_mut()
                .filter(|c| c.charset.is_none() && is_text_type(&c.data_type))
            {
                c.charset = Some(cs.clone());
            }
        }
        Ok(def)
    }

    fn drop_tables(&mut self, db: &str, names: &[ObjectName], if_exists: bool) -> Result<Edit> {
        let mut out = Draft::default();
        for n in names {
            let Some(name) = self.replicated(db, n) else {
                continue;
            };
            out.changes.push(Change::DropTable {
                table: name.clone(),
                if_exists,
            });
            self.tables.remove(&name);
            for other in self.tables.values_mut() {
                other.foreign_keys.retain(|f| f.ref_table != name);
            }
            out.registrations.push(Registration::gone(name));
        }
        applied_to_a_table(out)
    }

    fn rename_tables(&mut self, db: &str, pairs: &[RenameTable]) -> Result<Edit> {
        let mut all = Draft::default();
        for p in pairs {
            let t = self.rename(db, &p.old_name, &p.new_name)?;
            all.changes.extend(t.changes);
            all.registrations.extend(t.registrations);
        }
        if all.is_empty() {
            ignored("no replicated table")
        } else {
            Ok(Edit::Apply(all))
        }
    }

    /// CREATE [UNIQUE] INDEX: the ALTER TABLE … ADD {UNIQUE|INDEX} it is.
    fn create_index(&mut self, db: &str, ci: &CreateIndex) -> Result<Edit> {
        let name = ci
            .name
            .as_ref()
            .map(|n| Ident::new(ident_name(n).pop().unwrap_or_default()));
        // (a functional index keeps its expressions: they make it FUNCTIONAL in the model)
        let columns: Vec<IndexColumn> = if super::read::is_functional(&ci.columns) {
            ci.columns.clone()
        } else {
            super::read::index_columns(&ci.columns)?
                .iter()
                .map(|c| IndexColumn::from(Ident::new(c)))
                .collect()
        };
        let constraint = if ci.unique {
            TableConstraint::Unique(sqlparser::ast::UniqueConstraint {
                name: None,
                index_name: name,
                index_type_display: sqlparser::ast::KeyOrIndexDisplay::Index,
                index_type: None,
                columns,
                include: vec![],
                index_options: vec![],
                characteristics: None,
                nulls_distinct: sqlparser::ast::NullsDistinctOption::None,
            })
        } else {
            TableConstraint::Index(sqlparser::ast::IndexConstraint {
                display_as_key: false,
                name,
                index_type: None,
                columns,
                index_options: vec![],
            })
        };
        self.alter(
            db,
            &ci.table_name,
            vec![Op::Parsed(AlterTableOperation::AddConstraint {
                constraint,
                not_valid: false,
            })],
        )
    }

    /// A table renamed: within the source, out of it (no longer replicated), or into it (an
    /// error: its rows were never copied).
    fn rename(&mut self, db: &str, from: &ObjectName, to: &ObjectName) -> Result<Draft> {
        let mut out = Draft::default();
        let old = self.replicated(db, from);
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
                out.registrations.push(Registration::gone(o));
            }
            (Some(o), Some(n)) => {
                let mut def = self.tables.remove(&o).expect("a replicated table");
                out.changes.push(Change::RenameTable {
                    columns: self.pg_columns(&def)?,
                    def: def.clone(),
                    to: n.clone(),
                });
                def.name = n.clone();
                self.rename_checks(&o, &mut def, &mut out);
                for t in self.tables.values_mut().chain(std::iter::once(&mut def)) {
                    for f in t.foreign_keys.iter_mut().filter(|f| f.ref_table == o) {
                        f.ref_table = n.clone();
                    }
                }
                self.tables.insert(n.clone(), def);
                out.registrations.push(self.registration(&n, Some(o))?);
            }
        }
        Ok(out)
    }

    /// MySQL's checks named after a table (`<table>_chk_<n>`) follow its rename to `def`.
    fn rename_checks(&self, from: &str, def: &mut TableDef, out: &mut Draft) {
        if self.naming != crate::check::Naming::MySql {
            return;
        }
        let prefix = format!("{}_chk_", from.to_ascii_lowercase());
        let mut renamed = Vec::new();
        for k in &mut def.checks {
            let lower = k.name.to_ascii_lowercase();
            let Some(n) = lower.strip_prefix(&prefix).filter(|n| n.parse::<u32>().is_ok()) else {
                continue;
            };
            let to = format!("{}_chk_{n}", def.name);
            renamed.push((std::mem::replace(&mut k.name, to.clone()), to));
        }
        for (from, to) in renamed {
            out.changes.push(Change::RenameTableCheck { def: def.clone(), from, to });
        }
    }

    /// ALTER TABLE: its sub-commands in order, then the table registered again.
    pub(super) fn alter(&mut self, db: &str, name: &ObjectName, ops: Vec<Op>) -> Result<Edit> {
        let Some(mut table) = self.resolve(db, name) else {
            return ignored("another database");
        };
        if !self.tables.contains_key(&table) {
            return ignored("not a replicated table");
        }
        let mut out = Draft { table_at_start: self.tables.get(&table).cloned().map(Box::new), ..Draft::default() };
        let mut renamed_from: Option<String> = None;
        // a change can be the model's alone (a FULLTEXT index dropped)
        let before = self.tables.clone();
        for op in ops {
            let done = match op {
                Op::Parsed(op) => self.alter_op(db, &mut table, op, &mut out)?,
                other => {
                    self.alter_token_op(&table, other, &mut out)?;
                    None
                }
            };
            match done {
                None => {}
                Some(Renamed::To(from)) => renamed_from = renamed_from.or(Some(from)),
                // what follows no longer concerns the source
                Some(Renamed::Away) => return Ok(Edit::Apply(out)),
            }
        }
        if out.changes.is_empty() && renamed_from.is_none() && self.tables == before {
            return Ok(Edit::Ignored(if out.notes.is_empty() {
                "no change".into()
            } else {
                out.notes.join("; ")
            }));
        }
        out.registrations
            .push(self.registration(&table, renamed_from)?);
        Ok(Edit::Apply(out))
    }

    /// The sub-commands the token pre-pass read itself.
    fn alter_token_op(&mut self, table: &str, op: Op, out: &mut Draft) -> Result<()> {
        match op {
            Op::Ignored(what) => out.notes.push(format!("ignored: {what}")),
            Op::Engine(engine, what) => {
                self.table_mut(table).engine = Some(engine);
                out.notes.push(format!("ignored: {what}"))
            }
            Op::TableCharset(cs) => self.table_mut(table).charset = Some(cs),
            Op::Convert(cs) => {
                // PostgreSQL's text is UTF-8 either way; what changes is how the binlog
                // carries it
                let t = self.table_mut(table);
                for c in t.columns.iter_mut().filter(|c| is_text_type(&c.data_type)) {
                    c.charset = Some(cs.clone());
                }
                t.charset = Some(cs);
            }
            Op::DropIndex(ix) => self.drop_index(table, &ix, out)?,
            Op::RenameIndex(a, b) => {
                let t = self.table_mut(table);
                let i = t
                    .indexes
                    .iter_mut()
                    .find(|i| i.name.eq_ignore_ascii_case(&a))
                    .ok_or_else(|| {
                        unsupported(format!("index \"{a}\" is unknown on \"{table}\""))
                    })?;
                if !crate::ddl::has_no_equivalent(i) {
                    out.changes.push(Change::RenameIndex {
                        table: table.to_string(),
                        from: i.name.clone(),
                        to: b.clone(),
                    });
                }
                i.name = b;
            }
            Op::AddIfMissing(AlterTableOperation::AddColumn {
                column_def,
                column_position,
                ..
            }) => {
                if self.tables[table]
                    .columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&column_def.name.value))
                {
                    out.notes
                        .push(format!("column \"{}\" exists", column_def.name.value));
                } else {
                    self.add_column(table, &column_def, column_position.as_ref(), out)?;
                }
            }
            // alter() hands sqlparser's sub-commands to alter_op
            Op::AddIfMissing(other) | Op::Parsed(other) => {
                return Err(unsupported(format!("ALTER TABLE … {other}")))
            }
        }
        Ok(())
    }

    /// One sub-command sqlparser read; `table` follows a rename.
    fn alter_op(
        &mut self,
        db: &str,
        table: &mut String,
        op: AlterTableOperation,
        out: &mut Draft,
    ) -> Result<Option<Renamed>> {
        // MODIFY is CHANGE with the column's own name
        let changed = match &op {
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                column_position,
            } => Some((old_name, new_name, data_type, options, column_position)),
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                column_position,
            } => Some((col_name, col_name, data_type, options, column_position)),
            _ => None,
        };
        if let Some((from, to, data_type, options, position)) = changed {
            let after = ColumnChange {
                name: &to.value,
                data_type,
                options,
                position: position.as_ref(),
            };
            self.change_column(table, &from.value, after, out)?;
            return Ok(None);
        }
        match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                ..
            } => self.add_column(table, &column_def, column_position.as_ref(), out)?,
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for c in column_names {
                    self.drop_column(table, &c.value, if_exists, out)?;
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => self.rename_column(table, &old_column_name.value, &new_column_name.value, out)?,
            AlterTableOperation::AlterColumn { column_name, op } => {
                self.alter_column(table, &column_name.value, op, out)?
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                self.add_table_constraint(db, table, &constraint, out)?
            }
            AlterTableOperation::DropPrimaryKey { .. } => self.drop_index(table, "PRIMARY", out)?,
            AlterTableOperation::DropIndex { name } => self.drop_index(table, &name.value, out)?,
            AlterTableOperation::DropForeignKey { name, .. } => {
                self.drop_foreign_key(table, &name.value, out)
            }
            AlterTableOperation::DropConstraint { name, .. } => {
                self.drop_constraint(table, &name.value, out)?
            }
            AlterTableOperation::RenameTable { table_name } => {
                let (RenameTableNameKind::To(n) | RenameTableNameKind::As(n)) = table_name;
                return self.rename_in_alter(db, table, &n, out);
            }
            AlterTableOperation::Algorithm { .. }
            | AlterTableOperation::Lock { .. }
            | AlterTableOperation::AutoIncrement { .. } => out.notes.push(format!("ignored: {op}")),
            other => return Err(unsupported(format!("ALTER TABLE … {other}"))),
        }
        Ok(None)
    }

    /// ALTER TABLE t RENAME [TO] u: the sub-commands after it concern u.
    fn rename_in_alter(
        &mut self,
        db: &str,
        table: &mut String,
        to: &ObjectName,
        out: &mut Draft,
    ) -> Result<Option<Renamed>> {
        let from = ObjectName::from(vec![
            Ident::new(self.database.clone()),
            Ident::new(table.clone()),
        ]);
        let t = self.rename(db, &from, to)?;
        out.changes.extend(t.changes);
        Ok(match t.registrations.into_iter().next() {
            Some(Registration::Table {
                table: new,
                renamed_from,
                ..
            }) => {
                let was = std::mem::replace(table, new);
                Some(Renamed::To(renamed_from.unwrap_or(was)))
            }
            Some(gone @ Registration::Gone { .. }) => {
                out.registrations.push(gone);
                Some(Renamed::Away)
            }
            None => None,
        })
    }

    /// ADD {PRIMARY KEY|UNIQUE|INDEX|FOREIGN KEY|FULLTEXT|CHECK}.
    fn add_table_constraint(
        &mut self,
        db: &str,
        table: &str,
        constraint: &TableConstraint,
        out: &mut Draft,
    ) -> Result<()> {
        let mut t = self.tables[table].clone();
        // only InnoDB keeps foreign keys
        if matches!(constraint, TableConstraint::ForeignKey(_)) && !t.is_innodb() {
            out.notes.push(format!(
                "ignored: a foreign key on a {} table (MySQL keeps none)",
                t.engine.as_deref().unwrap_or_default()
            ));
            return Ok(());
        }
        let made = self.add_constraint(db, &mut t, constraint)?;
        if let TableConstraint::ForeignKey(_) = constraint {
            // with the index InnoDB makes for it when none starts with its columns
            let known = &self.tables[table].indexes;
            for i in t
                .indexes
                .iter()
                .filter(|i| !known.iter().any(|k| k.name == i.name))
            {
                out.changes.push(Change::AddIndex {
                    table: table.to_string(),
                    index: i.clone(),
                });
            }
            let fk = t.foreign_keys.last().expect("just added").clone();
            out.changes.push(Change::AddForeignKey {
                def: TableDef {
                    foreign_keys: vec![fk],
                    ..t.clone()
                },
                replicated: self.table_names(),
            });
        } else if let TableConstraint::Check(_) = constraint {
            let known = self.tables[table].checks.len();
            for k in t.checks.iter().skip(known) {
                self.check_added(&t, k, out);
            }
        } else if let Some(index) = made {
            // the index InnoDB made for a foreign key goes when one that can serve the key
            // comes (MySQL drops it silently)
            for gone in super::read::superseded_fk_indexes(&t, &index) {
                t.indexes.retain(|i| i.name != gone.name);
                out.changes.push(Change::DropIndex {
                    table: table.to_string(),
                    index: gone,
                });
            }
            out.changes.push(Change::AddIndex {
                table: table.to_string(),
                index,
            });
        } else if matches!(constraint, TableConstraint::FulltextOrSpatial(_)) {
            out.notes.push(format!(
                "{constraint}: no PostgreSQL equivalent, not created"
            ));
        }
        self.tables.insert(table.to_string(), t);
        Ok(())
    }

    fn drop_foreign_key(&mut self, table: &str, name: &str, out: &mut Draft) {
        self.table_mut(table)
            .foreign_keys
            .retain(|f| f.name != name);
        out.changes.push(Change::DropForeignKey {
            table: table.to_string(),
            name: name.to_string(),
        });
    }

    /// A CHECK added to `t` (the table with it): made when PostgreSQL reads it the same,
    /// else noted.
    pub(super) fn check_added(&self, t: &TableDef, k: &crate::check::CheckDef, out: &mut Draft) {
        if let Err(why) = crate::check::translate(&k.clause, &t.columns) {
            out.notes.push(format!("CHECK constraint \"{}\" is not carried: {why}", k.name));
        }
        out.changes.push(Change::AddTableCheck {
            def: t.clone(),
            check: k.clone(),
        });
    }

    /// DROP CONSTRAINT / DROP CHECK: a foreign key, a key, or a CHECK.
    fn drop_constraint(&mut self, table: &str, name: &str, out: &mut Draft) -> Result<()> {
        let t = &self.tables[table];
        if t.foreign_keys.iter().any(|f| f.name == name) {
            self.drop_foreign_key(table, name, out);
        } else if t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(name)) {
            self.drop_index(table, name, out)?;
        } else if let Some(pos) = t.checks.iter().position(|k| k.name.eq_ignore_ascii_case(name)) {
            let k = self.table_mut(table).checks.remove(pos);
            out.changes.push(Change::DropTableCheck {
                table: table.to_string(),
                name: k.name,
            });
        } else {
            return Err(unsupported(format!("constraint \"{name}\" is unknown on \"{table}\"")));
        }
        Ok(())
    }

    fn drop_index(&mut self, table: &str, ix: &str, out: &mut Draft) -> Result<()> {
        let t = self.table_mut(table);
        let Some(pos) = t.indexes.iter().position(|i| {
            i.name.eq_ignore_ascii_case(ix) || (ix.eq_ignore_ascii_case("PRIMARY") && i.primary)
        }) else {
            return Err(unsupported(format!(
                "index \"{ix}\" is unknown on \"{table}\""
            )));
        };
        out.changes.push(Change::DropIndex {
            table: table.to_string(),
            index: t.indexes.remove(pos),
        });
        Ok(())
    }
}

/// Where a table went in an ALTER TABLE … RENAME.
enum Renamed {
    /// to a new name within the source; the name it had before
    To(String),
    /// out of the source
    Away,
}

fn applied_to_a_table(out: Draft) -> Result<Edit> {
    if out.changes.is_empty() {
        ignored("no replicated table")
    } else {
        Ok(Edit::Apply(out))
    }
}
