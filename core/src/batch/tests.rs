use super::*;
use crate::binlog::ColumnInfo;
use crate::types::{map_column, PgColumn};
use mysql::consts::ColumnType;
use mysql::Value as V;

type Row = Vec<Option<V>>;

struct Shop;
impl Columns for Shop {
    fn statement(&mut self, schema: &str, query: &str) -> StatementEvent {
        let names_shop = query.contains("`shop`.") || query.contains(" shop.");
        if schema == "shop" || names_shop {
            StatementEvent::Ddl {
                sql: format!("-- {query}"),
                table: "orders".into(),
                data: crate::schema_change::DdlEvent {
                    mysql: query.into(),
                    ..Default::default()
                },
            }
        } else {
            StatementEvent::Ignored
        }
    }
    fn table_of(&self, schema: &str, _query: &str) -> Option<String> {
        (schema == "shop").then(|| "orders".into())
    }
    fn columns(&mut self, schema: &str, table: &str) -> Result<Option<Decoders>> {
        let columns: &[(&str, &str, &str)] = match (schema, table) {
            ("shop", "orders") => &[
                ("id", "int", "int(11)"),
                ("status", "enum", "enum('new','paid')"),
                ("at", "timestamp", "timestamp"),
                ("doc", "longtext", "longtext"),
            ],
            ("shop", "files") => &[("id", "int", "int(11)"), ("body", "longblob", "longblob"), ("note", "longtext", "longtext")],
            _ => return Ok(None),
        };
        let defs = columns
        .iter()
        .map(|(n, d, c)| {
            let my = MysqlColumn {
                name: n.to_string(),
                data_type: d.to_string(),
                column_type: c.to_string(),
                nullable: true,
                is_json: *n == "doc",
                charset: (*d == "longtext").then(|| "utf8mb4".to_string()),
                ..Default::default()
            };
            let pg = map_column(table, &my, &serde_json::json!({})).unwrap();
            (my, pg)
        })
        .collect();
        Ok(Some(Arc::new(defs)))
    }
}

