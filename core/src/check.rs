//! MySQL CHECK constraints as PostgreSQL ones. MySQL (8.0.16+) and MariaDB enforce them; their
//! expressions are MySQL's, read here with sqlparser's MySQL dialect and written back for
//! PostgreSQL only when the meaning is the same on both sides. Anything else is left out and
//! named (a NOTICE at init_replica, a note in the DDL event): a check PostgreSQL read
//! differently would refuse rows MySQL accepted.

use sqlparser::ast::{BinaryOperator, Expr, FunctionArguments, UnaryOperator, Value};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::types::MysqlColumn;

/// A CHECK constraint as the source has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckDef {
    /// MySQL's name (generated: `<table>_chk_<n>` on MySQL, `CONSTRAINT_<n>` or the column's
    /// name on MariaDB)
    pub name: String,
    /// the expression as MySQL shows it (information_schema) or as the statement wrote it
    pub clause: String,
}

/// How the server names a CHECK constraint a statement leaves unnamed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    /// MariaDB: a column's check takes the column's name, a table's `CONSTRAINT_<n>`
    #[default]
    MariaDb,
    /// MySQL 8: `<table>_chk_<n>`, for column and table checks alike
    MySql,
}

impl Naming {
    /// The naming of the server whose `SELECT VERSION()` is `version`.
    pub fn of_version(version: &str) -> Naming {
        if crate::source::is_mariadb_version(version) {
            Naming::MariaDb
        } else {
            Naming::MySql
        }
    }

    /// The name the server gives a new unnamed check of `table` (of `column` when written in
    /// the column's definition), beside the checks it has.
    pub fn name(self, table: &str, column: Option<&str>, existing: &[CheckDef]) -> String {
        let next = |prefix: &str| {
            let n = existing
                .iter()
                .filter_map(|k| {
                    let lower = k.name.to_ascii_lowercase();
                    lower.strip_prefix(&prefix.to_ascii_lowercase())?.parse::<u32>().ok()
                })
                .max()
                .unwrap_or(0);
            format!("{prefix}{}", n + 1)
        };
        match (self, column) {
            (Naming::MariaDb, Some(c)) => c.to_string(),
            (Naming::MariaDb, None) => next("CONSTRAINT_"),
            (Naming::MySql, _) => next(&format!("{table}_chk_")),
        }
    }
}

/// A check's clause as an expression. MySQL's information_schema shows the quotes of string
/// literals escaped (`_utf8mb4\'a\'`).
fn parse(clause: &str) -> Result<Expr, sqlparser::parser::ParserError> {
    Parser::new(&MySqlDialect {})
        .try_with_sql(&clause.replace("\\'", "'"))
        .and_then(|mut p| p.parse_expr())
}

