//! The MySQL -> PostgreSQL type map (docs/types.md) and the encoding of MySQL values as
//! PostgreSQL COPY text. Nothing is lost: unsigned integers widen, DECIMAL keeps its precision,
//! TIME (negative, beyond 24 h) becomes interval, binary data becomes bytea.

use std::fmt::Write as _;

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
    let labels = if matches!(c.data_type.as_str(), "enum" | "set") {
        c.enum_values()
    } else {
        Vec::new()
    };
    let check = (c.data_type == "enum").then(|| {
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
    // 'quoted literal' (MariaDB) or a bare value (MySQL)
    let literal = if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
        d[1..d.len() - 1].replace("''", "'").replace("\\\\", "\\")
    } else if lower.starts_with("b'") {
        let bits = d[2..d.len().saturating_sub(1)].to_string();
        return Some(format!("B'{bits}'"));
    } else if d.parse::<f64>().is_ok() || matches!(kind, Kind::Text) {
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

/// How a value's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// COPY text format: backslash escapes, NULL as \N
    Copy,
    /// the value's input text as is (for JSON row images); NULL is the caller's business
    None,
}

/// Appends one value to a COPY text row. Returns true when the value was a zero date that
/// was replaced (NULL if the column allows it, else -infinity; docs/types.md).
pub fn encode(out: &mut Vec<u8>, col: &PgColumn, v: &mysql::Value) -> Result<bool> {
    write_value(out, col, v, Escape::Copy)
}

/// The PostgreSQL input text of a value (None for NULL, and for a zero date in a nullable
/// column), and whether a zero date was replaced. Used for row images in the log tables.
pub fn value_text(col: &PgColumn, v: &mysql::Value) -> Result<(Option<String>, bool)> {
    let zero = is_zero_date(v);
    if matches!(v, mysql::Value::NULL) || (zero && !col.not_null) {
        return Ok((None, zero));
    }
    let mut out = Vec::new();
    write_value(&mut out, col, v, Escape::None)?;
    // text types hold UTF-8 (the session and the binlog of utf8mb4 columns); bytea is hex
    let s = String::from_utf8(out).map_err(|e| {
        Error::invalid(format!(
            "column \"{}\" holds bytes that are not UTF-8",
            col.name
        ))
        .detail(e.to_string())
    })?;
    Ok((Some(s), zero))
}

fn is_zero_date(v: &mysql::Value) -> bool {
    matches!(v, mysql::Value::Date(y, m, d, ..) if *y == 0 || *m == 0 || *d == 0)
}

fn write_value(out: &mut Vec<u8>, col: &PgColumn, v: &mysql::Value, esc: Escape) -> Result<bool> {
    use mysql::Value as V;
    match v {
        V::NULL => out.extend_from_slice(b"\\N"),
        V::Int(i) if col.kind == Kind::Bool => out.push(if *i != 0 { b't' } else { b'f' }),
        V::Int(i) => {
            let _ = write!(Buf(out), "{i}");
        }
        V::UInt(u) if col.kind == Kind::Bool => out.push(if *u != 0 { b't' } else { b'f' }),
        V::UInt(u) => {
            let _ = write!(Buf(out), "{u}");
        }
        V::Float(f) => {
            let _ = write!(Buf(out), "{f}");
        }
        V::Double(d) => {
            let _ = write!(Buf(out), "{d}");
        }
        V::Bytes(b) => match col.kind {
            Kind::Bytes => {
                out.extend_from_slice(if esc == Escape::Copy {
                    b"\\\\x"
                } else {
                    b"\\x"
                });
                for byte in b {
                    let _ = write!(Buf(out), "{byte:02x}");
                }
            }
            Kind::Bit(n) => {
                let mut bits: u64 = 0;
                for byte in b {
                    bits = (bits << 8) | u64::from(*byte);
                }
                for i in (0..n).rev() {
                    out.push(if bits >> i & 1 == 1 { b'1' } else { b'0' });
                }
            }
            Kind::Bool => out.push(if b.iter().any(|c| *c != b'0') {
                b't'
            } else {
                b'f'
            }),
            _ if esc == Escape::Copy => escape_text(out, b),
            // NUL cannot be stored in PostgreSQL text (nor jsonb): dropped, as in the copy
            _ => out.extend(b.iter().copied().filter(|c| *c != 0)),
        },
        V::Date(y, m, d, h, mi, s, us) => {
            if *y == 0 || *m == 0 || *d == 0 {
                out.extend_from_slice(if col.not_null { b"-infinity" } else { b"\\N" });
                return Ok(true);
            }
            let _ = write!(Buf(out), "{y:04}-{m:02}-{d:02}");
            if col.kind != Kind::Date {
                let _ = write!(Buf(out), " {h:02}:{mi:02}:{s:02}.{us:06}");
                if col.kind == Kind::Timestamp {
                    out.extend_from_slice(b"+00");
                }
            }
        }
        V::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let _ = write!(
                Buf(out),
                "{}{hours}:{mi:02}:{s:02}.{us:06}",
                if *neg { "-" } else { "" }
            );
        }
    }
    Ok(false)
}

