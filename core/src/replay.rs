//! Replay SQL: a batch's log rows applied set-based. Consecutive events of one table and kind
//! form one statement over a JSON array of row images; a group ends where a row key repeats,
//! so the order of changes to the same row (within a MySQL transaction too) is kept.
//! Tables without a primary key are changed one row at a time by full-row identity.
//!
//! A batch is planned as a whole by `plan_batch`: tables that no foreign key links (either
//! end) are independent of each other, so each gets its changes at once — the net effect of
//! the batch per row (one DELETE, one UPDATE, one INSERT per table), which is what makes
//! random OLTP traffic (one row of another table at every step) set-based. Tables linked by
//! foreign keys keep binlog order among themselves, in runs of consecutive events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::batch::big::{BigValue, BigValues};
use crate::batch::Image;
use crate::event::EventKind;
use crate::types::quote_ident;

mod own;

/// One statement to run with one json parameter ($1), and the big values its event carries
/// beside its image ($2, …; `own`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    /// the json parameter's text (made with the plan, off the worker's main thread): an array
    /// of images when `rows` are applied together (a set), else one
    pub text: String,
    pub rows: usize,
    /// insert, update or delete: what a row of it is, when it has to be set aside
    pub kind: EventKind,
    pub big: Vec<BigValue>,
}

/// A json array of the texts `items` writes, one per element.
fn json_array<T>(items: &[T], len: impl Fn(&T) -> usize, write: impl Fn(&mut String, &T)) -> String {
    let mut out = String::with_capacity(2 + items.iter().map(|i| len(i) + 1).sum::<usize>());
    out.push('[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        write(&mut out, item);
    }
    out.push(']');
    out
}

/// A json array of images.
fn images(images: &[&Image]) -> String {
    json_array(images, |i| i.json().len(), |out, i| out.push_str(i.json()))
}

/// An update's new and old images as the update statements read them.
fn new_and_old(out: &mut String, data: &Image, identity: Option<&Image>) {
    out.push_str("{\"new\":");
    out.push_str(data.json());
    out.push_str(",\"old\":");
    out.push_str(identity.map_or("null", Image::json));
    out.push('}');
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

/// A row event as replay plans it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    pub kind: EventKind,
    pub data: Image,
    pub identity: Option<Image>,
    /// values that travel beside the images (`batch::big`)
    pub big: Option<Box<BigValues>>,
}

fn rel(t: &Target) -> String {
    format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))
}

/// The row key an image identifies, as text (the whole image in a table without a key).
fn key_of<'a>(t: &Target, image: &'a Image) -> &'a str {
    if t.key.is_empty() {
        image.json()
    } else {
        image.key()
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

/// INSERT of a json array of row images (a group, a net effect).
fn insert_set(r: &str) -> String {
    format!("INSERT INTO {r} SELECT * FROM json_populate_recordset(NULL::{r}, $1::json)")
}

/// DELETE of the rows a json array of images names by key (a group, a net effect).
fn delete_set(t: &Target, r: &str) -> String {
    format!("DELETE FROM {r} AS t USING json_populate_recordset(NULL::{r}, $1::json) AS o WHERE {}", key_match(t, "t", "o"))
}

fn statement(t: &Target, kind: EventKind, group: Vec<&ReplayEvent>) -> Statement {
    let r = rel(t);
    let data = || images(&group.iter().map(|e| &e.data).collect::<Vec<_>>());
    let (sql, text) = match kind {
        EventKind::Insert => (insert_set(&r), data()),
        EventKind::Update if t.key.is_empty() => (
            // one row: the first identical row, not every copy of it
            format!(
                "UPDATE {r} AS t SET {} FROM json_populate_record(NULL::{r}, $1::json->'new') AS n
                  WHERE t.ctid = (SELECT x.ctid FROM {r} AS x, json_populate_record(NULL::{r}, $1::json->'old') AS o
                                   WHERE {} LIMIT 1)",
                set_list(t),
                key_match(t, "x", "o")
            ),
            {
                let mut one = String::new();
                new_and_old(&mut one, &group[0].data, group[0].identity.as_ref());
                one
            },
        ),
        EventKind::Update => (
            format!(
                "UPDATE {r} AS t SET {} FROM json_array_elements($1::json) AS e,
                        LATERAL json_populate_record(NULL::{r}, e->'new') AS n,
                        LATERAL json_populate_record(NULL::{r}, e->'old') AS o
                  WHERE {}",
                set_list(t),
                key_match(t, "t", "o")
            ),
            json_array(
                &group,
                |e| e.data.json().len() + e.identity.as_ref().map_or(4, |i| i.json().len()) + 16,
                |out, e| new_and_old(out, &e.data, e.identity.as_ref()),
            ),
        ),
        EventKind::Delete if t.key.is_empty() => (
            format!(
                "DELETE FROM {r} WHERE ctid = (SELECT x.ctid FROM {r} AS x, json_populate_record(NULL::{r}, $1::json) AS o
                                                WHERE {} LIMIT 1)",
                key_match(t, "x", "o")
            ),
            group[0].data.json().to_string(),
        ),
        _ => (delete_set(t, &r), data()),
    };
    Statement {
        sql,
        text,
        rows: group.len(),
        kind,
        big: Vec::new(),
    }
}