fn table(schema: &str, name: &str) -> Arc<TableInfo> {
    let col = |t| ColumnInfo {
        name: None,
        ty: t,
        meta: vec![],
        unsigned: false,
        labels: None,
    };
    Arc::new(TableInfo {
        schema: schema.into(),
        name: name.into(),
        columns: vec![
            col(ColumnType::MYSQL_TYPE_LONG),
            col(ColumnType::MYSQL_TYPE_ENUM),
            col(ColumnType::MYSQL_TYPE_TIMESTAMP2),
            col(ColumnType::MYSQL_TYPE_BLOB),
        ],
        primary_key: vec![0],
    })
}
fn row(id: i64, st: i64) -> Vec<Option<V>> {
    vec![
        Some(V::Int(id)),
        Some(V::Int(st)),
        Some(V::Bytes(b"1700000000".to_vec())),
        Some(V::Bytes(br#"{"a": [1, "x"]}"#.to_vec())),
    ]
}
fn pos(p: u64) -> Position {
    Position {
        file: "mysql-bin.000001".into(),
        pos: p,
        gtid: None,
    }
}
fn tx(
    b: &mut BatchBuilder,
    rows: Vec<(RowKind, Option<Row>, Option<Row>)>,
    end: u64,
) -> Option<Batch> {
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    for (kind, before, after) in rows {
        b.push(
            Change::Rows {
                table: table("shop", "orders"),
                kind,
                rows: vec![BinlogRow { before, after }],
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap();
    }
    b.push(
        Change::Commit {
            next: pos(end),
            timestamp: 1,
        },
        &mut Shop,
    )
    .unwrap()
}

#[test]
fn a_schema_change_inside_a_transaction_stays_with_its_rows() {
    let mut b = BatchBuilder::new(1000);
    let query = |q: &str, at: u64| Change::Query {
        schema: "shop".into(),
        query: q.into(),
        timestamp: 1,
        next: pos(at),
    };
    // MySQL's CREATE TABLE … SELECT: BEGIN, the definition, its rows, the commit
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let held = b.push(query("CREATE TABLE `orders` (`id` int) START TRANSACTION", 120), &mut Shop);
    assert!(held.unwrap().is_none(), "held until the commit");
    b.push(
        Change::Rows {
            table: table("shop", "orders"),
            kind: RowKind::Insert,
            rows: vec![BinlogRow { before: None, after: Some(row(1, 1)) }],
            timestamp: 1,
        },
        &mut Shop,
    )
    .unwrap();
    let batch = b
        .push(Change::Commit { next: pos(300), timestamp: 1 }, &mut Shop)
        .unwrap()
        .expect("the commit ends the batch");
    assert_eq!((batch.ddl, batch.rows, batch.end.pos), (1, 1, 300));
    assert_eq!(batch.events[0].kind, EventKind::Ddl);
    assert!(batch.events.iter().all(|e| e.binlog_pos == 300), "one resume point: the commit");
    // MariaDB begins every transaction with its GTID event: a statement is its own batch
    b.push(Change::Begin { gtid: Some("0-1-5".into()), at: Position::default() }, &mut Shop).unwrap();
    let ddl = b.push(query("ALTER TABLE orders ADD y INT", 400), &mut Shop).unwrap();
    assert_eq!(ddl.map(|d| (d.ddl, d.end.pos)), Some((1, 400)));
}

#[test]
fn a_steady_stream_ends_batches_after_max_delay() {
    let mut b = BatchBuilder::new(1000).with_max_delay(Duration::from_millis(30));
    assert!(
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 100).is_none(),
        "young: waits for more"
    );
    std::thread::sleep(Duration::from_millis(40));
    let batch = tx(&mut b, vec![(RowKind::Insert, None, Some(row(2, 1)))], 200)
        .expect("old enough: ends at this commit");
    assert_eq!((batch.rows, batch.end.pos), (2, 200));
    assert!(
        tx(&mut b, vec![(RowKind::Insert, None, Some(row(3, 1)))], 300).is_none(),
        "the clock starts again"
    );
}

#[test]
fn batches_end_on_commits_once_full() {
    let mut b = BatchBuilder::new(3);
    assert!(tx(
        &mut b,
        vec![
            (RowKind::Insert, None, Some(row(1, 1))),
            (RowKind::Insert, None, Some(row(2, 1)))
        ],
        100
    )
    .is_none());
    // the transaction that crosses batch_size is not split
    let batch = tx(
        &mut b,
        vec![
            (RowKind::Update, Some(row(1, 1)), Some(row(1, 2))),
            (RowKind::Delete, Some(row(2, 1)), None),
        ],
        200,
    )
    .unwrap();
    assert_eq!(batch.rows, 4);
    assert_eq!(batch.end, pos(200));
    let kinds: Vec<_> = batch.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["insert", "insert", "update", "delete"]);
    let upd = &batch.events[2];
    assert_eq!(upd.data.as_ref().unwrap().to_json()["status"], "paid");
    assert_eq!(upd.identity.as_ref().unwrap().to_json()["status"], "new");
    assert_eq!(
        upd.data.as_ref().unwrap().to_json()["at"],
        "2023-11-14 22:13:20.000000+00"
    );
    assert_eq!(
        upd.data.as_ref().unwrap().to_json()["doc"],
        serde_json::json!({"a": [1, "x"]}),
        "jsonb columns carry the document"
    );
    assert_eq!(upd.binlog_pos, 200);
    assert_eq!(
        batch.events[3].data.as_ref().unwrap().to_json()["id"],
        "2",
        "a delete carries the row it removes"
    );
}

/// Shop's tables with their primary key known (`PgColumn::key`: id).
struct Keyed;
impl Columns for Keyed {
    fn statement(&mut self, schema: &str, query: &str) -> StatementEvent {
        Shop.statement(schema, query)
    }
    fn columns(&mut self, schema: &str, table: &str) -> Result<Option<Decoders>> {
        Ok(Shop.columns(schema, table)?.map(|defs| {
            Arc::new(defs.iter().map(|(my, pg)| (my.clone(), PgColumn { key: pg.name == "id", ..pg.clone() })).collect())
        }))
    }
}

/// The old row of an update or a delete in a keyed table is its key alone (replay finds the
/// row by it); without a known key it is the whole row (the row is found by all its values).
/// New rows are always whole.
#[test]
fn an_old_row_is_its_key_where_the_table_has_one() {
    let change = |cols: &mut dyn Columns, kind: RowKind| {
        let mut b = BatchBuilder::new(1000);
        b.push(Change::Begin { gtid: None, at: Position::default() }, cols).unwrap();
        let after = (kind == RowKind::Update).then(|| row(1, 2));
        let rows = vec![BinlogRow { before: Some(row(1, 1)), after }];
        b.push(Change::Rows { table: table("shop", "orders"), kind, rows, timestamp: 1 }, cols).unwrap();
        b.push(Change::Commit { next: pos(10), timestamp: 1 }, cols).unwrap();
        b.flush().unwrap().events.remove(0)
    };
    let columns = |image: &Option<Image>| image.as_ref().unwrap().to_json().as_object().unwrap().len();
    let keyed = change(&mut Keyed, RowKind::Update);
    assert_eq!(keyed.identity.as_ref().map(Image::to_json), Some(serde_json::json!({"id": "1"})));
    assert_eq!((keyed.data.as_ref().unwrap().to_json()["status"].as_str(), columns(&keyed.data)), (Some("paid"), 4));
    // the row key travels beside each image, as its value's JSON text
    assert_eq!((keyed.identity.as_ref().unwrap().key(), keyed.data.as_ref().unwrap().key()), ("\"1\"", "\"1\""));
    let deleted = change(&mut Keyed, RowKind::Delete);
    assert_eq!((deleted.kind, deleted.data.as_ref().map(Image::to_json)), (EventKind::Delete, Some(serde_json::json!({"id": "1"}))));
    let keyless = change(&mut Shop, RowKind::Update);
    assert_eq!((keyless.identity.as_ref().unwrap().to_json()["status"].as_str(), columns(&keyless.identity)), (Some("new"), 4));
    let deleted = change(&mut Shop, RowKind::Delete);
    assert_eq!(columns(&deleted.data), 4);
}

/// A transaction begun, with one insert into `schema`.orders, not committed.
fn open_insert(b: &mut BatchBuilder, schema: &str) {
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let rows = vec![BinlogRow {
        before: None,
        after: Some(row(1, 1)),
    }];
    b.push(
        Change::Rows {
            table: table(schema, "orders"),
            kind: RowKind::Insert,
            rows,
            timestamp: 1,
        },
        &mut Shop,
    )
    .unwrap();
}

#[test]
fn an_open_transaction_is_never_in_a_batch() {
    let mut b = BatchBuilder::new(1);
    open_insert(&mut b, "shop");
    assert_eq!(
        b.push(Change::Idle, &mut Shop).unwrap(),
        None,
        "idle in the middle of a transaction, nothing committed: nothing to store"
    );
    let batch = b
        .push(
            Change::Commit {
                next: pos(50),
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap()
        .unwrap();
    assert_eq!(batch.rows, 1);
}

/// A stream resumed by GTID set: the fake rotate names the file's start, the server skips
/// what the set holds, and only its heartbeat says where it stands.
#[test]
fn a_heartbeat_moves_the_resume_point_between_transactions_only() {
    let mut b = BatchBuilder::new(100);
    let at = |p: u64| Position {
        file: "binlog.000208".into(),
        pos: p,
        gtid: Some("u:1-9".into()),
    };
    assert_eq!(b.push(Change::Rotate { next: at(4) }, &mut Shop).unwrap(), None);
    let hb = b
        .push(Change::Heartbeat { at: at(438) }, &mut Shop)
        .unwrap()
        .expect("an empty batch that moves the position");
    assert_eq!((hb.rows, hb.end.pos), (0, 438));
    assert_eq!(
        b.push(Change::Heartbeat { at: at(438) }, &mut Shop).unwrap(),
        None,
        "an idle stream's next heartbeats store nothing"
    );
    tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 500);
    let hb = b
        .push(Change::Heartbeat { at: at(600) }, &mut Shop)
        .unwrap()
        .unwrap();
    assert_eq!((hb.rows, hb.end.pos), (1, 600), "everything before it was sent or skipped");
    open_insert(&mut b, "shop");
    assert_eq!(
        b.push(Change::Heartbeat { at: at(700) }, &mut Shop).unwrap(),
        None,
        "inside a transaction a position is no resume point"
    );
}

#[test]
fn ddl_rotate_and_idle_close_batches() {
    let mut b = BatchBuilder::new(100);
    tx(&mut b, vec![(RowKind::Insert, None, Some(row(1, 1)))], 100);
    let ddl = b
        .push(
            Change::Query {
                schema: "shop".into(),
                query: "ALTER TABLE orders ADD x INT".into(),
                timestamp: 2,
                next: pos(150),
            },
            &mut Shop,
        )
        .unwrap()
        .unwrap();
    assert_eq!((ddl.rows, ddl.ddl, ddl.end.pos), (1, 1, 150));
    assert_eq!(
        ddl.events[1].query.as_deref(),
        Some("-- ALTER TABLE orders ADD x INT")
    );
    assert_eq!(
        ddl.events[1].data.as_ref().map(|d| d.to_json()["mysql"].clone()),
        Some(serde_json::json!("ALTER TABLE orders ADD x INT"))
    );
    tx(&mut b, vec![(RowKind::Insert, None, Some(row(2, 1)))], 200);
    let next_file = Position {
        file: "mysql-bin.000002".into(),
        pos: 4,
        gtid: None,
    };
    let rot = b
        .push(
            Change::Rotate {
                next: next_file.clone(),
            },
            &mut Shop,
        )
        .unwrap()
        .unwrap();
    assert_eq!(rot.end, pos(200), "the batch ends in its own file");
    tx(&mut b, vec![(RowKind::Insert, None, Some(row(3, 1)))], 300);
    let idle = b.push(Change::Idle, &mut Shop).unwrap().unwrap();
    assert_eq!(idle.rows, 1);
    assert_eq!(
        b.push(Change::Idle, &mut Shop).unwrap(),
        None,
        "nothing new since"
    );
}

#[test]
fn statements_on_other_databases_are_not_the_sources() {
    let mut b = BatchBuilder::new(100);
    let q = |schema: &str, query: &str, p: u64| Change::Query {
        schema: schema.into(),
        query: query.into(),
        timestamp: 1,
        next: pos(p),
    };
    assert_eq!(
        b.push(q("", "CREATE TABLE other.t (id int)", 10), &mut Shop)
            .unwrap(),
        None
    );
    assert_eq!(
        b.push(q("other", "DROP TABLE t", 20), &mut Shop).unwrap(),
        None
    );
    let mine = b
        .push(
            q("", "ALTER TABLE `shop`.`orders` ADD x INT", 30),
            &mut Shop,
        )
        .unwrap()
        .unwrap();
    assert_eq!(mine.ddl, 1);
    let mine = b
        .push(q("shop", "ALTER TABLE orders DROP x", 40), &mut Shop)
        .unwrap()
        .unwrap();
    assert_eq!(mine.end, pos(40));
}

#[test]
fn other_tables_are_left_out_knowingly() {
    let mut b = BatchBuilder::new(1);
    open_insert(&mut b, "other");
    assert_eq!(
        b.push(
            Change::Commit {
                next: pos(10),
                timestamp: 1
            },
            &mut Shop
        )
        .unwrap(),
        None
    );
    // when idle, the resume point moves past them without a batch of events
    let moved = b.flush().unwrap();
    assert!(moved.events.is_empty());
    assert_eq!(moved.end, pos(10));
    assert_eq!(b.flush(), None);
}

/// Inserts `n` rows into shop.orders inside the open transaction, one rows event each;
/// returns the batches handed out meanwhile.
fn insert_rows(b: &mut BatchBuilder, ids: std::ops::Range<i64>) -> Vec<Batch> {
    ids.filter_map(|id| {
        b.push(
            Change::Rows {
                table: table("shop", "orders"),
                kind: RowKind::Insert,
                rows: vec![BinlogRow { before: None, after: Some(row(id, 1)) }],
                timestamp: 1,
            },
            &mut Shop,
        )
        .unwrap()
    })
    .collect()
}

fn ids(b: &Batch) -> Vec<i64> {
    b.events.iter().map(|e| e.data.as_ref().unwrap().to_json()["id"].as_str().unwrap().parse().unwrap()).collect()
}

/// A transaction too big for memory comes in parts: the committed transactions before it
/// first, in a batch of their own; parts that hold every row once, in order; the last part
/// at the commit, even when no row is left for it.
#[test]
fn a_big_transaction_comes_in_parts_with_its_commit_last() {
    let mut b = BatchBuilder::new(1000).with_max_memory(2000);
    assert_eq!(tx(&mut b, vec![(RowKind::Insert, None, Some(row(1000, 1)))], 10), None);
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let mut out = insert_rows(&mut b, 0..50);
    assert_eq!(b.push(Change::Idle, &mut Shop).unwrap(), None, "nothing ends a part but its commit");
    out.extend(insert_rows(&mut b, 50..100));
    let first = out.remove(0);
    assert_eq!((ids(&first), first.continues, first.end.pos), (vec![1000], false, 10), "the committed one first");
    assert!(out.len() > 3 && out.iter().all(|p| p.continues && p.ddl == 0), "{} parts", out.len());
    let last = b.push(Change::Commit { next: pos(500), timestamp: 1 }, &mut Shop).unwrap().unwrap();
    assert!(!last.continues);
    assert_eq!(last.end.pos, 500);
    out.push(last);
    let all: Vec<i64> = out.iter().flat_map(ids).collect();
    assert_eq!(all, (0..100).collect::<Vec<_>>(), "every row once, in order");
    assert_eq!(out.iter().map(|p| p.rows).sum::<usize>(), 100);

    // a part handed out just before the commit: the commit still ends the transaction
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let parts = insert_rows(&mut b, 0..200);
    let rows_out: usize = parts.iter().map(|p| p.rows).sum();
    let last = b.push(Change::Commit { next: pos(900), timestamp: 1 }, &mut Shop).unwrap().unwrap();
    assert_eq!((last.continues, last.end.pos, rows_out + last.rows), (false, 900, 200));
}

/// Without a limit (0) a transaction stays whole; a transaction in parts that meets anything
/// but its rows and its commit stops.
#[test]
fn parts_only_with_a_limit_and_only_for_rows() {
    let mut b = BatchBuilder::new(1000);
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    assert!(insert_rows(&mut b, 0..100).is_empty());
    let whole = b.push(Change::Commit { next: pos(500), timestamp: 1 }, &mut Shop).unwrap();
    assert_eq!(whole, None, "committed, waiting for more (batch_size 1000)");
    assert_eq!(b.flush().unwrap().rows, 100);

    let mut b = BatchBuilder::new(1000).with_max_memory(2000);
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    assert!(!insert_rows(&mut b, 0..100).is_empty());
    assert!(!insert_rows(&mut b, 100..200).is_empty(), "the rest comes in parts too");
    let e = b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap_err();
    assert!(e.message.contains("in parts"), "{}", e.message);
}

/// Binary and text values above BIG_VALUE_BYTES leave the image (no hex inside jsonb) and go
/// beside it, the update's old ones too; the log rows put them back as PostgreSQL's input text.
#[test]
fn big_values_travel_beside_their_images() {
    let cols = |_| ColumnInfo { name: None, ty: ColumnType::MYSQL_TYPE_BLOB, meta: vec![], unsigned: false, labels: None };
    let files = || {
        Arc::new(TableInfo {
            schema: "shop".into(),
            name: "files".into(),
            columns: vec![ColumnInfo { ty: ColumnType::MYSQL_TYPE_LONG, ..cols(0) }, cols(1), cols(2)],
            primary_key: vec![0],
        })
    };
    let big = BIG_VALUE_BYTES + 1;
    let body: Vec<u8> = (0..big).map(|i| (i % 251) as u8).collect();
    let note = "é".repeat(big / 2 + 1);
    let file = |id: i64, body: &[u8], note: &str| vec![Some(V::Int(id)), Some(V::Bytes(body.to_vec())), Some(V::Bytes(note.as_bytes().to_vec()))];
    let mut b = BatchBuilder::new(1000);
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let rows = vec![
        BinlogRow { before: None, after: Some(file(1, &body, &note)) },
        BinlogRow { before: None, after: Some(file(2, b"small", "small")) },
    ];
    b.push(Change::Rows { table: files(), kind: RowKind::Insert, rows, timestamp: 1 }, &mut Shop).unwrap();
    let rows = vec![BinlogRow { before: Some(file(1, &body, &note)), after: Some(file(1, b"x", &note)) }];
    b.push(Change::Rows { table: files(), kind: RowKind::Update, rows, timestamp: 1 }, &mut Shop).unwrap();
    b.push(Change::Commit { next: pos(10), timestamp: 1 }, &mut Shop).unwrap();
    let batch = b.flush().unwrap();
    let [first, second, update] = &batch.events[..] else { panic!("three events") };
    assert_eq!(first.data.as_ref().map(Image::to_json), Some(serde_json::json!({"id": "1"})), "the big values are not in the image");
    let first_big = first.big.as_deref().unwrap();
    assert_eq!(first_big.data, vec![("body".to_string(), BigValue::Bytes(body.clone())), ("note".to_string(), BigValue::Text(note.clone()))]);
    assert_eq!((second.big.is_none(), second.data.as_ref().unwrap().to_json()["body"].as_str()), (true, Some("\\x736d616c6c")));
    let update_big = update.big.as_deref().unwrap();
    assert_eq!((update_big.data.len(), update_big.identity.len()), (1, 2), "the new note; the old body and note");
    assert_eq!(update.data.as_ref().unwrap().to_json()["body"], "\\x78");

    let rows = batch.log_rows();
    let logged: Json = serde_json::from_str(rows.data[0].as_deref().unwrap()).unwrap();
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(logged["body"].as_str().unwrap(), format!("\\x{hex}"));
    assert_eq!(logged["note"].as_str().unwrap(), note);
    let old: Json = serde_json::from_str(rows.identities[2].as_deref().unwrap()).unwrap();
    assert_eq!(old["body"].as_str().unwrap().len(), 2 + 2 * body.len());

    // transactions of one big row each: the batch ends at the commit that passes max_memory
    let mut b = BatchBuilder::new(1000).with_max_memory(2 * big);
    let mut batches = Vec::new();
    for id in 0..5 {
        b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
        let rows = vec![BinlogRow { before: None, after: Some(file(id, &body, "n")) }];
        assert_eq!(b.push(Change::Rows { table: files(), kind: RowKind::Insert, rows, timestamp: 1 }, &mut Shop).unwrap(), None, "a row is no part");
        batches.extend(b.push(Change::Commit { next: pos(100 + id as u64), timestamp: 1 }, &mut Shop).unwrap());
    }
    assert_eq!(batches.iter().map(|b| (b.rows, b.end.pos)).collect::<Vec<_>>(), vec![(2, 101), (2, 103)]);
}

/// A row image is JSON text: quotes, backslashes and control characters in values come back
/// as they were; a JSON column that does not hold a document stops with where and why.
#[test]
fn row_images_escape_their_text_and_refuse_a_broken_document() {
    let mut b = BatchBuilder::new(1);
    let mut odd = row(1, 1);
    odd[3] = Some(V::Bytes(b"  [\"a\\\"b\", 1.50000000000000000001]\n".to_vec()));
    let batch = tx(&mut b, vec![(RowKind::Insert, None, Some(odd))], 100).unwrap();
    let image = batch.events[0].data.as_ref().unwrap();
    assert_eq!(image.to_json()["doc"], serde_json::from_str::<Json>(r#"["a\"b", 1.50000000000000000001]"#).unwrap());
    assert!(image.json().contains("1.50000000000000000001"), "the document as MySQL sent it: {}", image.json());
    assert_eq!(image.key(), image.json(), "no key known: the whole image identifies the row");

    let mut broken = row(2, 1);
    broken[3] = Some(V::Bytes(b"{\"a\": ".to_vec()));
    b.push(Change::Begin { gtid: None, at: Position::default() }, &mut Shop).unwrap();
    let e = b
        .push(
            Change::Rows { table: table("shop", "orders"), kind: RowKind::Insert, rows: vec![BinlogRow { before: None, after: Some(broken) }], timestamp: 1 },
            &mut Shop,
        )
        .unwrap_err();
    assert!(e.message.contains("not a JSON document"), "{e:?}");
    let detail = e.detail.unwrap_or_default();
    assert!(detail.starts_with("shop.orders column doc: ") && detail.contains("EOF"), "{detail}");
}

/// A table copied after the stream's start: the rows and schema changes of transactions at or
/// before its copy point are in the copy and skipped; the others' are kept, and other tables'
/// always.
#[test]
fn changes_a_copy_holds_are_skipped() {
    let point = crate::snapshot::Coordinates { binlog_file: "mysql-bin.000001".into(), binlog_position: 500, gtid: String::new() };
    let h = Handover::new("shop", vec![("orders".into(), point)], &pos(100));
    let mut b = BatchBuilder::new(1000).with_handover(h);
    let rows = |b: &mut BatchBuilder, start: u64, end: u64, name: &str| {
        b.push(Change::Begin { gtid: None, at: pos(start) }, &mut Shop).unwrap();
        let (t, after) = if name == "files" {
            let mut t = (*table("shop", name)).clone();
            t.columns.truncate(3);
            (Arc::new(t), vec![Some(V::Int(1)), Some(V::Bytes(b"b".to_vec())), Some(V::Bytes(b"n".to_vec()))])
        } else {
            (table("shop", name), row(start as i64, 1))
        };
        let r = vec![BinlogRow { before: None, after: Some(after) }];
        b.push(Change::Rows { table: t, kind: RowKind::Insert, rows: r, timestamp: 1 }, &mut Shop).unwrap();
        b.push(Change::Commit { next: pos(end), timestamp: 1 }, &mut Shop).unwrap();
    };
    rows(&mut b, 200, 300, "orders"); // before the point: in the copy
    rows(&mut b, 310, 400, "files"); // another table: kept
    let ddl = |at: u64| Change::Query { schema: "shop".into(), query: "ALTER TABLE orders ADD x int".into(), timestamp: 1, next: pos(at) };
    assert!(b.push(ddl(450), &mut Shop).unwrap().is_none(), "a schema change the copy has: skipped");
    rows(&mut b, 510, 600, "orders"); // after: kept
    let batch = b.push(ddl(650), &mut Shop).unwrap().expect("a schema change after the point ends the batch");
    let kept: Vec<(String, String)> = batch.events.iter().map(|e| (e.table.to_string(), format!("{:?}", e.kind))).collect();
    assert_eq!(
        kept,
        [("files", "Insert"), ("orders", "Insert"), ("orders", "Ddl")].map(|(t, k)| (t.to_string(), k.to_string()))
    );
    assert_eq!((batch.rows, batch.ddl), (2, 1));
}