/// The encoding of a MySQL character set, None for UTF-8 (and what is taken as it).
fn encoding_of(charset: Option<&str>) -> Option<&'static encoding_rs::Encoding> {
    let label = match charset.unwrap_or("utf8mb4") {
        "utf8mb4" | "utf8" | "utf8mb3" | "ascii" | "binary" => None,
        // MySQL's latin1 is Windows-1252 (with 0x81, 0x8D, 0x8F, 0x90, 0x9D passed through)
        "latin1" => Some("windows-1252"),
        "latin2" => Some("iso-8859-2"),
        "latin5" => Some("windows-1254"),
        "latin7" => Some("iso-8859-13"),
        "greek" => Some("iso-8859-7"),
        "hebrew" => Some("iso-8859-8"),
        "cp1250" => Some("windows-1250"),
        "cp1251" => Some("windows-1251"),
        "cp1256" => Some("windows-1256"),
        "cp1257" => Some("windows-1257"),
        "cp866" => Some("ibm866"),
        "koi8r" => Some("koi8-r"),
        "koi8u" => Some("koi8-u"),
        "macroman" => Some("macintosh"),
        "sjis" | "cp932" => Some("shift_jis"),
        "ujis" | "eucjpms" => Some("euc-jp"),
        "euckr" => Some("euc-kr"),
        "gb2312" | "gbk" => Some("gbk"),
        "gb18030" => Some("gb18030"),
        "big5" => Some("big5"),
        "ucs2" | "utf16" => Some("utf-16be"),
        "utf16le" => Some("utf-16le"),
        _ => None,
    };
    label.and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
}

/// Text in a MySQL character set as UTF-8 (PostgreSQL's). The binlog carries a column's text in
/// the column's own character set; the copy asks MySQL for UTF-8. Bytes that are not valid in
/// the character set become U+FFFD (docs/types.md).
pub fn text_to_utf8(charset: Option<&str>, b: Vec<u8>) -> Vec<u8> {
    text_to_utf8_checked(charset, b).0
}

/// `text_to_utf8`, and whether bytes were replaced.
fn text_to_utf8_checked(charset: Option<&str>, b: Vec<u8>) -> (Vec<u8>, bool) {
    match encoding_of(charset) {
        Some(enc) => {
            let (text, replaced) = enc.decode_without_bom_handling(&b);
            (text.into_owned().into_bytes(), replaced)
        }
        None if std::str::from_utf8(&b).is_ok() => (b, false),
        None => (String::from_utf8_lossy(&b).into_owned().into_bytes(), true),
    }
}

/// MySQL's text types (their values are text in the column's character set).
pub fn is_text_type(data_type: &str) -> bool {
    matches!(
        data_type,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext"
    )
}

/// `from_binlog`, and whether the value changes on its way to PostgreSQL beyond its form: a
/// text with a NUL (removed on output) or with bytes invalid in its character set (replaced).
/// Zero dates are reported by `value_text`.
pub fn from_binlog_changed(
    c: &MysqlColumn,
    labels: &[String],
    v: mysql::Value,
) -> (mysql::Value, bool) {
    match v {
        mysql::Value::Bytes(b) if is_text_type(&c.data_type) => {
            let nul = b.contains(&0);
            let (text, replaced) = text_to_utf8_checked(c.charset.as_deref(), b);
            (mysql::Value::Bytes(text), nul || replaced)
        }
        v => (from_binlog(c, labels, v), false),
    }
}