/// A check's clause with column `from` named `to` (MySQL follows a column's rename).
pub fn rename_column(clause: &str, from: &str, to: &str) -> String {
    let Ok(mut expr) = parse(clause) else {
        return clause.to_string();
    };
    let _ = sqlparser::ast::visit_expressions_mut(&mut expr, |e| {
        if let Expr::Identifier(id) = e {
            if id.value.eq_ignore_ascii_case(from) {
                id.value = to.to_string();
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}

/// Whether a check's clause names `column`.
pub fn names_column(clause: &str, column: &str) -> bool {
    let Ok(expr) = parse(clause) else {
        return false;
    };
    sqlparser::ast::visit_expressions(&expr, |e| match e {
        Expr::Identifier(id) if id.value.eq_ignore_ascii_case(column) => std::ops::ControlFlow::Break(()),
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

/// MySQL functions whose PostgreSQL namesake means the same on the values a check sees.
const FUNCTIONS: &[(&str, &str)] = &[
    ("char_length", "char_length"),
    ("character_length", "char_length"),
    // bytes of the value: utf8mb4 and PostgreSQL's UTF-8 agree
    ("length", "octet_length"),
    ("octet_length", "octet_length"),
    ("abs", "abs"),
    ("ceil", "ceil"),
    ("ceiling", "ceil"),
    ("floor", "floor"),
    ("mod", "mod"),
    ("coalesce", "coalesce"),
];

/// The PostgreSQL expression of a MySQL check on `columns` (names as MySQL spells them), or
/// why it is left out.
pub fn translate(clause: &str, columns: &[MysqlColumn]) -> Result<String, String> {
    let mut expr = parse(clause).map_err(|e| format!("cannot read it ({e})"))?;
    let mut facts = Facts::default();
    rewrite(&mut expr, columns, &mut facts)?;
    // text compared under MySQL's collation (case- and accent-insensitive by default) is not
    // compared the same way by PostgreSQL
    if facts.text_column && facts.string_literal {
        return Err("it compares text, which MySQL does under its collation".into());
    }
    Ok(expr.to_string())
}

#[derive(Default)]
struct Facts {
    text_column: bool,
    string_literal: bool,
}

fn is_text(c: &MysqlColumn) -> bool {
    matches!(
        c.data_type.as_str(),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    ) && !c.binary_collation
}

/// Rewrites `e` in place into PostgreSQL's spelling, or says what is not carried.
fn rewrite(e: &mut Expr, columns: &[MysqlColumn], facts: &mut Facts) -> Result<(), String> {
    match e {
        Expr::Identifier(id) => {
            let c = columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&id.value))
                .ok_or_else(|| format!("it names \"{}\", not a column", id.value))?;
            facts.text_column |= is_text(c);
            *e = Expr::Identifier(sqlparser::ast::Ident::with_quote(
                '"',
                crate::names::pg_truncated(&c.name),
            ));
        }
        Expr::Value(v) => match &v.value {
            Value::Number(..) | Value::Boolean(_) | Value::Null => {}
            Value::SingleQuotedString(_) => facts.string_literal = true,
            // MySQL's double quotes make a string (ANSI_QUOTES aside)
            Value::DoubleQuotedString(s) => {
                facts.string_literal = true;
                v.value = Value::SingleQuotedString(s.clone());
            }
            other => return Err(format!("the value {other}")),
        },
        // a character set introducer: _utf8mb4'a'
        Expr::Prefixed { prefix, value } if prefix.value.starts_with('_') => {
            let mut inner = (**value).clone();
            rewrite(&mut inner, columns, facts)?;
            *e = inner;
        }
        Expr::Nested(inner) => rewrite(inner, columns, facts)?,
        Expr::UnaryOp { op, expr } => {
            if !matches!(op, UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus) {
                return Err(format!("the operator {op}"));
            }
            rewrite(expr, columns, facts)?;
        }
        Expr::BinaryOp { left, op, right } => {
            use BinaryOperator as B;
            // (MySQL's / divides decimals where PostgreSQL's divides integers; || is OR)
            if !matches!(
                op,
                B::Gt | B::Lt | B::GtEq | B::LtEq | B::Eq | B::NotEq | B::And | B::Or
                    | B::Plus | B::Minus | B::Multiply | B::Modulo
            ) {
                return Err(format!("the operator {op}"));
            }
            rewrite(left, columns, facts)?;
            rewrite(right, columns, facts)?;
        }
        Expr::IsNull(x) | Expr::IsNotNull(x) => rewrite(x, columns, facts)?,
        Expr::In { expr, target: sqlparser::ast::InTarget::List(list), global: false, .. } => {
            rewrite(expr, columns, facts)?;
            for x in list {
                rewrite(x, columns, facts)?;
            }
        }
        Expr::Between { expr, low, high, .. } => {
            rewrite(expr, columns, facts)?;
            rewrite(low, columns, facts)?;
            rewrite(high, columns, facts)?;
        }
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let (_, pg) = FUNCTIONS
                .iter()
                .find(|(my, _)| *my == name)
                .ok_or_else(|| format!("the function {name}()"))?;
            f.name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(*pg)]);
            let FunctionArguments::List(list) = &mut f.args else {
                return Err(format!("the function {name}() without arguments"));
            };
            for a in &mut list.args {
                match a {
                    sqlparser::ast::FunctionArg::Unnamed(
                        sqlparser::ast::FunctionArgExpr::Expr(x),
                    ) => rewrite(x, columns, facts)?,
                    other => return Err(format!("the argument {other}")),
                }
            }
        }
        other => return Err(format!("the expression {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<MysqlColumn> {
        let c = |name: &str, data_type: &str| MysqlColumn {
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            ..Default::default()
        };
        let mut code = c("code", "varchar");
        code.binary_collation = true;
        vec![c("price", "decimal"), c("qty", "int"), c("name", "varchar"), c("Starts", "date"), c("ends", "date"), code]
    }

    #[test]
    fn what_means_the_same_is_carried() {
        let t = |s: &str| translate(s, &cols());
        // MySQL's information_schema form and the statement's form
        assert_eq!(t("(`price` > 0)").unwrap(), r#"("price" > 0)"#);
        assert_eq!(t("price > 0 AND qty BETWEEN 1 AND 10").unwrap(), r#""price" > 0 AND "qty" BETWEEN 1 AND 10"#);
        assert_eq!(t("(`ends` >= `starts`)").unwrap(), r#"("ends" >= "Starts")"#);
        assert_eq!(t("(char_length(`name`) > 2)").unwrap(), r#"(char_length("name") > 2)"#);
        assert_eq!(t("length(name) < 10 or name is null").unwrap(), r#"octet_length("name") < 10 OR "name" IS NULL"#);
        assert_eq!(t("(`qty` % 2) = 0").unwrap(), r#"("qty" % 2) = 0"#);
        // a date against a literal: not a text comparison
        assert_eq!(t("(`starts` > _utf8mb4\\'2000-01-01\\')").unwrap(), r#"("Starts" > '2000-01-01')"#);
        // a binary collation compares bytes on both sides
        assert_eq!(t("code in ('A', 'b')").unwrap(), r#""code" IN ('A', 'b')"#);
    }

    #[test]
    fn names_renames_and_references() {
        let k = |n: &str| CheckDef { name: n.into(), clause: "x > 0".into() };
        assert_eq!(Naming::MySql.name("t", Some("a"), &[]), "t_chk_1");
        assert_eq!(Naming::MySql.name("t", None, &[k("t_chk_1"), k("T_chk_3"), k("other")]), "t_chk_4");
        assert_eq!(Naming::MariaDb.name("t", Some("price"), &[]), "price");
        assert_eq!(Naming::MariaDb.name("t", None, &[k("CONSTRAINT_1")]), "CONSTRAINT_2");
        assert_eq!(Naming::of_version("10.11.14-MariaDB-log"), Naming::MariaDb);
        assert_eq!(Naming::of_version("9.7.4"), Naming::MySql);
        assert_eq!(rename_column("(`price` > `Cost`)", "cost", "base"), "(`price` > `base`)");
        assert!(names_column("(`price` > 0)", "PRICE") && !names_column("(`price` > 0)", "qty"));
    }

    #[test]
    fn what_could_mean_otherwise_is_left_out() {
        let t = |s: &str| translate(s, &cols()).unwrap_err();
        assert!(t("(`name` in (_utf8mb4\\'a\\',_utf8mb4\\'B\\'))").contains("collation"));
        assert!(t("name like 'a%'").contains("expression") || t("name like 'a%'").contains("collation"));
        assert!(t("price / 2 > 1").contains("operator"));
        assert!(t("regexp_like(name, '^a')").contains("function regexp_like"));
        assert!(t("nope > 1").contains("not a column"));
        assert!(t("price >").contains("cannot read"));
    }
}
