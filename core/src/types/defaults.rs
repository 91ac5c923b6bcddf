//! A column default as information_schema shows it, whichever way it reached chameleon: a copy
//! reads information_schema (MariaDB quotes literals, MySQL shows them bare), a schema change
//! reads the statement (a literal as written). Both are brought to one form — MariaDB's, with
//! the literal converted to the column's type as the server stores it — so that a replicated
//! table and a fresh copy get the same PostgreSQL default.

use super::MysqlColumn;

/// Types whose literal defaults MySQL shows bare and MariaDB quoted.
fn is_quoted_type(data_type: &str) -> bool {
    super::is_text_type(data_type)
        || matches!(
            data_type,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "enum" | "set"
        )
}

/// Types MySQL gives no literal default (it ignores one, with a warning, outside strict mode);
/// MariaDB keeps it.
fn is_blob_type(data_type: &str) -> bool {
    matches!(
        data_type,
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob" | "longblob"
            | "json" | "geometry" | "point" | "linestring" | "polygon" | "multipoint"
            | "multilinestring" | "multipolygon" | "geometrycollection"
    )
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A COLUMN_DEFAULT as MySQL shows it, in MariaDB's form: a literal of a string, binary, ENUM
/// or SET column quoted (MySQL shows `abc` for 'abc', nothing for ''); an expression default
/// (DEFAULT_GENERATED) and other types unchanged.
pub fn quote_mysql_default(data_type: &str, default: Option<String>, extra: &str) -> Option<String> {
    let d = default?;
    if !is_quoted_type(data_type) || extra.to_ascii_lowercase().contains("default_generated") {
        return Some(d);
    }
    Some(quote(&d))
}

/// The default of a column a statement defines (the statement's text: 'quoted' literals, bare
/// numbers, (expressions)) as the server stores it: numbers converted to the column's type and
/// scale, a number given to a string column as its text, MySQL's ignored BLOB/TEXT literal
/// dropped, an expression marked DEFAULT_GENERATED (MySQL 8 syntax; not translated).
pub fn as_stored(c: &mut MysqlColumn, mysql: bool) {
    let Some(d) = c.default.as_deref().map(str::trim) else {
        return;
    };
    if d.starts_with('(') {
        if !c.extra.to_ascii_lowercase().contains("default_generated") {
            c.extra = format!("{} DEFAULT_GENERATED", c.extra).trim().to_string();
        }
        return;
    }
    let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'');
    let value = if quoted { &d[1..d.len() - 1] } else { d };
    let scale = scale_of(&c.column_type);
    let stored = match c.data_type.as_str() {
        t if is_blob_type(t) && mysql => None,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => {
            Some(integer(value).unwrap_or_else(|| d.to_string()))
        }
        "decimal" => Some(fixed(value, scale.unwrap_or(0)).unwrap_or_else(|| d.to_string())),
        "float" | "double" => Some(match (value.parse::<f64>(), scale) {
            (Ok(v), Some(s)) => format!("{v:.s$}"),
            (Ok(v), None) if c.data_type == "float" => (v as f32).to_string(),
            (Ok(v), None) => v.to_string(),
            (Err(_), _) => d.to_string(),
        }),
        t if is_quoted_type(t) && !quoted && value.parse::<f64>().is_ok() => {
            Some(quote(&integer(value).filter(|_| !value.contains(['.', 'e', 'E'])).unwrap_or_else(|| value.to_string())))
        }
        _ => Some(d.to_string()),
    };
    c.default = stored;
}

/// The scale of `float(10,2)`, `decimal(12,4)`: the second number in the parentheses.
fn scale_of(column_type: &str) -> Option<usize> {
    let inner = column_type.split_once('(')?.1.split_once(')')?.0;
    inner.split_once(',')?.1.trim().parse().ok()
}

/// An integer column's value of a literal: rounded half away from zero, as MySQL stores it.
fn integer(text: &str) -> Option<String> {
    // BOOLEAN … DEFAULT FALSE (CubeCart): TRUE and FALSE are 1 and 0
    match text.to_ascii_lowercase().as_str() {
        "true" => return Some("1".into()),
        "false" => return Some("0".into()),
        _ => {}
    }
    if let Ok(v) = text.parse::<i128>() {
        return Some(v.to_string());
    }
    let v = text.parse::<f64>().ok()?;
    Some(format!("{}", v.round() as i128))
}

