//! MySQL values as PostgreSQL input: COPY text for the copy and row images, and the values the
//! binlog sends (indexes, bitmasks, text in its column's character set) made what the copy
//! reads from a SELECT.

use std::fmt::Write as _;

use super::{Kind, MysqlColumn, PgColumn};
use crate::error::{Error, Result};

/// How a value's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// COPY text format: backslash escapes, NULL as \N
    Copy,
    /// the value's input text as is; NULL is the caller's business
    None,
    /// the value's input text inside a JSON string (row images): JSON escapes, text checked
    /// to be UTF-8; NULL is the caller's business
    Json,
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

/// Appends one value to a JSON row image: a JSON string holding its input text, a jsonb
/// column's document as it is, or null (NULL, and a zero date in a nullable column). Returns
/// whether a zero date was replaced.
pub fn write_json(out: &mut Vec<u8>, col: &PgColumn, v: &mysql::Value) -> Result<bool> {
    let zero = is_zero_date(v);
    if matches!(v, mysql::Value::NULL) || (zero && !col.not_null) {
        out.extend_from_slice(b"null");
        return Ok(zero);
    }
    if let (Kind::Json, mysql::Value::Bytes(doc)) = (col.kind, v) {
        // the document itself, not a string holding it; checked, as it goes into the image
        // unparsed
        serde_json::from_slice::<serde::de::IgnoredAny>(doc).map_err(|e| {
            Error::invalid(format!("column \"{}\" is not a JSON document", col.name)).detail(e.to_string())
        })?;
        out.extend_from_slice(doc);
        return Ok(false);
    }
    out.push(b'"');
    let zero = write_value(out, col, v, Escape::Json)?;
    out.push(b'"');
    Ok(zero)
}

/// Appends `text` as the inside of a JSON string (quotes, backslashes and control characters
/// escaped); NUL, which PostgreSQL's text cannot hold, is dropped as in the copy.
pub fn json_escape_into(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut from = 0;
    for (i, &c) in text.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        out.extend_from_slice(&text[from..i]);
        from = i + 1;
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0 => {}
            c => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]),
        }
    }
    out.extend_from_slice(&text[from..]);
}

/// Appends `bytes` as lower-case hex digits (a table, not a formatter per byte: bytea values
/// run to hundreds of MB).
pub fn hex_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
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
                // (COPY and JSON both escape the backslash)
                out.extend_from_slice(if esc == Escape::None { b"\\x" } else { b"\\\\x" });
                hex_into(out, b);
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
            Kind::Vector => write_vector(out, col, b)?,
            Kind::Bool => out.push(if b.iter().any(|c| *c != b'0') {
                b't'
            } else {
                b'f'
            }),
            _ if esc == Escape::Copy => escape_text(out, b),
            _ if esc == Escape::Json => {
                std::str::from_utf8(b).map_err(|e| {
                    Error::invalid(format!("column \"{}\" holds bytes that are not UTF-8", col.name)).detail(e.to_string())
                })?;
                json_escape_into(out, b);
            }
            // NUL cannot be stored in PostgreSQL text (nor jsonb): dropped, as in the copy
            _ if !b.contains(&0) => out.extend_from_slice(b),
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

/// A VECTOR's bytes (float32, little-endian) as an array literal: `{1,-2.5}`. Rust prints the
/// shortest text that reads back as the same float32.
fn write_vector(out: &mut Vec<u8>, col: &PgColumn, b: &[u8]) -> Result<()> {
    if !b.len().is_multiple_of(4) {
        return Err(Error::invalid(format!(
            "column \"{}\": a VECTOR value of {} bytes (not a whole number of float32)",
            col.name,
            b.len()
        )));
    }
    out.push(b'{');
    for (i, chunk) in b.chunks_exact(4).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let f = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if f.is_nan() {
            out.extend_from_slice(b"NaN");
        } else if f.is_infinite() {
            out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
        } else {
            let _ = write!(Buf(out), "{f}");
        }
    }
    out.push(b'}');
    Ok(())
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
        // MariaDB's INET6, INET4 and UUID travel in the binlog as their 16 or 4 bytes
        // (network order; a UUID in its canonical order): their text, as a SELECT shows it
        ("inet6", V::Bytes(b)) if b.len() == 16 => {
            let a: [u8; 16] = b.as_slice().try_into().unwrap_or([0; 16]);
            V::Bytes(std::net::Ipv6Addr::from(a).to_string().into_bytes())
        }
        ("inet4", V::Bytes(b)) if b.len() == 4 => {
            let a: [u8; 4] = b.as_slice().try_into().unwrap_or([0; 4]);
            V::Bytes(std::net::Ipv4Addr::from(a).to_string().into_bytes())
        }
        ("uuid", V::Bytes(b)) if b.len() == 16 => {
            let a: [u8; 16] = b.as_slice().try_into().unwrap_or([0; 16]);
            V::Bytes(uuid_text(&a).into_bytes())
        }
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

/// A UUID as text (8-4-4-4-12 lower-case hex digits), from its 16 bytes in canonical order.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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