/// The statements that apply `events` (all of table `t`, in order).
pub fn plan(t: &Target, events: &[ReplayEvent]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut group: Vec<&ReplayEvent> = Vec::new();
    let mut keys: HashSet<&str> = HashSet::new();
    for e in events {
        // the key an event touches: updates by their old image, others by their row
        let key = key_of(
            t,
            e.identity
                .as_ref()
                .filter(|_| e.kind == EventKind::Update)
                .unwrap_or(&e.data),
        );
        let new_key = (e.kind == EventKind::Update).then(|| key_of(t, &e.data));
        let single = t.key.is_empty() && e.kind != EventKind::Insert;
        // rows an update or delete touches twice must be changed in order; inserts of the same
        // row twice only happen in keyless tables, where they are meant
        let repeats = e.kind != EventKind::Insert
            && (keys.contains(key) || new_key.is_some_and(|k| keys.contains(k)));
        let breaks = group.first().is_some_and(|g| g.kind != e.kind) || repeats || single;
        if breaks && !group.is_empty() {
            out.push(statement(t, group[0].kind, std::mem::take(&mut group)));
            keys.clear();
        }
        group.push(e);
        keys.insert(key);
        if let Some(k) = new_key {
            keys.insert(k);
        }
        if single {
            out.push(statement(t, e.kind, std::mem::take(&mut group)));
            keys.clear();
        }
    }
    if !group.is_empty() {
        out.push(statement(t, group[0].kind, group));
    }
    out
}

/// A part of a batch's replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// statements in binlog order; a failing one is retried row by row
    Ordered {
        table: String,
        statements: Vec<Statement>,
    },
    /// the net effect of `events` (changes to one independent table): all statements succeed
    /// together, or `plan(target, events)` (the same changes in binlog order) is replayed
    /// instead
    Net {
        table: String,
        statements: Vec<Statement>,
        target: Target,
        events: Vec<ReplayEvent>,
    },
}