/// A decimal literal with exactly `scale` digits after the point, rounded half away from zero
/// on its digits (no binary floating point: DECIMAL(65,30) keeps every digit).
fn fixed(text: &str, scale: usize) -> Option<String> {
    if text.contains(['e', 'E']) {
        return text.parse::<f64>().ok().map(|v| format!("{v:.scale$}"));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|ch| ch.is_ascii_digit()) {
        return None;
    }
    let mut all: Vec<u8> = int.bytes().chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale)).map(|b| b - b'0').collect();
    if frac.as_bytes().get(scale).is_some_and(|&b| b >= b'5') {
        // carry the rounding up through the digits
        let mut k = all.len();
        loop {
            if k == 0 {
                all.insert(0, 1);
                break;
            }
            k -= 1;
            if all[k] == 9 {
                all[k] = 0;
            } else {
                all[k] += 1;
                break;
            }
        }
    }
    let split = all.len() - scale;
    let int: String = all[..split].iter().map(|d| char::from(b'0' + d)).collect::<String>();
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac: String = all[split..].iter().map(|d| char::from(b'0' + d)).collect();
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    Some(if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(data_type: &str, column_type: &str, default: &str) -> MysqlColumn {
        MysqlColumn {
            data_type: data_type.into(),
            column_type: column_type.into(),
            default: Some(default.into()),
            ..Default::default()
        }
    }

    fn stored(data_type: &str, column_type: &str, default: &str, mysql: bool) -> Option<String> {
        let mut c = column(data_type, column_type, default);
        as_stored(&mut c, mysql);
        c.default
    }

    #[test]
    fn numbers_take_the_columns_type_and_scale() {
        // Kamailio's `q FLOAT(10,2) DEFAULT 1.0`, `duration FLOAT(13,6) DEFAULT 0`
        assert_eq!(stored("float", "float(10,2)", "1.0", false).as_deref(), Some("1.00"));
        assert_eq!(stored("float", "float(13,6)", "0", false).as_deref(), Some("0.000000"));
        assert_eq!(stored("float", "float", "1.0", true).as_deref(), Some("1"));
        assert_eq!(stored("double", "double", "0.5", true).as_deref(), Some("0.5"));
        assert_eq!(stored("decimal", "decimal(10,2)", "0", false).as_deref(), Some("0.00"));
        assert_eq!(stored("decimal", "decimal(10,2)", "'1.005'", false).as_deref(), Some("1.01"));
        assert_eq!(stored("decimal", "decimal(4,1)", "-9.96", false).as_deref(), Some("-10.0"));
        assert_eq!(stored("decimal", "decimal(4,1)", "-0.01", false).as_deref(), Some("0.0"));
        assert_eq!(stored("int", "int(11)", "'5'", false).as_deref(), Some("5"));
        assert_eq!(stored("int", "int(11)", "1.5", false).as_deref(), Some("2"));
        assert_eq!(stored("tinyint", "tinyint(1)", "FALSE", true).as_deref(), Some("0"));
        assert_eq!(stored("bigint", "bigint unsigned", "18446744073709551615", false).as_deref(), Some("18446744073709551615"));
    }

    #[test]
    fn a_number_given_to_a_string_column_is_its_text() {
        // Kamailio's `setid VARCHAR(32) DEFAULT 00`
        assert_eq!(stored("varchar", "varchar(32)", "00", false).as_deref(), Some("'0'"));
        assert_eq!(stored("varchar", "varchar(32)", "1.50", false).as_deref(), Some("'1.50'"));
        assert_eq!(stored("varchar", "varchar(32)", "'00'", false).as_deref(), Some("'00'"));
    }

    #[test]
    fn mysql_ignores_a_literal_default_of_text_and_blobs() {
        // osTicket's `configuration text NOT NULL DEFAULT ''`
        assert_eq!(stored("text", "text", "''", true), None);
        assert_eq!(stored("text", "text", "''", false).as_deref(), Some("''"));
        let mut c = column("varchar", "varchar(36)", "(uuid())");
        as_stored(&mut c, true);
        assert!(c.extra.contains("DEFAULT_GENERATED"), "{c:?}");
    }

    #[test]
    fn mysql_literals_are_quoted_as_mariadb_shows_them() {
        assert_eq!(quote_mysql_default("varbinary", Some(String::new()), "").as_deref(), Some("''"));
        assert_eq!(quote_mysql_default("varchar", Some("it's".into()), "").as_deref(), Some("'it''s'"));
        assert_eq!(quote_mysql_default("int", Some("0".into()), "").as_deref(), Some("0"));
        assert_eq!(quote_mysql_default("varchar", Some("uuid()".into()), "DEFAULT_GENERATED").as_deref(), Some("uuid()"));
        assert_eq!(quote_mysql_default("varchar", None, ""), None);
    }
}
