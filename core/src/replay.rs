//! Replay SQL: a batch's log rows applied set-based. Consecutive events of one table and kind
//! form one statement over a JSON array of row images; a group ends where a row key repeats,
//! so the order of changes to the same row (within a MySQL transaction too) is kept.
//! Tables without a primary key are changed one row at a time by full-row identity.

use std::collections::HashSet;

use serde_json::Value as Json;

use crate::types::quote_ident;

/// One statement to run with one jsonb parameter ($1).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub param: Json,
    pub rows: usize,
}

/// A destination table as replay needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub schema: String,
    pub table: String,
    /// primary key columns (MySQL names = PostgreSQL names); empty: full-row identity
    pub key: Vec<String>,
    pub columns: Vec<String>,
}

/// A log row, as replay reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: String,
    pub data: Json,
    pub identity: Option<Json>,
}

fn rel(t: &Target) -> String {
    format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))
}

/// The row key an image identifies, as text (hashed: a batch holds many thousand rows).
fn key_of(t: &Target, image: &Json) -> String {
    if t.key.is_empty() {
        image.to_string()
    } else {
        Json::Array(
            t.key
                .iter()
                .map(|k| image.get(k).cloned().unwrap_or(Json::Null))
                .collect(),
        )
        .to_string()
    }
}

fn key_match(t: &Target, left: &str, right: &str) -> String {
    if t.key.is_empty() {
        format!("({left}.*) IS NOT DISTINCT FROM ({right}.*)")
    } else {
        let cols = |side: &str| {
            t.key
                .iter()
                .map(|k| format!("{side}.{}", quote_ident(k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("({}) = ({})", cols(left), cols(right))
    }
}

fn set_list(t: &Target) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(c)).collect();
    let vals: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("n.{}", quote_ident(c)))
        .collect();
    format!("({}) = ROW({})", cols.join(", "), vals.join(", "))
}

fn statement(t: &Target, kind: &str, group: Vec<&Event>) -> Statement {
    let r = rel(t);
    let rows = group.len();
    match kind {
        "insert" => Statement {
            sql: format!("INSERT INTO {r} SELECT * FROM jsonb_populate_recordset(NULL::{r}, $1::jsonb)"),
            param: Json::Array(group.iter().map(|e| e.data.clone()).collect()),
            rows,
        },
        "update" if t.key.is_empty() => Statement {
            // one row: the first identical row, not every copy of it
            sql: format!(
                "UPDATE {r} AS t SET {} FROM jsonb_populate_record(NULL::{r}, $1::jsonb->'new') AS n
                  WHERE t.ctid = (SELECT x.ctid FROM {r} AS x, jsonb_populate_record(NULL::{r}, $1::jsonb->'old') AS o
                                   WHERE {} LIMIT 1)",
                set_list(t),
                key_match(t, "x", "o")
            ),
            param: serde_json::json!({"new": group[0].data, "old": group[0].identity}),
            rows,
        },
        "update" => Statement {
            sql: format!(
                "UPDATE {r} AS t SET {} FROM jsonb_array_elements($1::jsonb) AS e,
                        LATERAL jsonb_populate_record(NULL::{r}, e->'new') AS n,
                        LATERAL jsonb_populate_record(NULL::{r}, e->'old') AS o
                  WHERE {}",
                set_list(t),
                key_match(t, "t", "o")
            ),
            param: Json::Array(group.iter().map(|e| serde_json::json!({"new": e.data, "old": e.identity})).collect()),
            rows,
        },
        "delete" if t.key.is_empty() => Statement {
            sql: format!(
                "DELETE FROM {r} WHERE ctid = (SELECT x.ctid FROM {r} AS x, jsonb_populate_record(NULL::{r}, $1::jsonb) AS o
                                                WHERE {} LIMIT 1)",
                key_match(t, "x", "o")
            ),
            param: group[0].data.clone(),
            rows,
        },
        _ => Statement {
            sql: format!(
                "DELETE FROM {r} AS t USING jsonb_populate_recordset(NULL::{r}, $1::jsonb) AS o WHERE {}",
                key_match(t, "t", "o")
            ),
            param: Json::Array(group.iter().map(|e| e.data.clone()).collect()),
            rows,
        },
    }
}