/// The net effect of a keyed table's changes, in at most three statements (DELETE, UPDATE,
/// INSERT); None when it cannot be expressed so (no key, a key changed by an update).
fn net(t: &Target, events: &[&ReplayEvent]) -> Option<Vec<Statement>> {
    if t.key.is_empty() {
        return None;
    }
    // per key: did the row exist before the batch, its final image (None: gone), its last image
    type Fate<'a> = (bool, Option<&'a Image>, &'a Image);
    let mut order: Vec<&str> = Vec::new();
    let mut rows: HashMap<&str, Fate> = HashMap::new();
    for e in events {
        let (key, existed, last) = match e.kind {
            EventKind::Insert => (key_of(t, &e.data), false, Some(&e.data)),
            EventKind::Update => {
                let key = key_of(t, e.identity.as_ref()?);
                if key != key_of(t, &e.data) {
                    return None;
                }
                (key, true, Some(&e.data))
            }
            EventKind::Delete => (key_of(t, &e.data), true, None),
            _ => return None,
        };
        match rows.get_mut(&key) {
            Some(r) => {
                r.1 = last;
                r.2 = &e.data;
            }
            None => {
                order.push(key);
                rows.insert(key, (existed, last, &e.data));
            }
        }
    }
    let r = rel(t);
    // the images' texts are joined where they are, not copied first: a batch's net effect is
    // most of its rows (a single big transaction: all of them)
    let (mut deletes, mut updates, mut inserts): (Vec<&Image>, Vec<&Image>, Vec<&Image>) =
        Default::default();
    for k in &order {
        match rows[k] {
            (true, None, image) => deletes.push(image),
            (true, Some(last), _) => updates.push(last),
            (false, Some(last), _) => inserts.push(last),
            (false, None, _) => {} // inserted and deleted within the batch
        }
    }
    let statement = |sql: String, set: &[&Image], kind: EventKind| Statement {
        sql,
        rows: set.len(),
        kind,
        text: images(set),
        big: Vec::new(),
    };
    let mut out = Vec::new();
    if !deletes.is_empty() {
        out.push(statement(
            delete_set(t, &r),
            &deletes,
            EventKind::Delete,
        ));
    }
    if !updates.is_empty() {
        out.push(statement(
            format!(
                "UPDATE {r} AS t SET {} FROM json_populate_recordset(NULL::{r}, $1::json) AS n WHERE {}",
                set_list(t),
                key_match(t, "t", "n")
            ),
            &updates,
            EventKind::Update,
        ));
    }
    if !inserts.is_empty() {
        out.push(statement(
            insert_set(&r),
            &inserts,
            EventKind::Insert,
        ));
    }
    Some(out)
}

/// The plan of a batch's row events `(table, event)` in binlog order. `targets` describes the
/// tables; `linked` names those a foreign key links (either end), which keep binlog order. An
/// event that needs its big values has a statement of its own, in its place: the events before
/// it and after it are planned apart.
pub fn plan_batch(
    events: Vec<(Arc<str>, ReplayEvent)>,
    targets: &HashMap<String, Target>,
    linked: &HashSet<String>,
) -> Vec<Unit> {
    let target = |table: &str| {
        targets.get(table).cloned().unwrap_or_else(|| Target {
            schema: String::new(),
            table: table.into(),
            key: vec![],
            columns: vec![],
        })
    };
    let mut out = Vec::new();
    let mut segment = Vec::new();
    for (table, e) in events {
        // (most events carry no big value: their table is not looked up)
        let t = match e.big.is_some().then(|| target(&table)) {
            Some(t) if own::needs_own(&t, &e) => t,
            _ => {
                segment.push((table, e));
                continue;
            }
        };
        plan_segment(std::mem::take(&mut segment), &target, linked, &mut out);
        out.push(Unit::Ordered {
            statements: vec![own::own_statement(&t, e)],
            table: table.to_string(),
        });
    }
    plan_segment(segment, &target, linked, &mut out);
    out
}

