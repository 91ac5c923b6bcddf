//! The MySQL -> PostgreSQL type map (docs/types.md); `encode` writes MySQL values as
//! PostgreSQL COPY text. Nothing is lost: unsigned integers widen, DECIMAL keeps its precision,
//! TIME (negative, beyond 24 h) becomes interval, binary data becomes bytea.

use crate::error::{Error, Result};

/// A MySQL column as information_schema.COLUMNS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MysqlColumn {
    pub name: String,
    /// DATA_TYPE, lower case: "int", "varchar", "datetime", ...
    pub data_type: String,
    /// COLUMN_TYPE, lower case outside quotes: "int(10) unsigned", "enum('G','PG-13')",
    /// "decimal(65,30)", ... (ENUM and SET labels byte for byte: they are data)
    pub column_type: String,
    pub nullable: bool,
    /// COLUMN_DEFAULT as the server shows it (MariaDB: an SQL expression; 'quoted' literals)
    pub default: Option<String>,
    /// EXTRA: "auto_increment", "on update current_timestamp()", "VIRTUAL GENERATED", ...
    pub extra: String,
    pub char_max_length: Option<u64>,
    pub numeric_precision: Option<u64>,
    pub numeric_scale: Option<u64>,
    pub datetime_precision: Option<u64>,
    /// MariaDB's JSON is LONGTEXT with CHECK (json_valid(col))
    pub is_json: bool,
    /// CHARACTER_SET_NAME of a text column, lower case ("utf8mb4", "latin1", ...): the binlog
    /// carries text in it
    pub charset: Option<String>,
    /// a binary collation (`…_bin`, or the BINARY attribute of CHAR(n) BINARY): compared and
    /// ordered by code point, as PostgreSQL's "C" collation does
    pub binary_collation: bool,
    /// ENUM/SET labels read from the rows where information_schema cannot show them (MariaDB
    /// writes characters outside the BMP as '?'); UNREADABLE_LABEL where no row had one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_labels: Option<Vec<String>>,
}

/// A label information_schema showed as '?' and no row revealed: no CHECK is made on its
/// column, and a binlog value with it needs the table map's labels (binlog_row_metadata = FULL).
/// (Private-use characters around it: no label a server shows; jsonb takes it, unlike NUL.)
pub const UNREADABLE_LABEL: &str = "\u{F8FF}unreadable label\u{F8FF}";

/// An ENUM or SET value decoded through labels one of which is UNREADABLE_LABEL, where its
/// index or bitmask fell on that one: an error with the fix, never a wrong label.
pub fn readable_label(v: &mysql::Value) -> Result<()> {
    let unreadable = UNREADABLE_LABEL.as_bytes();
    match v {
        mysql::Value::Bytes(b) if b.windows(unreadable.len()).any(|w| w == unreadable) => Err(Error::new(
            crate::SqlState::ObjectNotInPrerequisiteState,
            "a label information_schema shows as '?', no copied row held and the binlog does not carry",
        )
        .hint("SET GLOBAL binlog_row_metadata = 'FULL' on the server (the table map then carries the labels), then copy the source again with init_replica.")),
        _ => Ok(()),
    }
}

impl MysqlColumn {
    pub fn unsigned(&self) -> bool {
        // after the last ')' so that a label named 'unsigned' does not count
        self.column_type
            .rsplit(')')
            .next()
            .is_some_and(|attrs| attrs.contains("unsigned"))
    }
    pub fn auto_increment(&self) -> bool {
        self.extra.to_ascii_lowercase().contains("auto_increment")
    }
    /// The values of ENUM('a','b') or SET('a','b'), unquoted.
    pub fn enum_values(&self) -> Vec<String> {
        if let Some(read) = &self.read_labels {
            return read.clone();
        }
        let Some(open) = self.column_type.find('(') else {
            return vec![];
        };
        let inner = &self.column_type[open + 1
            ..self
                .column_type
                .rfind(')')
                .unwrap_or(self.column_type.len())];
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut chars = inner.chars().peekable();
        let mut in_quote = false;
        while let Some(c) = chars.next() {
            match (c, in_quote) {
                ('\'', false) => in_quote = true,
                ('\'', true) if chars.peek() == Some(&'\'') => {
                    cur.push('\'');
                    chars.next();
                }
                ('\'', true) => {
                    in_quote = false;
                    out.push(std::mem::take(&mut cur));
                }
                ('\\', true) => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                (c, true) => cur.push(c),
                _ => {}
            }
        }
        out
    }
}