/// Brings a value decoded from the binlog to the form MySQL's binary protocol gives for the
/// same column, so that one encoder serves both the copy and replication:
/// TIMESTAMP arrives as epoch seconds ("1700000000.5"), YEAR as text, ENUM as its 1-based
/// index, SET as a bitmask (`labels`: the column's, from [`PgColumn::labels`], parsed once),
/// text in UTF-8.
pub fn from_binlog(c: &MysqlColumn, labels: &[String], v: mysql::Value) -> mysql::Value {
    use mysql::Value as V;
    match (c.data_type.as_str(), v) {
        (t, V::Bytes(b)) if is_text_type(t) => V::Bytes(text_to_utf8(c.charset.as_deref(), b)),
        ("timestamp", V::Bytes(b)) => {
            let text = String::from_utf8_lossy(&b);
            let (secs, frac) = text.split_once('.').unwrap_or((&text, ""));
            let secs: i64 = secs.parse().unwrap_or(0);
            let micros: u32 = format!("{frac:0<6}")[..6].parse().unwrap_or(0);
            if secs == 0 && micros == 0 {
                return V::Date(0, 0, 0, 0, 0, 0, 0); // MySQL's zero timestamp
            }
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let t = secs.rem_euclid(86_400);
            V::Date(
                y as u16,
                m as u8,
                d as u8,
                (t / 3600) as u8,
                (t / 60 % 60) as u8,
                (t % 60) as u8,
                micros,
            )
        }
        ("year", V::Bytes(b)) => V::Int(String::from_utf8_lossy(&b).parse().unwrap_or(0)),
        ("enum", V::Int(i)) => {
            // 0 is MySQL's "invalid value" entry: the empty string
            V::Bytes(
                usize::try_from(i)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| labels.get(i))
                    .cloned()
                    .unwrap_or_default()
                    .into_bytes(),
            )
        }
        ("set", V::Bytes(mask)) => {
            let chosen: Vec<&str> = labels
                .iter()
                .enumerate()
                .filter(|(i, _)| mask.get(i / 8).is_some_and(|byte| byte >> (i % 8) & 1 == 1))
                .map(|(_, l)| l.as_str())
                .collect();
            V::Bytes(chosen.join(",").into_bytes())
        }
        (_, v) => v,
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// COPY text escaping. NUL cannot be stored in PostgreSQL text: it is dropped (docs/types.md).
pub fn escape_text(out: &mut Vec<u8>, b: &[u8]) {
    for &c in b {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0 => {}
            c => out.push(c),
        }
    }
}