/// `plan_batch` of events that need no statement of their own, onto `out`.
fn plan_segment(
    events: Vec<(Arc<str>, ReplayEvent)>,
    target: &dyn Fn(&str) -> Target,
    linked: &HashSet<String>,
    out: &mut Vec<Unit>,
) {
    if events.is_empty() {
        return;
    }
    // linked tables: runs of consecutive events (other tables' events do not interrupt a run:
    // they are independent of these)
    let (in_order, independent): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|(t, _)| linked.contains(&**t));
    let mut run: Vec<ReplayEvent> = Vec::new();
    let mut run_table: Option<Arc<str>> = None;
    for (table, e) in in_order {
        if let Some(t) = run_table.take_if(|t| *t != table) {
            out.push(Unit::Ordered {
                statements: plan(&target(&t), &std::mem::take(&mut run)),
                table: t.to_string(),
            });
        }
        run_table = Some(table);
        run.push(e);
    }
    if let Some(t) = run_table {
        out.push(Unit::Ordered {
            statements: plan(&target(&t), &run),
            table: t.to_string(),
        });
    }
    // independent tables: all of a table's changes at once, in the order tables first appear
    let mut tables: Vec<Arc<str>> = Vec::new();
    let mut by_table: HashMap<Arc<str>, Vec<ReplayEvent>> = HashMap::new();
    for (t, e) in independent {
        if !by_table.contains_key(&t) {
            tables.push(t.clone());
        }
        by_table.entry(t).or_default().push(e);
    }
    for table in tables {
        let t = target(&table);
        let evs = by_table.remove(&table).unwrap_or_default();
        let refs: Vec<&ReplayEvent> = evs.iter().collect();
        let table = table.to_string();
        out.push(match net(&t, &refs) {
            Some(statements) => Unit::Net {
                table,
                statements,
                target: t,
                events: evs,
            },
            None => Unit::Ordered {
                statements: plan(&t, &evs),
                table,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value as Json};

    fn target(key: &[&str]) -> Target {
        Target {
            schema: "shop".into(),
            table: "orders".into(),
            key: key.iter().map(|s| s.to_string()).collect(),
            columns: vec!["id".into(), "qty".into()],
        }
    }
    fn ev(kind: &str, data: Json, identity: Option<Json>) -> ReplayEvent {
        ReplayEvent {
            kind: EventKind::parse(kind).expect("a kind"),
            // (keyed by id: a table without a key takes the whole image)
            data: Image::from_json(&data, &["id".into()]),
            identity: identity.map(|i| Image::from_json(&i, &["id".into()])),
            big: None,
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
            .starts_with("INSERT INTO \"shop\".\"orders\" SELECT * FROM json_populate_recordset"));
        assert!(p[1].sql.contains("WHERE (t.\"id\") = (o.\"id\")"));
        assert_eq!(serde_json::from_str::<Json>(&p[1].text).unwrap()[1]["new"]["qty"], "6");
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

    fn at(table: &str, e: ReplayEvent) -> (Arc<str>, ReplayEvent) {
        (table.into(), e)
    }

    fn targets() -> HashMap<String, Target> {
        let mut m = HashMap::new();
        for (name, key) in [("a", vec!["id"]), ("b", vec!["id"]), ("k", vec![])] {
            m.insert(
                name.to_string(),
                Target {
                    table: name.into(),
                    key: key.iter().map(|s| s.to_string()).collect(),
                    ..target(&[])
                },
            );
        }
        m
    }

    fn upd(id: &str, from: &str, to: &str) -> ReplayEvent {
        ev(
            "update",
            json!({"id": id, "qty": to}),
            Some(json!({"id": id, "qty": from})),
        )
    }

    #[test]
    fn independent_tables_get_their_net_effect_in_three_statements_at_most() {
        // OLTP: every event touches another table than the one before
        let events = vec![
            at("a", upd("1", "1", "2")),
            at("b", ev("insert", json!({"id": "9", "qty": "1"}), None)),
            at("a", ev("delete", json!({"id": "3", "qty": "1"}), None)),
            at("a", ev("insert", json!({"id": "3", "qty": "7"}), None)), // delete + insert: an update
            at("b", upd("9", "1", "4")), // inserted, then updated: an insert
            at("a", upd("1", "2", "3")), // updated twice: the last image
            at("b", ev("insert", json!({"id": "5", "qty": "1"}), None)),
            at("b", ev("delete", json!({"id": "5", "qty": "1"}), None)), // in and out: nothing
            at("a", ev("delete", json!({"id": "4", "qty": "1"}), None)),
        ];
        let units = plan_batch(events, &targets(), &HashSet::new());
        assert_eq!(units.len(), 2);
        let Unit::Net {
            table,
            statements,
            target,
            events: evs,
        } = &units[0]
        else {
            panic!("{units:?}")
        };
        assert_eq!((table.as_str(), evs.len()), ("a", 5));
        let ordered = plan(target, evs);
        let param = |s: &Statement| serde_json::from_str::<Json>(&s.text).unwrap();
        assert_eq!(
            statements
                .iter()
                .map(|s| (s.kind.as_str(), s.rows))
                .collect::<Vec<_>>(),
            vec![("delete", 1), ("update", 2)]
        );
        assert_eq!(param(&statements[0]), json!([{"id": "4", "qty": "1"}]));
        assert_eq!(
            param(&statements[1]),
            json!([{"id": "1", "qty": "3"}, {"id": "3", "qty": "7"}])
        );
        assert!(
            statements[1].sql.contains("WHERE (t.\"id\") = (n.\"id\")"),
            "{}",
            statements[1].sql
        );
        assert_eq!(
            ordered.iter().map(|s| s.rows).sum::<usize>(),
            5,
            "the fallback replays every event"
        );
        let Unit::Net { statements, .. } = &units[1] else {
            panic!()
        };
        assert_eq!(
            statements
                .iter()
                .map(|s| (s.kind.as_str(), s.rows))
                .collect::<Vec<_>>(),
            vec![("insert", 1)]
        );
        assert_eq!(param(&statements[0]), json!([{"id": "9", "qty": "4"}]));
    }

    #[test]
    fn key_changes_and_keyless_tables_stay_in_order() {
        let events = vec![
            at(
                "a",
                ev(
                    "update",
                    json!({"id": "2", "qty": "1"}),
                    Some(json!({"id": "1", "qty": "1"})),
                ),
            ),
            at("k", ev("insert", json!({"id": "1", "qty": "1"}), None)),
            at("k", ev("delete", json!({"id": "1", "qty": "1"}), None)),
        ];
        let units = plan_batch(events, &targets(), &HashSet::new());
        assert!(
            matches!(&units[0], Unit::Ordered { table, statements } if table == "a" && statements.len() == 1)
        );
        assert!(
            matches!(&units[1], Unit::Ordered { table, statements } if table == "k" && statements.len() == 2)
        );
    }

    #[test]
    fn tables_linked_by_foreign_keys_keep_binlog_order_among_themselves() {
        // parent a, child b: insert parent, insert child, delete child, delete parent
        let events = vec![
            at("a", ev("insert", json!({"id": "1", "qty": "1"}), None)),
            at("k", ev("insert", json!({"id": "1", "qty": "1"}), None)),
            at("b", ev("insert", json!({"id": "1", "qty": "1"}), None)),
            at("b", ev("delete", json!({"id": "1", "qty": "1"}), None)),
            at("a", ev("delete", json!({"id": "1", "qty": "1"}), None)),
        ];
        let linked: HashSet<String> = ["a".to_string(), "b".to_string()].into();
        let units = plan_batch(events, &targets(), &linked);
        let order: Vec<(String, String)> = units
            .iter()
            .flat_map(|u| match u {
                Unit::Ordered { table, statements } => statements
                    .iter()
                    .map(|s| (table.clone(), s.kind.as_str().to_string()))
                    .collect::<Vec<_>>(),
                Unit::Net {
                    table, statements, ..
                } => statements
                    .iter()
                    .map(|s| (table.clone(), s.kind.as_str().to_string()))
                    .collect(),
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("a", "insert"),
            ("b", "insert"),
            ("b", "delete"),
            ("a", "delete"),
            ("k", "insert"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(order, want);
    }
}