/// A COLUMN_TYPE with its keywords lower-cased and its quoted parts (ENUM and SET labels)
/// left as they are: `ENUM('G','PG-13') ` -> `enum('G','PG-13')`.
pub fn normalize_column_type(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_quote = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            // a doubled quote inside a label closes and reopens: the state stays right
            '\'' => in_quote = !in_quote,
            // an escaped character inside a label, as enum_values reads it
            '\\' if in_quote => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            _ => {}
        }
        out.push(if in_quote { c } else { c.to_ascii_lowercase() });
    }
    out.trim().to_string()
}

/// How values of a column are encoded for COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Decimal,
    Float,
    Double,
    Bit(u32),
    Date,
    DateTime,
    /// TIMESTAMP: read in UTC, written with an explicit +00
    Timestamp,
    Time,
    Text,
    Bytes,
    Json,
    /// MySQL 9's VECTOR: float32 values, little-endian, as real[]
    Vector,
}

/// A column's PostgreSQL side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    /// the PostgreSQL type, e.g. "numeric(20,0)"
    pub sql_type: String,
    pub kind: Kind,
    pub not_null: bool,
    /// a PostgreSQL default expression, if the MySQL default translates
    pub default: Option<String>,
    /// a CHECK constraint body for ENUM columns
    pub check: Option<String>,
    /// ENUM and SET labels in MySQL's order: the binlog sends indexes and bitmasks
    pub labels: Vec<String>,
    pub auto_increment: bool,
    /// part of the table's primary key (set by whoever knows the key, not by `map_column`): an
    /// update's or a delete's old row needs only these (replay finds the row by them)
    pub key: bool,
}

pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn quote_literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn unsupported(c: &MysqlColumn) -> Error {
    Error::new(crate::SqlState::FeatureNotSupported, format!("column \"{}\" has a MySQL type chameleon does not map: {}", c.name, c.column_type))
        .hint("Map it with type_overrides, e.g. type_overrides => '{\"<type>\": \"text\"}', or exclude the table.")
}

/// Whether no type override names this column or its type.
fn overrides_none(table: &str, c: &MysqlColumn, overrides: &serde_json::Value) -> bool {
    overrides.get(format!("{table}.{}", c.name)).is_none()
        && overrides.get(&c.column_type).is_none()
        && overrides.get(&c.data_type).is_none()
}

/// The PostgreSQL type of a MySQL column. `overrides` maps a COLUMN_TYPE ("tinyint(1)") or
/// a "table.column" to a PostgreSQL type name.
pub fn map_column(table: &str, c: &MysqlColumn, overrides: &serde_json::Value) -> Result<PgColumn> {
    let prec = |d: u64| c.datetime_precision.unwrap_or(d).min(6);
    let (mut sql_type, mut kind) = match c.data_type.as_str() {
        "tinyint" => ("smallint".to_string(), Kind::Int),
        "smallint" if c.unsigned() => ("integer".into(), Kind::Int),
        "smallint" => ("smallint".into(), Kind::Int),
        "mediumint" => ("integer".into(), Kind::Int),
        "int" | "integer" if c.unsigned() => ("bigint".into(), Kind::Int),
        "int" | "integer" => ("integer".into(), Kind::Int),
        "bigint" if c.unsigned() => ("numeric(20,0)".into(), Kind::Int),
        "bigint" => ("bigint".into(), Kind::Int),
        "decimal" | "numeric" => (
            format!(
                "numeric({},{})",
                c.numeric_precision.unwrap_or(10),
                c.numeric_scale.unwrap_or(0)
            ),
            Kind::Decimal,
        ),
        "float" => ("real".into(), Kind::Float),
        "double" | "real" => ("double precision".into(), Kind::Double),
        "bit" => {
            let n = c.numeric_precision.unwrap_or(1).clamp(1, 64) as u32;
            (format!("bit({n})"), Kind::Bit(n))
        }
        "year" => ("smallint".into(), Kind::Int),
        "date" => ("date".into(), Kind::Date),
        "datetime" => (format!("timestamp({})", prec(0)), Kind::DateTime),
        "timestamp" => (format!("timestamptz({})", prec(0)), Kind::Timestamp),
        "time" => ("interval".into(), Kind::Time),
        "char" | "varchar" => (
            format!("varchar({})", c.char_max_length.unwrap_or(255).max(1)),
            Kind::Text,
        ),
        "tinytext" | "text" | "mediumtext" | "longtext" if c.is_json => {
            ("jsonb".into(), Kind::Json)
        }
        "tinytext" | "text" | "mediumtext" | "longtext" => ("text".into(), Kind::Text),
        "json" => ("jsonb".into(), Kind::Json),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ("bytea".into(), Kind::Bytes)
        }
        "enum" | "set" => ("text".into(), Kind::Text),
        // MariaDB 10.7+ (INET4: 11.3+): their text is what PostgreSQL's types read
        "inet6" | "inet4" => ("inet".into(), Kind::Text),
        "uuid" => ("uuid".into(), Kind::Text),
        // MySQL 9: a list of float32 (no dimension in real[]; MySQL checks it on its side)
        "vector" => ("real[]".into(), Kind::Vector),
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => ("bytea".into(), Kind::Bytes),
        _ => return Err(unsupported(c)),
    };
    let by_column = overrides.get(format!("{table}.{}", c.name));
    let by_type = overrides
        .get(&c.column_type)
        .or_else(|| overrides.get(&c.data_type));
    if let Some(target) = by_column.or(by_type).and_then(|v| v.as_str()) {
        sql_type = target.to_string();
        if matches!(target.to_ascii_lowercase().as_str(), "boolean" | "bool") {
            kind = Kind::Bool;
        } else if matches!(kind, Kind::Bytes | Kind::Bit(_))
            && !target.eq_ignore_ascii_case("bytea")
        {
            kind = Kind::Text; // binary overridden to a text type: sent as text
        }
    }
    // a binary collation orders by code point: PostgreSQL's "C" (docs/types.md)
    if c.binary_collation
        && kind == Kind::Text
        && overrides_none(table, c, overrides)
        && !matches!(c.data_type.as_str(), "enum" | "set")
    {
        sql_type.push_str(" COLLATE \"C\"");
    }
    let labels = if matches!(c.data_type.as_str(), "enum" | "set") {
        c.enum_values()
    } else {
        Vec::new()
    };
    // (no domain where a label is unknown: it would refuse the rows that have it)
    let known = !labels.iter().any(|l| l == UNREADABLE_LABEL);
    let check = (c.data_type == "enum" && known).then(|| {
        let vals: Vec<String> = labels.iter().map(|v| quote_literal(v)).collect();
        format!("{} IN ({})", quote_ident(&c.name), vals.join(", "))
    });
    Ok(PgColumn {
        // PostgreSQL keeps 63 bytes of a name (MySQL allows 64 characters)
        name: crate::names::pg_truncated(&c.name).to_string(),
        default: translate_default(c, kind),
        sql_type,
        kind,
        not_null: !c.nullable,
        check,
        labels,
        auto_increment: c.auto_increment(),
        key: false,
    })
}