/// The statements that apply `events` (all of table `t`, in order).
pub fn plan(t: &Target, events: &[Event]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut group: Vec<&Event> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    for e in events {
        // the key an event touches: updates by their old image, others by their row
        let key = key_of(
            t,
            e.identity
                .as_ref()
                .filter(|_| e.kind == "update")
                .unwrap_or(&e.data),
        );
        let new_key = (e.kind == "update").then(|| key_of(t, &e.data));
        let single = t.key.is_empty() && e.kind != "insert";
        // rows an update or delete touches twice must be changed in order; inserts of the same
        // row twice only happen in keyless tables, where they are meant
        let repeats = e.kind != "insert"
            && (keys.contains(&key) || new_key.as_ref().is_some_and(|k| keys.contains(k)));
        let breaks = group.first().is_some_and(|g| g.kind != e.kind) || repeats || single;
        if breaks && !group.is_empty() {
            out.push(statement(
                t,
                &group[0].kind.clone(),
                std::mem::take(&mut group),
            ));
            keys.clear();
        }
        group.push(e);
        keys.insert(key);
        if let Some(k) = new_key {
            keys.insert(k);
        }
        if single {
            out.push(statement(t, &e.kind, std::mem::take(&mut group)));
            keys.clear();
        }
    }
    if !group.is_empty() {
        out.push(statement(t, &group[0].kind.clone(), group));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(key: &[&str]) -> Target {
        Target {
            schema: "shop".into(),
            table: "orders".into(),
            key: key.iter().map(|s| s.to_string()).collect(),
            columns: vec!["id".into(), "qty".into()],
        }
    }
    fn ev(kind: &str, data: Json, identity: Option<Json>) -> Event {
        Event {
            kind: kind.into(),
            data,
            identity,
        }
    }

    #[test]
    fn consecutive_events_of_one_kind_share_a_statement() {
        let t = target(&["id"]);
        let events = vec![
            ev("insert", json!({"id": "1", "qty": "1"}), None),
            ev("insert", json!({"id": "2", "qty": "1"}), None),
            ev(
                "update",
                json!({"id": "1", "qty": "5"}),
                Some(json!({"id": "1", "qty": "1"})),
            ),
            ev(
                "update",
                json!({"id": "2", "qty": "6"}),
                Some(json!({"id": "2", "qty": "1"})),
            ),
            ev("delete", json!({"id": "1", "qty": "5"}), None),
        ];
        let p = plan(&t, &events);
        assert_eq!(p.iter().map(|s| s.rows).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(p[0]
            .sql
            .starts_with("INSERT INTO \"shop\".\"orders\" SELECT * FROM jsonb_populate_recordset"));
        assert!(p[1].sql.contains("WHERE (t.\"id\") = (o.\"id\")"));
        assert_eq!(p[1].param[1]["new"]["qty"], "6");
        assert!(p[2]
            .sql
            .starts_with("DELETE FROM \"shop\".\"orders\" AS t USING"));
    }

    #[test]
    fn a_repeated_key_starts_a_new_statement() {
        let t = target(&["id"]);
        let events = vec![
            ev(
                "update",
                json!({"id": "1", "qty": "2"}),
                Some(json!({"id": "1", "qty": "1"})),
            ),
            ev(
                "update",
                json!({"id": "1", "qty": "3"}),
                Some(json!({"id": "1", "qty": "2"})),
            ),
            // a key change 1 -> 7, then 7 -> 8: in order
            ev(
                "update",
                json!({"id": "7", "qty": "3"}),
                Some(json!({"id": "1", "qty": "3"})),
            ),
            ev(
                "update",
                json!({"id": "8", "qty": "3"}),
                Some(json!({"id": "7", "qty": "3"})),
            ),
        ];
        assert_eq!(
            plan(&t, &events).iter().map(|s| s.rows).collect::<Vec<_>>(),
            vec![1, 1, 1, 1]
        );
    }

    #[test]
    fn tables_without_a_key_change_one_row_at_a_time() {
        let t = target(&[]);
        let events = vec![
            ev("insert", json!({"id": "1", "qty": "1"}), None),
            ev("insert", json!({"id": "1", "qty": "1"}), None),
            ev("delete", json!({"id": "1", "qty": "1"}), None),
            ev("delete", json!({"id": "1", "qty": "1"}), None),
        ];
        let p = plan(&t, &events);
        assert_eq!(
            p.iter().map(|s| s.rows).collect::<Vec<_>>(),
            vec![2, 1, 1],
            "inserts together; each delete removes one copy"
        );
        assert!(
            p[1].sql.contains("ctid = (SELECT x.ctid") && p[1].sql.contains("IS NOT DISTINCT FROM")
        );
    }
}
