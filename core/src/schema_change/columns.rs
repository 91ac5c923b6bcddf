//! Edits of a table's columns (ADD, DROP, CHANGE/MODIFY, RENAME, ALTER COLUMN): the model
//! changes, typed changes come out (see edit.rs).

use sqlparser::ast::{
    AlterColumnOperation, ColumnDef, ColumnOption, ColumnOptionDef, DataType, MySQLColumnPosition,
};

use super::pg::Change;
use super::read::{
    add_primary_key, default_text, insert_at, mysql_column, mysql_column_parts, single_column_key,
};
use super::{unsupported, Draft, Model};
use crate::check::Naming;
use crate::error::Result;
use crate::snapshot::{IndexDef, TableDef};
use crate::types::{is_text_type, map_column, Kind, MysqlColumn, PgColumn};

/// The column of `t` named `name` (MySQL column names are case-insensitive).
fn column_mut<'a>(t: &'a mut TableDef, name: &str) -> Result<&'a mut MysqlColumn> {
    let table = t.name.clone();
    t.columns
        .iter_mut()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| unsupported(format!("column \"{name}\" is unknown on \"{table}\"")))
}

impl Model {
    pub(super) fn rename_column(
        &mut self,
        table: &str,
        from: &str,
        to: &str,
        out: &mut Draft,
    ) -> Result<()> {
        let c = column_mut(self.table_mut(table), from)?;
        let old = std::mem::replace(&mut c.name, to.to_string());
        let (sequence, check) = (c.auto_increment(), c.data_type == "enum");
        out.changes.push(Change::RenameColumn {
            table: table.to_string(),
            from: old.clone(),
            to: to.to_string(),
        });
        self.renamed_column(table, &old, to, sequence, check, out);
        Ok(())
    }

    pub(super) fn alter_column(
        &mut self,
        table: &str,
        column: &str,
        op: AlterColumnOperation,
        out: &mut Draft,
    ) -> Result<()> {
        let overrides = self.overrides.clone();
        let mysql = self.naming == Naming::MySql;
        let c = column_mut(self.table_mut(table), column)?;
        let default = match op {
            AlterColumnOperation::SetDefault { value } => {
                c.default = Some(default_text(&value));
                crate::types::as_stored(c, mysql);
                map_column(table, c, &overrides)?.default
            }
            AlterColumnOperation::DropDefault => {
                c.default = None;
                None
            }
            other => return Err(unsupported(format!("ALTER COLUMN … {other}"))),
        };
        out.changes.push(Change::SetDefault {
            table: table.to_string(),
            column: c.name.clone(),
            default,
        });
        Ok(())
    }

