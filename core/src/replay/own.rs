//! An event whose values travel beside its images (`batch::big`) is applied by a statement of
//! its own: the big values as parameters `$2`, `$3`, … (bytea or text, as they are), the other
//! columns from the image in `$1` as usual. Only where the values are needed: an insert's or
//! update's new row, and the old row of a table without a key (matched column by column); a
//! keyed table finds its row by the key, whatever the old image held.

use super::{key_match, new_and_old, rel, ReplayEvent, Statement, Target};
use crate::batch::big::BigValue;
use crate::event::EventKind;
use crate::types::quote_ident;

/// Does `e` need its big values (and so a statement of its own)?
pub(super) fn needs_own(t: &Target, e: &ReplayEvent) -> bool {
    let Some(b) = &e.big else { return false };
    match e.kind {
        EventKind::Insert | EventKind::Update => {
            !b.data.is_empty() || (t.key.is_empty() && !b.identity.is_empty())
        }
        EventKind::Delete => t.key.is_empty() && !b.data.is_empty(),
        _ => false,
    }
}

/// The parameters after `$1`, in the order the statement names them.
#[derive(Default)]
struct Params(Vec<BigValue>);

impl Params {
    /// `column` of the image aliased `side`, or its parameter when it travels beside it.
    fn value(&mut self, side: &str, column: &str, big: &mut Vec<(String, BigValue)>) -> String {
        let Some(i) = big.iter().position(|(c, _)| c == column) else {
            return format!("{side}.{}", quote_ident(column));
        };
        let (_, v) = big.swap_remove(i);
        let ty = match v {
            BigValue::Bytes(_) => "bytea",
            BigValue::Text(_) => "text",
        };
        self.0.push(v);
        format!("${}::{ty}", self.0.len() + 1)
    }

    /// `x`'s columns equal to the old image's, column by column (a table without a key).
    fn whole_row(&mut self, t: &Target, big: &mut Vec<(String, BigValue)>) -> String {
        let mut out = Vec::with_capacity(t.columns.len());
        for c in &t.columns {
            let v = self.value("o", c, big);
            out.push(format!("x.{} IS NOT DISTINCT FROM {v}", quote_ident(c)));
        }
        out.join(" AND ")
    }
}

