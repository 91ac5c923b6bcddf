//! sqlparser's MySQL AST -> chameleon's model of a table: columns as information_schema would
//! describe them, keys, indexes and foreign keys named as MySQL names them.

use sqlparser::ast::{
    ColumnDef, ColumnOption, DataType, EnumMember, Expr, IndexColumn, MySQLColumnPosition,
    ObjectName, ObjectNamePart, ReferentialAction, TableConstraint,
};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

use super::{unsupported, Model};
use crate::check::{CheckDef, Naming};
use crate::error::Result;
use crate::snapshot::{ForeignKey, IndexDef, TableDef};
use crate::types::MysqlColumn;

pub(super) fn ident_name(parts: &ObjectName) -> Vec<String> {
    parts
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect()
}

/// The column as information_schema would describe it.
pub(super) fn mysql_column(def: &ColumnDef, naming: Naming) -> Result<MysqlColumn> {
    let options: Vec<ColumnOption> = def.options.iter().map(|o| o.option.clone()).collect();
    mysql_column_parts(&def.name.value, &def.data_type, &options, naming)
}

pub(super) fn mysql_column_parts(
    name: &str,
    dt: &DataType,
    options: &[ColumnOption],
    naming: Naming,
) -> Result<MysqlColumn> {
    let mut c = column_type(name, dt)?;
    let serial = c.extra == "auto_increment";
    column_options(&mut c, options)?;
    crate::types::as_stored(&mut c, naming == Naming::MySql);
    if serial {
        // SERIAL's own NOT NULL AUTO_INCREMENT, whatever options follow
        c.extra = "auto_increment".into();
        c.nullable = false;
    }
    if c.auto_increment() {
        c.nullable = false;
    }
    Ok(c)
}

/// A column of type `dt`: DATA_TYPE, COLUMN_TYPE (labels byte for byte) and the lengths,
/// precisions and scales information_schema reports.
fn column_type(name: &str, dt: &DataType) -> Result<MysqlColumn> {
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
    let unsigned = text
        .rsplit(')')
        .next()
        .is_some_and(|a| a.contains("unsigned"));
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
                    EnumMember::Name(n) | EnumMember::NamedValue(n, _) => n.clone(),
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
                // an alias: BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE (the key: is_serial)
                "serial" => {
                    c.column_type = "bigint unsigned".into();
                    c.extra = "auto_increment".into();
                    c.nullable = false;
                    "bigint".into()
                }
                "integer" => "int".into(),
                "bool" | "boolean" => {
                    c.column_type = "tinyint(1)".into();
                    "tinyint".into()
                }
                "dec" | "fixed" | "numeric" => "decimal".into(),
                "real" => "double".into(),
                "character" | "nchar" => "char".into(),
                "nvarchar" => "varchar".into(),
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
    Ok(c)
}

/// NULL / NOT NULL, DEFAULT, CHARACTER SET, AUTO_INCREMENT and MariaDB's JSON check.
fn column_options(c: &mut MysqlColumn, options: &[ColumnOption]) -> Result<()> {
    for o in options {
        match o {
            ColumnOption::NotNull => c.nullable = false,
            ColumnOption::Null => c.nullable = true,
            ColumnOption::Default(e) => {
                c.default = Some(default_text(e));
            }
            ColumnOption::PrimaryKey(_) => c.nullable = false,
            ColumnOption::CharacterSet(cs) => c.charset = Some(cs.to_string().to_ascii_lowercase()),
            ColumnOption::Collation(name) => {
                c.binary_collation = name.to_string().to_ascii_lowercase().ends_with("_bin")
            }
            ColumnOption::DialectSpecific(toks)
                if toks.iter().any(
                    |t| matches!(t, Token::Word(w) if w.keyword == Keyword::AUTO_INCREMENT),
                ) =>
            {
                c.extra = "auto_increment".into();
            }
            // kept as data: the binlog carries a generated column's values (a column added to
            // rows that exist is filled by the expression: columns.rs)
            ColumnOption::Generated { generation_expr: Some(_), generation_expr_mode, .. } => {
                let stored = matches!(generation_expr_mode, Some(sqlparser::ast::GeneratedExpressionMode::Stored));
                c.extra = if stored { "STORED GENERATED" } else { "VIRTUAL GENERATED" }.into();
            }
            ColumnOption::Generated { .. } => {
                return Err(unsupported(format!("column \"{}\": an identity column", c.name)))
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
    Ok(())
}

/// A default as MariaDB's information_schema writes it ('quoted' literals).
pub(super) fn default_text(e: &Expr) -> String {
    e.to_string()
}

/// Whether an index has a key part that is an expression (MySQL 8's functional index: the
/// expression in parentheses).
pub(super) fn is_functional(cols: &[IndexColumn]) -> bool {
    cols.iter().any(|c| matches!(c.column.expr, Expr::Nested(_)))
}

pub(super) fn index_columns(cols: &[IndexColumn]) -> Result<Vec<String>> {
    if is_functional(cols) {
        return Ok(vec![]);
    }
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => Ok(i.value.clone()),
            // a prefix index `name(10)` reads as a function call: the column is what counts
            Expr::Function(f) => Ok(ident_name(&f.name).pop().unwrap_or_default()),
            other => Err(unsupported(format!("index on the expression {other}"))),
        })
        .collect()
}

pub(super) fn rule(a: &Option<ReferentialAction>) -> String {
    match a {
        Some(ReferentialAction::Cascade) => "CASCADE",
        Some(ReferentialAction::SetNull) => "SET NULL",
        Some(ReferentialAction::SetDefault) => "SET DEFAULT",
        // NO ACTION and the default: what InnoDB does, RESTRICT (snapshot::immediate)
        _ => "RESTRICT",
    }
    .into()
}

/// A column as the table spells it (MySQL column names are case-insensitive).
pub(super) fn canonical(t: &TableDef, col: &str) -> String {
    t.columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(col))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| col.to_string())
}

