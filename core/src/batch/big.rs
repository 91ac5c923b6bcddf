//! Values too big to travel inside a JSON image. A binary or text value above `BIG_VALUE_BYTES`
//! leaves its row image (the image does not carry the column) and goes with the event as it
//! is — bytes or UTF-8 text, never hex inside jsonb, whose strings stop at 256 MB — to be passed
//! to its statement as a parameter of its own (`replay::own_statement`). The log tables' path
//! (two-step replay, paused replay, older catalogues) puts them back into the image as text.

use super::Image;
use crate::types::{hex_into, json_escape_into};

/// Above this many bytes a binary or text value travels beside its image (as hex in JSON, a
/// value this size already costs more to encode, escape, parse and decode than a statement of
/// its own).
pub const BIG_VALUE_BYTES: usize = 256 << 10;

#[derive(Debug, Clone, PartialEq)]
pub enum BigValue {
    /// for a bytea column
    Bytes(Vec<u8>),
    /// for a text column (UTF-8, NUL removed)
    Text(String),
}

impl BigValue {
    pub fn len(&self) -> usize {
        match self {
            BigValue::Bytes(b) => b.len(),
            BigValue::Text(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends it as an image holds it: a JSON string of PostgreSQL's input text (bytea as hex).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(8 + 2 * self.len());
        out.push(b'"');
        match self {
            BigValue::Bytes(b) => {
                out.extend_from_slice(b"\\\\x");
                hex_into(out, b);
            }
            BigValue::Text(t) => json_escape_into(out, t.as_bytes()),
        }
        out.push(b'"');
    }
}

/// The big values of one event's images, by PostgreSQL column name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BigValues {
    /// of the row after the change (insert, update) or before it (delete)
    pub data: Vec<(String, BigValue)>,
    /// of an update's before image
    pub identity: Vec<(String, BigValue)>,
}

impl BigValues {
    pub fn len(&self) -> usize {
        self.data.iter().chain(&self.identity).map(|(_, v)| v.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.identity.is_empty()
    }
}

/// `image`'s text with `big` put back: what a log row holds.
pub fn inline(image: &Image, big: &[(String, BigValue)]) -> String {
    let values: Vec<(&str, &BigValue)> = big.iter().map(|(c, v)| (c.as_str(), v)).collect();
    image.with_columns(&values, |out, v| v.write_json(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn big_values_go_back_into_the_image_as_postgresql_input_text() {
        let image = Image::from_json(&json!({"id": "1", "note": "x"}), &[]);
        let big = vec![
            ("body".to_string(), BigValue::Bytes(vec![0, 0xab, 0xff])),
            ("text".to_string(), BigValue::Text("héllo".into())),
        ];
        let read = |t: String| serde_json::from_str::<serde_json::Value>(&t).unwrap();
        assert_eq!(
            read(inline(&image, &big)),
            json!({"id": "1", "note": "x", "body": "\\x00abff", "text": "héllo"})
        );
        assert_eq!(read(inline(&image, &[])), image.to_json());
        let values = BigValues { data: big, identity: vec![("t".into(), BigValue::Text("ab".into()))] };
        assert_eq!(values.len(), 3 + 6 + 2);
    }
}