/// Translates a MySQL default to PostgreSQL, or None when there is none or it cannot be
/// carried (an expression PostgreSQL does not have): the column then has no default.
pub fn translate_default(c: &MysqlColumn, kind: Kind) -> Option<String> {
    let d = c.default.as_deref()?.trim();
    if d.eq_ignore_ascii_case("null") || c.auto_increment() {
        return None;
    }
    let lower = d.to_ascii_lowercase();
    if lower.starts_with("current_timestamp")
        || lower.starts_with("now(")
        || lower == "localtimestamp()"
    {
        return Some("CURRENT_TIMESTAMP".into());
    }
    // MySQL marks an expression default (not translated): DEFAULT_GENERATED
    if c.extra.to_ascii_lowercase().contains("default_generated") {
        return None;
    }
    // 'quoted literal' (MariaDB) or a bare value (MySQL)
    let bare_time = matches!(
        kind,
        Kind::Date | Kind::DateTime | Kind::Timestamp | Kind::Time
    ) && d.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-');
    let literal = if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
        d[1..d.len() - 1].replace("''", "'").replace("\\\\", "\\")
    } else if lower.starts_with("b'") {
        let bits = d[2..d.len().saturating_sub(1)].to_string();
        return Some(format!("B'{bits}'"));
    } else if d.parse::<f64>().is_ok() || matches!(kind, Kind::Text) || bare_time {
        d.to_string()
    } else {
        return None;
    };
    match kind {
        Kind::Date | Kind::DateTime | Kind::Timestamp if literal.starts_with("0000-00-00") => None,
        Kind::Bool => Some(if literal == "0" {
            "false".into()
        } else {
            "true".into()
        }),
        Kind::Int | Kind::Decimal | Kind::Float | Kind::Double => {
            literal.parse::<f64>().ok().map(|_| literal)
        }
        Kind::Bit(_) => literal.parse::<u64>().ok().map(|v| format!("B'{v:b}'")),
        Kind::Bytes => Some(format!(
            "'\\x{}'::bytea",
            literal
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )),
        Kind::Timestamp => Some(format!(
            "{}::timestamptz",
            quote_literal(&format!("{literal}+00"))
        )),
        _ => Some(quote_literal(&literal)),
    }
}

mod defaults;
mod encode;
pub use defaults::{as_stored, quote_mysql_default};
pub use encode::*;

#[cfg(test)]
mod tests;
