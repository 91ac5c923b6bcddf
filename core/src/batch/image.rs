//! A row image as replay and the log tables pass it to PostgreSQL: the text of a JSON object
//! {"column": "input text", …}, written once as the row is decoded (no map of column names per
//! row, no second serialization), with the row's key beside it for replay's grouping.

use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::types::json_escape_into;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    json: String,
    key: Key,
}

impl Default for Image {
    /// JSON's null (a log row without an image)
    fn default() -> Self {
        Image { json: "null".into(), key: Key::Whole }
    }
}

/// Where an image's key is: the key columns' values as JSON texts, comma-separated (JSON
/// values delimit themselves, so no two keys share a text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Key {
    /// no key columns: the whole image identifies the row
    #[default]
    Whole,
    /// a one-column key: its value's text inside the image
    Inside(u32, u32),
    Own(Box<str>),
}

impl Image {
    /// The image's JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The row key as text; the whole image when its table has no key.
    pub fn key(&self) -> &str {
        match &self.key {
            Key::Whole => &self.json,
            Key::Inside(from, to) => &self.json[*from as usize..*to as usize],
            Key::Own(k) => k,
        }
    }

    /// What it takes in memory, roughly.
    pub fn bytes(&self) -> usize {
        let key = match &self.key {
            Key::Own(k) => k.len(),
            _ => 0,
        };
        48 + self.json.len() + key
    }

    /// A JSON document as an image (a schema change's event data): no key.
    pub fn document(doc: &Json) -> Image {
        Image { json: doc.to_string(), key: Key::Whole }
    }

    /// An image read back from a log table; `key` names its table's key columns.
    pub fn from_json(image: &Json, key: &[String]) -> Image {
        let json = image.to_string();
        if key.is_empty() {
            return Image { json, key: Key::Whole };
        }
        let mut text = String::new();
        for (i, column) in key.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            if let Some(v) = image.get(column) {
                // (a JSON value's Display is its JSON text)
                let _ = write!(text, "{v}");
            }
        }
        Image { json, key: Key::Own(text.into()) }
    }

    /// The image parsed (tests, and the rare row that has to be looked at).
    pub fn to_json(&self) -> Json {
        serde_json::from_str(&self.json).unwrap_or(Json::Null)
    }

    /// The image with more columns, each value written as JSON by `write` straight into the
    /// text (a log row's image with its big values put back: no copy of a value on the way).
    pub fn with_columns<T>(&self, columns: &[(&str, T)], write: impl Fn(&mut Vec<u8>, &T)) -> String {
        if columns.is_empty() {
            return self.json.clone();
        }
        let mut out = Vec::with_capacity(self.json.len() + 16 * columns.len());
        // (one brace: a last column's document ends with its own)
        out.extend_from_slice(self.json.strip_suffix('}').unwrap_or(&self.json).as_bytes());
        for (column, value) in columns {
            if out.len() > 1 {
                out.push(b',');
            }
            out.push(b'"');
            json_escape_into(&mut out, column.as_bytes());
            out.extend_from_slice(b"\":");
            write(&mut out, value);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Writes an image: `begin`, then per column `name` and `value`, then `finish`. One buffer
/// serves every image (each image is one allocation of its exact size).
#[derive(Debug, Default)]
pub struct ImageWriter {
    buf: Vec<u8>,
    /// where the key columns' values are in `buf`
    keys: Vec<(usize, usize)>,
}

impl ImageWriter {
    pub fn begin(&mut self) {
        self.buf.clear();
        self.buf.push(b'{');
        self.keys.clear();
    }

    /// Starts a column; its value is written into the buffer `name` returns.
    pub fn name(&mut self, name: &str) -> &mut Vec<u8> {
        if self.buf.len() > 1 {
            self.buf.push(b',');
        }
        self.buf.push(b'"');
        json_escape_into(&mut self.buf, name.as_bytes());
        self.buf.extend_from_slice(b"\":");
        &mut self.buf
    }

    /// The value just written from `from` (the buffer's length after `name`) is part of the key.
    pub fn key_value(&mut self, from: usize) {
        self.keys.push((from, self.buf.len()));
    }

    /// The image written since `begin`. Its values are checked UTF-8 as they are written.
    pub fn finish(&mut self) -> Image {
        self.buf.push(b'}');
        let key = match self.keys[..] {
            [] => Key::Whole,
            [(from, to)] => Key::Inside(from as u32, to as u32),
            ref values => {
                let joined: Vec<&[u8]> = values.iter().map(|&(from, to)| &self.buf[from..to]).collect();
                Key::Own(text(&joined.join(&b","[..])).into())
            }
        };
        Image { json: text(&self.buf), key }
    }
}

/// Written bytes as text (never lossy: every value was checked as it was written; the lossy
/// conversion, much slower than the check, is only a fallback).
fn text(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes).into_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(columns: &[(&str, &str, bool)]) -> Image {
        let mut w = ImageWriter::default();
        w.begin();
        for (name, value, key) in columns {
            let b = w.name(name);
            let from = b.len();
            b.push(b'"');
            json_escape_into(b, value.as_bytes());
            b.push(b'"');
            if *key {
                w.key_value(from);
            }
        }
        w.finish()
    }

    #[test]
    fn an_image_is_its_json_text_and_its_key() {
        let one = write(&[("id", "7", true), ("note", "a \"b\"\n\\", false)]);
        assert_eq!(one.to_json(), json!({"id": "7", "note": "a \"b\"\n\\"}));
        assert_eq!(one.key(), "\"7\"");
        let two = write(&[("a", "1,2", true), ("b", "3", true), ("c", "x", false)]);
        assert_eq!(two.key(), "\"1,2\",\"3\"");
        assert_ne!(two.key(), write(&[("a", "1", true), ("b", "2,3", true)]).key(), "keys do not run into each other");
        let keyless = write(&[("a", "1", false)]);
        assert_eq!(keyless.key(), keyless.json());
        // read back from a log table, the same key
        assert_eq!(Image::from_json(&two.to_json(), &["a".into(), "b".into()]).key(), two.key());
        assert_eq!(Image::from_json(&one.to_json(), &["id".into()]).key(), one.key());
    }

    /// A value that is its JSON text already.
    fn raw<const N: usize>(out: &mut Vec<u8>, v: &&[u8; N]) {
        out.extend_from_slice(&v[..]);
    }

    #[test]
    fn columns_are_added_as_json_texts() {
        let one = write(&[("id", "7", true)]);
        assert_eq!(
            serde_json::from_str::<Json>(&one.with_columns(&[("b\"", b"\"\\\\x00\"")], raw)).unwrap(),
            json!({"id": "7", "b\"": "\\x00"})
        );
        // a last column whose document ends with braces of its own
        let nested = Image::from_json(&json!({"id": "7", "zdoc": {"a": {}}}), &[]);
        assert!(nested.json().ends_with("}}}"), "{}", nested.json());
        assert_eq!(
            serde_json::from_str::<Json>(&nested.with_columns(&[("b", b"null")], raw)).unwrap(),
            json!({"id": "7", "zdoc": {"a": {}}, "b": null})
        );
        let empty = write(&[]);
        assert_eq!(empty.with_columns(&[("b", b"null")], raw), r#"{"b":null}"#);
    }
}