    /// A column renamed: keys, indexes and foreign keys (this table's and those pointing at it)
    /// follow in the model; the names PostgreSQL made after the column follow too.
    pub(super) fn renamed_column(
        &mut self,
        table: &str,
        old: &str,
        new: &str,
        sequence: bool,
        check: bool,
        out: &mut Draft,
    ) {
        out.changes.push(Change::RenamedColumnNames {
            table: table.to_string(),
            from: old.to_string(),
            to: new.to_string(),
            sequence,
            check,
        });
        let swap = |cols: &mut Vec<String>| {
            for c in cols.iter_mut().filter(|c| *c == old) {
                *c = new.to_string();
            }
        };
        let t = self.table_mut(table);
        for i in &mut t.indexes {
            swap(&mut i.columns);
        }
        for k in t.checks.iter_mut().filter(|k| crate::check::names_column(&k.clause, old)) {
            k.clause = crate::check::rename_column(&k.clause, old, new);
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

    pub(super) fn add_column(
        &mut self,
        table: &str,
        def: &ColumnDef,
        pos: Option<&MySQLColumnPosition>,
        out: &mut Draft,
    ) -> Result<()> {
        let mut mc = mysql_column(def, self.naming)?;
        if mc.charset.is_none() && is_text_type(&mc.data_type) {
            mc.charset.clone_from(&self.tables[table].charset);
        }
        let column = map_column(table, &mc, &self.overrides)?;
        let backfill = self.generated_values(table, def, &column)?;
        let numbering = mc.auto_increment().then(|| {
            let start = out.table_at_start.as_deref().cloned().unwrap_or_else(|| self.tables[table].clone());
            Change::NumberRows {
                table: table.to_string(),
                column: column.name.clone(),
                order: numbering_order(&start, &self.overrides),
                why: format!("column \"{}\" is added with AUTO_INCREMENT to a table whose rows MySQL numbered in an order the destination cannot know (no primary key, not InnoDB, or a key PostgreSQL orders differently)", mc.name),
            }
        });
        let sequence = mc.auto_increment().then(|| Change::AddSequence {
            table: table.to_string(),
            column: column.name.clone(),
        });
        out.changes.push(Change::AddColumn {
            table: table.to_string(),
            column,
        });
        out.changes.extend(numbering);
        out.changes.extend(sequence);
        out.changes.extend(backfill);
        let t = self.table_mut(table);
        let name = mc.name.clone();
        insert_at(&mut t.columns, mc, pos)?;
        self.add_column_checks(table, &name, &def.options, out);
        let t = self.table_mut(table);
        for o in &def.options {
            let index = match &o.option {
                ColumnOption::Unique(_) => {
                    let key = single_column_key(t, &name, false);
                    t.indexes.push(key.clone());
                    key
                }
                ColumnOption::PrimaryKey(_) => add_primary_key(t, vec![name.clone()])?,
                _ => continue,
            };
            out.changes.push(Change::AddIndex {
                table: table.to_string(),
                index,
            });
        }
        Ok(())
    }

    /// A generated column added to a table: MySQL computes it for the rows there, whose
    /// changes the binlog does not carry; the same expression fills them here, or the change
    /// stops (an expression PostgreSQL reads differently: crate::check).
    fn generated_values(&self, table: &str, def: &ColumnDef, pg: &PgColumn) -> Result<Option<Change>> {
        let Some(expr) = def.options.iter().find_map(|o| match &o.option {
            ColumnOption::Generated { generation_expr, .. } => generation_expr.as_ref(),
            _ => None,
        }) else {
            return Ok(None);
        };
        let pg_expr = crate::check::translate(&expr.to_string(), &self.tables[table].columns)
            .map_err(|why| {
                unsupported(format!(
                    "column \"{}\" is generated by {expr}: its values on the rows there cannot be computed here ({why})",
                    def.name.value
                ))
            })?;
        Ok(Some(Change::Backfill {
            table: table.to_string(),
            column: pg.name.clone(),
            expr: pg_expr,
        }))
    }

    pub(super) fn drop_column(
        &mut self,
        table: &str,
        col: &str,
        if_exists: bool,
        out: &mut Draft,
    ) -> Result<()> {
        let t = self.table_mut(table);
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
        out.changes.push(Change::DropColumn {
            table: table.to_string(),
            column: c.name.clone(),
        });
        // PostgreSQL drops every index on the column; MySQL keeps the others' remaining columns
        let mut kept: Vec<IndexDef> = Vec::new();
        for mut i in std::mem::take(&mut t.indexes) {
            if i.columns.contains(&c.name) {
                i.columns.retain(|x| *x != c.name);
                if i.columns.is_empty() {
                    continue;
                }
                out.changes.push(Change::AddIndex {
                    table: table.to_string(),
                    index: i.clone(),
                });
            }
            kept.push(i);
        }
        t.indexes = kept;
        t.foreign_keys.retain(|f| !f.columns.contains(&c.name));
        // PostgreSQL drops the checks on the column with it
        t.checks.retain(|k| !crate::check::names_column(&k.clause, &c.name));
        Ok(())
    }

    /// CHANGE / MODIFY: the column's new definition, as PostgreSQL steps from the old one.
    pub(super) fn change_column(
        &mut self,
        table: &str,
        old: &str,
        change: ColumnChange,
        out: &mut Draft,
    ) -> Result<()> {
        let t = &self.tables[table];
        let idx = t
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(old))
            .ok_or_else(|| unsupported(format!("column \"{old}\" is unknown on \"{table}\"")))?;
        let before = t.columns[idx].clone();
        if change.options.iter().any(|o| matches!(o, ColumnOption::Generated { .. })) {
            return Err(unsupported(format!("column \"{old}\" becomes generated")));
        }
        let mut after = mysql_column_parts(change.name, change.data_type, change.options, self.naming)?;
        if after.charset.is_none() && is_text_type(&after.data_type) {
            after.charset.clone_from(&t.charset);
        }
        let becomes_auto_increment = after.auto_increment() && !before.auto_increment();
        let was = map_column(table, &before, &self.overrides)?;
        let now = map_column(table, &after, &self.overrides)?;
        // columns of the primary key stay NOT NULL
        if t.indexes
            .iter()
            .any(|i| i.primary && i.columns.contains(&before.name))
        {
            after.nullable = false;
        }
        let changes = column_steps(table, &before, &after, &was, &now);
        out.changes.extend(changes);
        if becomes_auto_increment {
            // MySQL keeps the values there and numbers only the rows with 0 or NULL, after the
            // others: where there are such rows the change stops (their numbers are MySQL's)
            out.changes.push(Change::Guard {
                table: table.to_string(),
                unless_none: format!("{0} = 0 OR {0} IS NULL", crate::types::quote_ident(&now.name)),
                why: format!("column \"{old}\" becomes AUTO_INCREMENT on rows holding 0 or NULL, which MySQL numbered"),
            });
            out.changes.push(Change::AddSequence { table: table.to_string(), column: now.name.clone() });
        }
        let t = self.table_mut(table);
        t.columns.remove(idx);
        let (oldname, newname) = (before.name.clone(), after.name.clone());
        match change.position {
            None => t.columns.insert(idx, after),
            Some(p) => insert_at(&mut t.columns, after, Some(p))?,
        }
        if oldname != newname {
            // the old enum check was dropped, the new one made under the new name
            let sequence = before.auto_increment() && now.auto_increment;
            self.renamed_column(table, &oldname, &newname, sequence, false, out);
        }
        let options: Vec<ColumnOptionDef> = change
            .options
            .iter()
            .map(|o| ColumnOptionDef { name: None, option: o.clone() })
            .collect();
        self.add_column_checks(table, &newname, &options, out);
        Ok(())
    }

    /// The CHECKs a column's definition writes, added to its table.
    fn add_column_checks(
        &mut self,
        table: &str,
        column: &str,
        options: &[ColumnOptionDef],
        out: &mut Draft,
    ) {
        let checks = self.column_checks(&self.tables[table], column, options);
        if checks.is_empty() {
            return;
        }
        self.table_mut(table).checks.extend(checks.iter().cloned());
        let t = self.tables[table].clone();
        for k in &checks {
            self.check_added(&t, k, out);
        }
    }
}

/// A column's new definition in a CHANGE or MODIFY.
pub(super) struct ColumnChange<'a> {
    pub(super) name: &'a str,
    pub(super) data_type: &'a DataType,
    pub(super) options: &'a [ColumnOption],
    pub(super) position: Option<&'a MySQLColumnPosition>,
}