pub(super) fn canonical_all(t: &TableDef, cols: Vec<String>) -> Vec<String> {
    cols.iter().map(|c| canonical(t, c)).collect()
}

/// MySQL's name for an unnamed index: its first column, then `_2`, `_3` … when taken.
pub(super) fn free_index_name(t: &TableDef, first: &str) -> String {
    let taken = |n: &str| t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n));
    if !taken(first) {
        return first.to_string();
    }
    (2..)
        .map(|k| format!("{first}_{k}"))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

pub(super) fn free_fk_name(t: &TableDef) -> String {
    let taken = |n: &str| t.foreign_keys.iter().any(|f| f.name == n);
    (1..)
        .map(|k| format!("{}_ibfk_{k}", t.name))
        .find(|n| !taken(n))
        .unwrap_or_default()
}

pub(super) fn insert_at(
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

/// SERIAL: its UNIQUE key comes with the type.
pub(super) fn is_serial(dt: &DataType) -> bool {
    dt.to_string().eq_ignore_ascii_case("serial")
}

/// A key made of one column (PRIMARY KEY or UNIQUE in a column's definition).
pub(super) fn single_column_key(t: &TableDef, column: &str, primary: bool) -> IndexDef {
    IndexDef {
        name: if primary {
            "PRIMARY".into()
        } else {
            free_index_name(t, column)
        },
        unique: true,
        primary,
        columns: vec![column.to_string()],
        index_type: "BTREE".into(),
    }
}

/// Adds a primary key to `t`: refused when it has one (MySQL refuses it too).
pub(super) fn add_primary_key(t: &mut TableDef, columns: Vec<String>) -> Result<IndexDef> {
    if t.indexes.iter().any(|i| i.primary) {
        return Err(unsupported(format!(
            "table \"{}\" has a primary key already",
            t.name
        )));
    }
    for c in t.columns.iter_mut().filter(|c| columns.contains(&c.name)) {
        c.nullable = false;
    }
    let mut key = single_column_key(t, "", true);
    key.columns = columns;
    t.indexes.insert(0, key.clone());
    Ok(key)
}

/// The indexes of `t` InnoDB made for its foreign keys (named as the key or its first column,
/// on exactly its columns, not unique) that the new index `new` can serve instead: MySQL drops
/// them when `new` comes. (An index the user made with the same name and columns looks the
/// same from outside; the real-world corpus compares the outcome with a fresh copy.)
pub(super) fn superseded_fk_indexes(t: &TableDef, new: &IndexDef) -> Vec<IndexDef> {
    t.indexes
        .iter()
        .filter(|i| !i.primary && !i.unique && i.name != new.name && new.columns.starts_with(&i.columns))
        .filter(|i| {
            t.foreign_keys.iter().any(|f| {
                f.columns == i.columns
                    && (i.name == f.name || f.columns.first().is_some_and(|c| c.eq_ignore_ascii_case(&i.name)))
            })
        })
        .cloned()
        .collect()
}

/// Adds an index named `name` (MySQL's name for it when None) to `t`.
fn add_index(
    t: &mut TableDef,
    name: Option<&sqlparser::ast::Ident>,
    columns: Vec<String>,
    unique: bool,
    index_type: &str,
) -> IndexDef {
    let name = name
        .map(|n| n.value.clone())
        // MySQL's names: the first column's, or functional_index for an expression
        .unwrap_or_else(|| free_index_name(t, columns.first().map_or("functional_index", String::as_str)));
    let i = IndexDef {
        name,
        unique,
        primary: false,
        columns,
        index_type: index_type.into(),
    };
    t.indexes.push(i.clone());
    i
}

/// MariaDB's JSON: CHECK (json_valid(col)), which the jsonb type stands for.
fn is_json_check(e: &Expr) -> bool {
    e.to_string().to_ascii_lowercase().starts_with("json_valid(")
}

impl Model {
    /// The CHECKs written in a column's definition (enforced ones), named as the server does.
    pub(super) fn column_checks(
        &self,
        t: &TableDef,
        column: &str,
        options: &[sqlparser::ast::ColumnOptionDef],
    ) -> Vec<CheckDef> {
        let mut out: Vec<CheckDef> = Vec::new();
        for o in options {
            let ColumnOption::Check(k) = &o.option else {
                continue;
            };
            if k.enforced == Some(false) || is_json_check(&k.expr) {
                continue;
            }
            let existing: Vec<CheckDef> = t.checks.iter().chain(&out).cloned().collect();
            let name = o.name.as_ref().or(k.name.as_ref()).map(|n| n.value.clone());
            let name = name.unwrap_or_else(|| self.naming.name(&t.name, Some(column), &existing));
            out.push(CheckDef { name, clause: k.expr.to_string() });
        }
        out
    }

    /// A table as CREATE TABLE defines it.
    pub(super) fn table_def(
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
            checks: vec![],
            engine: None,
        };
        for c in columns {
            let mc = mysql_column(c, self.naming)?;
            if is_serial(&c.data_type) {
                let key = single_column_key(&t, &mc.name, false);
                t.indexes.push(key);
            }
            for o in &c.options {
                match &o.option {
                    ColumnOption::PrimaryKey(_) => {
                        let key = single_column_key(&t, &mc.name, true);
                        t.indexes.insert(0, key);
                    }
                    ColumnOption::Unique(_) => {
                        let key = single_column_key(&t, &mc.name, false);
                        t.indexes.push(key);
                    }
                    ColumnOption::ForeignKey(fk) => {
                        let mut fk = fk.clone();
                        fk.columns = vec![c.name.clone()];
                        self.add_foreign_key(db, &mut t, &fk);
                    }
                    _ => {}
                }
            }
            for k in self.column_checks(&t, &mc.name, &c.options) {
                t.checks.push(k);
            }
            t.columns.push(mc);
        }
        // the keys first, then the foreign keys: InnoDB makes an index for a foreign key only
        // where none of the table's keys starts with its columns, wherever they are written
        let is_fk = |k: &&TableConstraint| matches!(k, TableConstraint::ForeignKey(_));
        for k in constraints.iter().filter(|k| !is_fk(k)).chain(constraints.iter().filter(is_fk)) {
            self.add_constraint(db, &mut t, k)?;
        }
        Ok(t)
    }

    pub(super) fn add_foreign_key(
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
            add_index(
                t,
                fk.index_name.as_ref().or(fk.name.as_ref()),
                columns.clone(),
                false,
                "BTREE",
            );
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

    /// Adds a key, index or foreign key to the model; returns the key or index it made (None
    /// for foreign keys, CHECKs, and what PostgreSQL does not have).
    pub(super) fn add_constraint(
        &self,
        db: &str,
        t: &mut TableDef,
        k: &TableConstraint,
    ) -> Result<Option<IndexDef>> {
        Ok(match k {
            TableConstraint::PrimaryKey(p) => {
                let cols = canonical_all(t, index_columns(&p.columns)?);
                Some(add_primary_key(t, cols)?)
            }
            TableConstraint::Unique(u) => {
                let cols = canonical_all(t, index_columns(&u.columns)?);
                let kind = if is_functional(&u.columns) { "FUNCTIONAL" } else { "BTREE" };
                let name = u.index_name.as_ref().or(u.name.as_ref());
                let i = add_index(t, name, cols, true, kind);
                (kind == "BTREE").then_some(i)
            }
            TableConstraint::Index(ix) => {
                let cols = canonical_all(t, index_columns(&ix.columns)?);
                let kind = if is_functional(&ix.columns) { "FUNCTIONAL" } else { "BTREE" };
                let i = add_index(t, ix.name.as_ref(), cols, false, kind);
                (kind == "BTREE").then_some(i)
            }
            TableConstraint::FulltextOrSpatial(f) => {
                let cols = canonical_all(t, index_columns(&f.columns)?);
                let kind = if f.fulltext { "FULLTEXT" } else { "SPATIAL" };
                add_index(t, f.opt_index_name.as_ref(), cols, false, kind);
                None
            }
            TableConstraint::ForeignKey(fk) => {
                self.add_foreign_key(db, t, fk);
                None
            }
            // (carried when PostgreSQL reads them the same: ddl::table_check)
            TableConstraint::Check(k) => {
                if k.enforced != Some(false) && !is_json_check(&k.expr) {
                    let name = k.name.as_ref().map(|n| n.value.clone());
                    let name = name.unwrap_or_else(|| self.naming.name(&t.name, None, &t.checks));
                    t.checks.push(CheckDef { name, clause: k.expr.to_string() });
                }
                None
            }
            other => return Err(unsupported(format!("constraint {other}"))),
        })
    }
}
