//! Values too big to travel inside a JSON image. A binary or text value above `BIG_VALUE_BYTES`
//! leaves its row image (the image does not carry the column) and goes with the event as it
//! is — bytes or UTF-8 text, never hex inside jsonb, whose strings stop at 256 MB — to be passed
//! to its statement as a parameter of its own (`replay::own_statement`). The log tables' path
//! (two-step replay, paused replay, older catalogues) puts them back into the image as text.

use serde_json::{Map, Value as Json};

use crate::types::hex_into;

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

    /// As an image holds it: PostgreSQL's input text (bytea as hex).
    pub fn to_json(&self) -> Json {
        match self {
            BigValue::Bytes(b) => {
                let mut out = Vec::with_capacity(2 + 2 * b.len());
                out.extend_from_slice(b"\\x");
                hex_into(&mut out, b);
                // (hex digits are ASCII)
                Json::String(String::from_utf8(out).unwrap_or_default())
            }
            BigValue::Text(t) => Json::String(t.clone()),
        }
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

/// `image` with `big` put back as text: what a log row holds.
pub fn inline(image: &Json, big: &[(String, BigValue)]) -> Json {
    match image {
        Json::Object(m) if !big.is_empty() => {
            let mut m: Map<String, Json> = m.clone();
            for (column, v) in big {
                m.insert(column.clone(), v.to_json());
            }
            Json::Object(m)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn big_values_go_back_into_the_image_as_postgresql_input_text() {
        let image = json!({"id": "1", "note": "x"});
        let big = vec![
            ("body".to_string(), BigValue::Bytes(vec![0, 0xab, 0xff])),
            ("text".to_string(), BigValue::Text("héllo".into())),
        ];
        assert_eq!(
            inline(&image, &big),
            json!({"id": "1", "note": "x", "body": "\\x00abff", "text": "héllo"})
        );
        assert_eq!(inline(&image, &[]), image);
        let values = BigValues { data: big, identity: vec![("t".into(), BigValue::Text("ab".into()))] };
        assert_eq!(values.len(), 3 + 6 + 2);
    }
}