struct Buf<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql::Value as V;
    use serde_json::json;

    #[test]
    fn binlog_text_in_other_character_sets_becomes_utf8() {
        let latin1 = MysqlColumn {
            data_type: "varchar".into(),
            charset: Some("latin1".into()),
            ..Default::default()
        };
        // é, €, ÿ in latin1 (Windows-1252)
        assert_eq!(
            from_binlog(&latin1, &[], V::Bytes(vec![0xE9, 0x80, 0xFF])),
            V::Bytes("é€ÿ".as_bytes().to_vec())
        );
        let cp1251 = MysqlColumn {
            data_type: "text".into(),
            charset: Some("cp1251".into()),
            ..Default::default()
        };
        assert_eq!(
            from_binlog(&cp1251, &[], V::Bytes(vec![0xC4, 0xE0])),
            V::Bytes("Да".as_bytes().to_vec())
        );
        // invalid UTF-8 in a utf8mb4 column (MySQL does not let it in): replaced, not fatal
        let utf8 = MysqlColumn {
            data_type: "varchar".into(),
            charset: Some("utf8mb4".into()),
            ..Default::default()
        };
        assert_eq!(
            from_binlog(&utf8, &[], V::Bytes(vec![b'a', 0xFF])),
            V::Bytes("a\u{FFFD}".as_bytes().to_vec())
        );
        assert_eq!(
            from_binlog(&utf8, &[], V::Bytes("ok 🦎".as_bytes().to_vec())),
            V::Bytes("ok 🦎".as_bytes().to_vec())
        );
    }

    fn col(data_type: &str, column_type: &str) -> MysqlColumn {
        MysqlColumn {
            name: "c".into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            nullable: true,
            ..Default::default()
        }
    }
    fn ty(data_type: &str, column_type: &str) -> String {
        map_column("t", &col(data_type, column_type), &json!({}))
            .unwrap()
            .sql_type
    }
    fn enc(c: &PgColumn, v: V) -> String {
        let mut out = Vec::new();
        encode(&mut out, c, &v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers_widen_when_unsigned() {
        assert_eq!(ty("tinyint", "tinyint(4)"), "smallint");
        assert_eq!(ty("tinyint", "tinyint(3) unsigned"), "smallint");
        assert_eq!(ty("smallint", "smallint(5) unsigned"), "integer");
        assert_eq!(ty("mediumint", "mediumint(8) unsigned"), "integer");
        assert_eq!(ty("int", "int(11)"), "integer");
        assert_eq!(ty("int", "int(10) unsigned"), "bigint");
        assert_eq!(ty("bigint", "bigint(20)"), "bigint");
        assert_eq!(ty("bigint", "bigint(20) unsigned"), "numeric(20,0)");
        assert_eq!(ty("year", "year(4)"), "smallint");
    }

    #[test]
    fn other_types() {
        let mut d = col("decimal", "decimal(65,30)");
        d.numeric_precision = Some(65);
        d.numeric_scale = Some(30);
        assert_eq!(
            map_column("t", &d, &json!({})).unwrap().sql_type,
            "numeric(65,30)"
        );
        let mut b = col("bit", "bit(64)");
        b.numeric_precision = Some(64);
        assert_eq!(map_column("t", &b, &json!({})).unwrap().sql_type, "bit(64)");
        let mut dt = col("datetime", "datetime(6)");
        dt.datetime_precision = Some(6);
        assert_eq!(
            map_column("t", &dt, &json!({})).unwrap().sql_type,
            "timestamp(6)"
        );
        assert_eq!(ty("timestamp", "timestamp"), "timestamptz(0)");
        assert_eq!(ty("time", "time(3)"), "interval");
        assert_eq!(ty("float", "float"), "real");
        assert_eq!(ty("double", "double"), "double precision");
        let mut v = col("varchar", "varchar(20)");
        v.char_max_length = Some(20);
        assert_eq!(
            map_column("t", &v, &json!({})).unwrap().sql_type,
            "varchar(20)"
        );
        assert_eq!(ty("longblob", "longblob"), "bytea");
        assert_eq!(ty("json", "json"), "jsonb");
        let mut j = col("longtext", "longtext");
        j.is_json = true;
        assert_eq!(map_column("t", &j, &json!({})).unwrap().sql_type, "jsonb");
        assert_eq!(ty("point", "point"), "bytea");
        assert!(map_column("t", &col("vector", "vector(3)"), &json!({}))
            .unwrap_err()
            .hint
            .is_some());
    }

    #[test]
    fn enums_become_checked_text() {
        let c = col("enum", "enum('new','it''s','a,b')");
        assert_eq!(c.enum_values(), vec!["new", "it's", "a,b"]);
        let p = map_column("t", &c, &json!({})).unwrap();
        assert_eq!(p.sql_type, "text");
        assert_eq!(p.check.as_deref(), Some("\"c\" IN ('new', 'it''s', 'a,b')"));
    }

    #[test]
    fn labels_keep_their_case() {
        let raw = "ENUM('G','PG-13','It''s','a\\'B','unsigned')";
        let c = col("enum", &normalize_column_type(raw));
        assert_eq!(c.column_type, "enum('G','PG-13','It''s','a\\'B','unsigned')");
        assert_eq!(c.enum_values(), vec!["G", "PG-13", "It's", "a'B", "unsigned"]);
        assert!(!c.unsigned(), "a label is not an attribute");
        assert_eq!(normalize_column_type("INT(10) UNSIGNED"), "int(10) unsigned");
        assert!(col("int", "int unsigned").unsigned());
        let p = map_column("t", &c, &json!({})).unwrap();
        assert_eq!(p.labels, vec!["G", "PG-13", "It's", "a'B", "unsigned"]);
        assert_eq!(
            from_binlog(&c, &p.labels, V::Int(2)),
            V::Bytes(b"PG-13".to_vec())
        );
        let st = col("set", &normalize_column_type("SET('Trailers','Behind the Scenes')"));
        assert_eq!(
            from_binlog(&st, &st.enum_values(), V::Bytes(vec![0b11])),
            V::Bytes(b"Trailers,Behind the Scenes".to_vec())
        );
    }

    #[test]
    fn overrides_by_type_and_by_column() {
        let c = col("tinyint", "tinyint(1)");
        let p = map_column("t", &c, &json!({"tinyint(1)": "boolean"})).unwrap();
        assert_eq!((p.sql_type.as_str(), p.kind), ("boolean", Kind::Bool));
        assert_eq!(enc(&p, V::Int(1)), "t");
        assert_eq!(enc(&p, V::Int(0)), "f");
        let p = map_column(
            "film",
            &c,
            &json!({"tinyint(1)": "boolean", "film.c": "integer"}),
        )
        .unwrap();
        assert_eq!(
            p.sql_type, "integer",
            "a column override wins over a type override"
        );
    }

    #[test]
    fn defaults() {
        let mut c = col("varchar", "varchar(10)");
        c.default = Some("'it''s'".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default.as_deref(),
            Some("'it''s'")
        );
        let mut c = col("int", "int(11)");
        c.default = Some("42".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default.as_deref(),
            Some("42")
        );
        let mut c = col("datetime", "datetime");
        c.default = Some("current_timestamp()".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default.as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        c.default = Some("'0000-00-00 00:00:00'".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default,
            None,
            "a zero date default is dropped"
        );
        let mut c = col("bit", "bit(3)");
        c.default = Some("b'101'".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default.as_deref(),
            Some("B'101'")
        );
        let mut c = col("int", "int(11)");
        c.default = Some("(1 + rand())".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default,
            None,
            "expressions are not carried"
        );
        let mut c = col("timestamp", "timestamp");
        c.default = Some("'2020-01-01 00:00:00'".into());
        assert_eq!(
            map_column("t", &c, &json!({})).unwrap().default.as_deref(),
            Some("'2020-01-01 00:00:00+00'::timestamptz")
        );
    }

    #[test]
    fn encoding_edges() {
        let int = map_column("t", &col("bigint", "bigint(20) unsigned"), &json!({})).unwrap();
        assert_eq!(enc(&int, V::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(enc(&int, V::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(enc(&int, V::NULL), "\\N");
        let f = map_column("t", &col("float", "float"), &json!({})).unwrap();
        assert_eq!(
            enc(&f, V::Float(3.4028235e38)).parse::<f32>().unwrap(),
            3.4028235e38
        );
        assert_eq!(
            enc(&f, V::Float(-1.1754944e-38)).parse::<f32>().unwrap(),
            -1.1754944e-38
        );
        let d = map_column("t", &col("double", "double"), &json!({})).unwrap();
        assert_eq!(
            enc(&d, V::Double(0.1 + 0.2)).parse::<f64>().unwrap(),
            0.1 + 0.2
        );
        let text = map_column("t", &col("text", "text"), &json!({})).unwrap();
        assert_eq!(
            enc(&text, V::Bytes("a\\b\tc\nd\re🦎\0".as_bytes().to_vec())),
            "a\\\\b\\tc\\nd\\re🦎"
        );
        let blob = map_column("t", &col("blob", "blob"), &json!({})).unwrap();
        assert_eq!(enc(&blob, V::Bytes(vec![0, 255, 10])), "\\\\x00ff0a");
        let mut b = col("bit", "bit(10)");
        b.numeric_precision = Some(10);
        let bit = map_column("t", &b, &json!({})).unwrap();
        assert_eq!(enc(&bit, V::Bytes(vec![0b10, 0b0000_0101])), "1000000101");
    }

    #[test]
    fn binlog_values_meet_the_copy_encoding() {
        let ts = map_column("t", &col("timestamp", "timestamp(6)"), &json!({})).unwrap();
        let c = col("timestamp", "timestamp(6)");
        let v = from_binlog(&c, &[], V::Bytes(b"2147483647.999999".to_vec()));
        assert_eq!(enc(&ts, v), "2038-01-19 03:14:07.999999+00");
        assert_eq!(
            enc(&ts, from_binlog(&c, &[], V::Bytes(b"1".to_vec()))),
            "1970-01-01 00:00:01.000000+00"
        );
        assert_eq!(
            enc(&ts, from_binlog(&c, &[], V::Bytes(b"951782400.5".to_vec()))),
            "2000-02-29 00:00:00.500000+00"
        );
        assert_eq!(
            enc(&ts, from_binlog(&c, &[], V::Bytes(b"0".to_vec()))),
            "\\N",
            "the zero timestamp"
        );
        let e = col("enum", "enum('a','b','c d')");
        assert_eq!(
            from_binlog(&e, &e.enum_values(), V::Int(3)),
            V::Bytes(b"c d".to_vec())
        );
        assert_eq!(
            from_binlog(&e, &e.enum_values(), V::Int(0)),
            V::Bytes(vec![])
        );
        let st = col("set", "set('x','y','z')");
        assert_eq!(
            from_binlog(&st, &st.enum_values(), V::Bytes(vec![0b101])),
            V::Bytes(b"x,z".to_vec())
        );
        assert_eq!(
            from_binlog(&st, &st.enum_values(), V::Bytes(vec![0])),
            V::Bytes(vec![])
        );
        assert_eq!(
            from_binlog(&col("year", "year(4)"), &[], V::Bytes(b"2155".to_vec())),
            V::Int(2155)
        );
        assert_eq!(
            from_binlog(&col("int", "int(11)"), &[], V::Int(7)),
            V::Int(7)
        );
    }

    #[test]
    fn value_text_for_row_images() {
        let blob = map_column("t", &col("blob", "blob"), &json!({})).unwrap();
        assert_eq!(
            value_text(&blob, &V::Bytes(vec![0, 255])).unwrap(),
            (Some("\\x00ff".to_string()), false)
        );
        let text = map_column("t", &col("text", "text"), &json!({})).unwrap();
        assert_eq!(
            value_text(&text, &V::Bytes(b"a\tb\\c\0".to_vec()))
                .unwrap()
                .0
                .as_deref(),
            Some("a\tb\\c")
        );
        assert_eq!(value_text(&text, &V::NULL).unwrap(), (None, false));
        assert!(
            value_text(&text, &V::Bytes(vec![0xff, 0xfe])).is_err(),
            "not UTF-8: an error, not a guess"
        );
        let date = map_column("t", &col("date", "date"), &json!({})).unwrap();
        assert_eq!(
            value_text(&date, &V::Date(0, 0, 0, 0, 0, 0, 0)).unwrap(),
            (None, true)
        );
    }

    #[test]
    fn dates_times_and_zero_dates() {
        let mut c = col("datetime", "datetime(6)");
        c.datetime_precision = Some(6);
        let dt = map_column("t", &c, &json!({})).unwrap();
        assert_eq!(
            enc(&dt, V::Date(2038, 1, 19, 3, 14, 7, 999_999)),
            "2038-01-19 03:14:07.999999"
        );
        let ts = map_column("t", &col("timestamp", "timestamp(6)"), &json!({})).unwrap();
        assert_eq!(
            enc(&ts, V::Date(1970, 1, 1, 0, 0, 1, 0)),
            "1970-01-01 00:00:01.000000+00"
        );
        let date = map_column("t", &col("date", "date"), &json!({})).unwrap();
        assert_eq!(enc(&date, V::Date(9999, 12, 31, 0, 0, 0, 0)), "9999-12-31");
        // zero dates: NULL where allowed, -infinity where not; reported
        let mut out = Vec::new();
        assert!(encode(&mut out, &date, &V::Date(0, 0, 0, 0, 0, 0, 0)).unwrap());
        assert_eq!(out, b"\\N");
        let mut nn = col("date", "date");
        nn.nullable = false;
        let date_nn = map_column("t", &nn, &json!({})).unwrap();
        assert_eq!(enc(&date_nn, V::Date(2020, 0, 1, 0, 0, 0, 0)), "-infinity");
        let time = map_column("t", &col("time", "time(6)"), &json!({})).unwrap();
        assert_eq!(
            enc(&time, V::Time(true, 34, 22, 59, 59, 0)),
            "-838:59:59.000000"
        );
        assert_eq!(
            enc(&time, V::Time(false, 1, 1, 2, 3, 500_000)),
            "25:02:03.500000"
        );
    }
}
