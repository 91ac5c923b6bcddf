//! MySQL's binary JSON (the binlog's form of a JSON column) as JSON text, written as MySQL
//! writes the same document when the copy SELECTs it: integers and decimals exactly, doubles
//! shortest round-trip, dates and times as strings (`2024-01-02`, `2024-01-02 03:04:05.000000`),
//! other opaque values as `"base64:typeN:…"`. mysql_common decodes the binary form
//! (`binlog::jsonb`); its own conversion to serde_json turns decimals into strings, so the text
//! is written here.

use std::fmt::Write as _;

use mysql::binlog::jsonb::{JsonContainer, JsonDom, JsonNumber, JsonScalar};

use crate::error::{Error, Result, SqlState};

/// The JSON text of a binary JSON value.
pub fn to_text(v: mysql::binlog::jsonb::Value<'_>) -> Result<String> {
    let dom = v.parse().map_err(|e| {
        Error::new(
            SqlState::InvalidBinaryRepresentation,
            "a binary JSON value cannot be decoded",
        )
        .detail(e.to_string())
    })?;
    let mut out = String::new();
    write_dom(&mut out, &dom);
    Ok(out)
}

fn write_str(out: &mut String, s: &str) {
    // serde_json escapes as JSON requires; a string always serializes
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

fn write_dom(out: &mut String, dom: &JsonDom) {
    match dom {
        JsonDom::Container(JsonContainer::Array(items)) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_dom(out, item);
            }
            out.push(']');
        }
        JsonDom::Container(JsonContainer::Object(members)) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_dom(out, v);
            }
            out.push('}');
        }
        JsonDom::Scalar(s) => write_scalar(out, s),
    }
}

fn write_scalar(out: &mut String, s: &JsonScalar) {
    match s {
        JsonScalar::Null => out.push_str("null"),
        JsonScalar::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonScalar::String(s) => write_str(out, s),
        JsonScalar::Number(JsonNumber::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        JsonScalar::Number(JsonNumber::Uint(u)) => {
            let _ = write!(out, "{u}");
        }
        JsonScalar::Number(JsonNumber::Decimal(d)) => {
            let _ = write!(out, "{d}");
        }
        JsonScalar::Number(JsonNumber::Double(f)) if f.is_finite() => {
            // MySQL writes the shortest text that reads back as the same double
            let text = format!("{f:?}");
            out.push_str(&text);
        }
        // JSON has no infinities; MySQL cannot store them in a JSON value either
        JsonScalar::Number(JsonNumber::Double(_)) => out.push_str("null"),
        JsonScalar::DateTime(t) => write_str(out, &format!("{t:.6}")),
        JsonScalar::Opaque(o) => write_str(out, &o.to_string()),
    }
}