/// The statement of one event that needs its big values (`needs_own`).
pub(super) fn own_statement(t: &Target, e: ReplayEvent) -> Statement {
    let r = rel(t);
    let big = e.big.map(|b| *b).unwrap_or_default();
    let (mut new, mut old) = (big.data, big.identity);
    let mut p = Params::default();
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(c)).collect();
    let (sql, text) = match e.kind {
        EventKind::Insert => {
            let values: Vec<String> = t.columns.iter().map(|c| p.value("o", c, &mut new)).collect();
            (
                format!(
                    "INSERT INTO {r} ({}) SELECT {} FROM json_populate_record(NULL::{r}, $1::json) AS o",
                    cols.join(", "),
                    values.join(", ")
                ),
                e.data.json().to_string(),
            )
        }
        EventKind::Update => {
            let values: Vec<String> = t.columns.iter().map(|c| p.value("n", c, &mut new)).collect();
            let set = format!("({}) = ROW({})", cols.join(", "), values.join(", "));
            let sql = if t.key.is_empty() {
                format!(
                    "UPDATE {r} AS t SET {set} FROM json_populate_record(NULL::{r}, $1::json->'new') AS n
                      WHERE t.ctid = (SELECT x.ctid FROM {r} AS x, json_populate_record(NULL::{r}, $1::json->'old') AS o
                                       WHERE {} LIMIT 1)",
                    p.whole_row(t, &mut old)
                )
            } else {
                format!(
                    "UPDATE {r} AS t SET {set} FROM json_populate_record(NULL::{r}, $1::json->'new') AS n,
                            json_populate_record(NULL::{r}, $1::json->'old') AS o
                      WHERE {}",
                    key_match(t, "t", "o")
                )
            };
            let mut both = String::new();
            new_and_old(&mut both, &e.data, e.identity.as_ref());
            (sql, both)
        }
        // (a keyed table's delete needs no big value: planned with the others)
        _ => (
            format!(
                "DELETE FROM {r} WHERE ctid = (SELECT x.ctid FROM {r} AS x, json_populate_record(NULL::{r}, $1::json) AS o
                                                WHERE {} LIMIT 1)",
                p.whole_row(t, &mut new)
            ),
            e.data.json().to_string(),
        ),
    };
    Statement {
        sql,
        text,
        rows: 1,
        kind: e.kind,
        big: p.0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{plan_batch, Unit};
    use super::*;
    use crate::batch::big::BigValues;
    use crate::batch::Image;
    use serde_json::json;
    use std::collections::{HashMap, HashSet};

    fn files(key: &[&str]) -> HashMap<String, Target> {
        let t = Target {
            schema: "s".into(),
            table: "files".into(),
            key: key.iter().map(|k| k.to_string()).collect(),
            columns: vec!["id".into(), "body".into(), "note".into()],
        };
        HashMap::from([("files".to_string(), t)])
    }

    fn event(kind: EventKind, id: &str, data: &[(&str, BigValue)], identity: &[(&str, BigValue)]) -> (std::sync::Arc<str>, ReplayEvent) {
        let named = |v: &[(&str, BigValue)]| v.iter().map(|(c, v)| (c.to_string(), v.clone())).collect::<Vec<_>>();
        let big = BigValues { data: named(data), identity: named(identity) };
        let e = ReplayEvent {
            kind,
            data: Image::from_json(&json!({"id": id}), &[]),
            identity: (kind == EventKind::Update).then(|| Image::from_json(&json!({"id": id}), &[])),
            big: (!big.is_empty()).then(|| Box::new(big)),
        };
        ("files".into(), e)
    }

    fn sqls(units: &[Unit]) -> Vec<String> {
        units
            .iter()
            .flat_map(|u| match u {
                Unit::Ordered { statements, .. } | Unit::Net { statements, .. } => statements.iter().map(|s| s.sql.clone()),
            })
            .collect()
    }

    /// An event that needs its big values is applied alone, in its place; the events around it
    /// keep their set-based plan; a keyed table's delete needs none.
    #[test]
    fn big_values_take_a_statement_of_their_own_in_binlog_order() {
        let body = || BigValue::Bytes(vec![1, 2, 3]);
        let note = || BigValue::Text("n".into());
        let events = vec![
            event(EventKind::Insert, "1", &[], &[]),
            event(EventKind::Insert, "2", &[("body", body()), ("note", note())], &[]),
            event(EventKind::Update, "2", &[("note", note())], &[("body", body())]),
            event(EventKind::Delete, "2", &[("body", body())], &[]),
            event(EventKind::Insert, "3", &[], &[]),
        ];
        let units = plan_batch(events.clone(), &files(&["id"]), &HashSet::new());
        let sql = sqls(&units);
        assert_eq!(sql.len(), 5, "{sql:#?}");
        assert!(sql[0].starts_with("INSERT INTO \"s\".\"files\" SELECT * FROM json_populate_recordset"));
        assert!(sql[1].contains("SELECT o.\"id\", $2::bytea, $3::text FROM json_populate_record"), "{}", sql[1]);
        assert!(sql[2].contains("= ROW(n.\"id\", n.\"body\", $2::text)") && sql[2].contains("(t.\"id\") = (o.\"id\")"), "{}", sql[2]);
        assert!(sql[3].starts_with("DELETE FROM") && sql[3].contains("json_populate_recordset"), "planned: {}", sql[3]);
        assert!(sql[4].starts_with("INSERT INTO") && sql[4].contains("json_populate_recordset"), "{}", sql[4]);
        let Unit::Ordered { statements, .. } = &units[1] else { panic!("in order") };
        assert_eq!(statements[0].big, vec![body(), note()]);
        assert_eq!(statements[0].text, r#"{"id":"2"}"#);

        // without a key the old row is matched column by column, its big values among them
        let units = plan_batch(events, &files(&[]), &HashSet::new());
        let sql = sqls(&units);
        let update = sql.iter().find(|s| s.starts_with("UPDATE")).unwrap();
        assert!(update.contains("x.\"body\" IS NOT DISTINCT FROM $3::bytea AND x.\"note\" IS NOT DISTINCT FROM o.\"note\""), "{update}");
        let delete = sql.iter().find(|s| s.starts_with("DELETE")).unwrap();
        assert!(delete.contains("x.\"body\" IS NOT DISTINCT FROM $2::bytea"), "{delete}");
    }
}