/// The steps from column `before` (PostgreSQL: `was`) to `after` (`now`): sequence, name,
/// check, type, default, nullability, check again.
fn column_steps(
    table: &str,
    before: &MysqlColumn,
    after: &MysqlColumn,
    was: &PgColumn,
    now: &PgColumn,
) -> Vec<Change> {
    let t = || table.to_string();
    let col = || after.name.clone();
    let mut out = Vec::new();
    // a MODIFY that does not name AUTO_INCREMENT removes it in MySQL
    if before.auto_increment() && !after.auto_increment() {
        out.push(Change::DropSequence {
            table: t(),
            column: before.name.clone(),
        });
    }
    if after.name != before.name {
        out.push(Change::RenameColumn {
            table: t(),
            from: before.name.clone(),
            to: after.name.clone(),
        });
    }
    if before.data_type == "enum" {
        out.push(Change::DropCheck {
            table: t(),
            column: before.name.clone(),
        });
    }
    let retyped = now.sql_type != was.sql_type;
    if retyped {
        if !before.auto_increment() || !after.auto_increment() {
            out.push(Change::SetDefault {
                table: t(),
                column: col(),
                default: None,
            });
        }
        out.push(Change::SetType {
            table: t(),
            column: col(),
            was: was.clone(),
            now: now.clone(),
        });
    }
    if !after.auto_increment() && (now.default.is_some() || was.default.is_some() || retyped) {
        out.push(Change::SetDefault {
            table: t(),
            column: col(),
            default: now.default.clone(),
        });
    }
    if after.nullable != before.nullable {
        out.push(Change::SetNotNull {
            table: t(),
            column: col(),
            not_null: !after.nullable,
        });
    }
    if now.check.is_some() {
        out.push(Change::AddCheck {
            table: t(),
            column: now.clone(),
        });
    }
    out
}

/// The order in which MySQL numbers a table's rows for an AUTO_INCREMENT column added to it, as
/// PostgreSQL columns (text ones flagged: exact only where their values are of one case of
/// ASCII letters and digits, which the apply checks): InnoDB rebuilds the table in the order of
/// its primary key. None where PostgreSQL cannot know it (no key, another engine, a key column
/// ordered by other rules: ENUM by index, JSON …).
fn numbering_order(t: &TableDef, overrides: &serde_json::Value) -> Option<Vec<(String, bool)>> {
    let key = t.primary_key();
    if key.is_empty() || !t.is_innodb() {
        return None;
    }
    key.iter()
        .map(|k| {
            let c = t.columns.iter().find(|c| &c.name == k)?;
            let pg = map_column(&t.name, c, overrides).ok()?;
            match pg.kind {
                Kind::Text if is_text_type(&c.data_type) => Some((pg.name, true)),
                Kind::Int | Kind::Bool | Kind::Decimal | Kind::Float | Kind::Double | Kind::Date | Kind::DateTime
                | Kind::Timestamp | Kind::Time | Kind::Bytes => Some((pg.name, false)),
                _ => None,
            }
        })
        .collect()
}
