//! The set-based replay statements (chameleon-core's replay::plan) run against PostgreSQL:
//! grouped inserts, updates that change keys in a chain, deletes, and keyless tables with
//! duplicate rows, each ending in the state MySQL would have.

use chameleon_core::batch::Image;
use chameleon_core::replay::{plan, ReplayEvent, Target};
use chameleon_e2e::*;
use serde_json::{json, Value as Json};

fn apply(c: &mut Client, t: &Target, events: &[ReplayEvent]) -> usize {
    let statements = plan(t, events);
    for s in &statements {
        let param: Json = serde_json::from_str(&s.text).expect("the parameter is JSON");
        let n = c
            .execute(s.sql.as_str(), &[&param])
            .unwrap_or_else(|e| panic!("{}: {}", s.sql, describe(&e)));
        assert_eq!(
            n as usize, s.rows,
            "{} changed {n} rows, not {}",
            s.sql, s.rows
        );
    }
    statements.len()
}

fn ev(kind: &str, data: Json, identity: Option<Json>) -> ReplayEvent {
    ReplayEvent {
        kind: chameleon_core::event::EventKind::parse(kind).expect("a kind"),
        // (keyed by id: a table without a key takes the whole image)
        data: Image::from_json(&data, &["id".into()]),
        identity: identity.map(|i| Image::from_json(&i, &["id".into()])),
        big: None,
    }
}

fn rows(c: &mut Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn keyed_table_in_order() {
    let mut c = fresh_db("replay_sql_key");
    c.batch_execute("CREATE SCHEMA r; CREATE TABLE r.t (id int PRIMARY KEY, qty int, note text)")
        .unwrap();
    let t = Target {
        schema: "r".into(),
        table: "t".into(),
        key: vec!["id".into()],
        columns: vec!["id".into(), "qty".into(), "note".into()],
    };
    let row = |id: i32, qty: i32| json!({"id": id.to_string(), "qty": qty.to_string(), "note": format!("n{id} 🦎")});
    let events = vec![
        ev("insert", row(1, 1), None),
        ev("insert", row(2, 1), None),
        ev("insert", row(3, 1), None),
        ev("update", row(1, 5), Some(row(1, 1))),
        ev("update", row(1, 6), Some(row(1, 5))),
        // the key moves 2 -> 20 -> 21
        ev(
            "update",
            json!({"id": "20", "qty": "1", "note": "n2 🦎"}),
            Some(row(2, 1)),
        ),
        ev(
            "update",
            json!({"id": "21", "qty": "1", "note": "n2 🦎"}),
            Some(json!({"id": "20", "qty": "1", "note": "n2 🦎"})),
        ),
        ev("delete", row(3, 1), None),
        ev("insert", json!({"id": "3", "qty": "9", "note": null}), None),
    ];
    let n = apply(&mut c, &t, &events);
    assert!(
        n < events.len(),
        "grouped: {n} statements for {} events",
        events.len()
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT concat_ws(',', id, qty, coalesce(note, 'NULL')) FROM r.t ORDER BY id"
        ),
        vec!["1,6,n1 🦎", "3,9,NULL", "21,1,n2 🦎"]
    );
}

#[test]
fn keyless_table_changes_one_copy_at_a_time() {
    let mut c = fresh_db("replay_sql_nokey");
    c.batch_execute("CREATE SCHEMA r; CREATE TABLE r.nk (a int, b text)")
        .unwrap();
    let t = Target {
        schema: "r".into(),
        table: "nk".into(),
        key: vec![],
        columns: vec!["a".into(), "b".into()],
    };
    let dup = json!({"a": "1", "b": "dup"});
    apply(
        &mut c,
        &t,
        &[
            ev("insert", dup.clone(), None),
            ev("insert", dup.clone(), None),
            ev("insert", json!({"a": "2", "b": null}), None),
            ev(
                "update",
                json!({"a": "1", "b": "changed"}),
                Some(dup.clone()),
            ),
            ev("delete", json!({"a": "2", "b": null}), None),
        ],
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT concat_ws(',', a, coalesce(b, 'NULL')) FROM r.nk ORDER BY b"
        ),
        vec!["1,changed", "1,dup"]
    );
}
