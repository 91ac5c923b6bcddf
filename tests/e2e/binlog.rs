//! The binlog reader (chameleon-core) against the real MariaDB: transactions with their GTIDs,
//! decoded values, DDL, rotation, resuming from a commit position; a purged position on
//! MariaDB and MySQL 9.7. (MySQL's reader, whose values, GTID sets and metadata differ, is
//! tested in mysql.rs: binary JSON, GTID sets, compressed transactions, resume.)

use chameleon_core::binlog::{BinlogReader, Change, Position, RowKind};
use chameleon_core::conn::MysqlConn;
use chameleon_core::handover::after;
use chameleon_core::snapshot::{consistent_snapshots, Coordinates};
use mysql::prelude::Queryable;
use chameleon_e2e::*;
use mysql::Value;

fn read_all(from: &Position) -> Vec<Change> {
    let conn = MysqlConn::parse(&mysql_url("it_binlog")).unwrap();
    let mut r = BinlogReader::open(&conn, 4242, from, true).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_change().unwrap() {
            Change::Idle => return out,
            c => out.push(c),
        }
    }
}

/// Changes on it_binlog only (the server is shared with other tests).
fn ours(changes: &[Change]) -> Vec<&Change> {
    changes
        .iter()
        .filter(|c| match c {
            Change::Rows { table, .. } => &*table.schema == "it_binlog",
            Change::Query { query, .. } => query.contains("it_binlog"),
            _ => false,
        })
        .collect()
}

#[test]
fn reads_transactions_values_ddl_and_rotation() {
    mariadb("DROP DATABASE IF EXISTS it_binlog; CREATE DATABASE it_binlog;
             CREATE TABLE it_binlog.t (id INT PRIMARY KEY, mi MEDIUMINT, biu BIGINT UNSIGNED, v VARCHAR(20),
                                       j JSON, d DECIMAL(10,2), ts DATETIME(6), e ENUM('x','y'));");
    let status = mariadb("SHOW MASTER STATUS");
    let mut f = status.split('\t');
    let start = Position {
        file: f.next().unwrap().to_string(),
        pos: f.next().unwrap().parse().unwrap(),
        gtid: None,
    };
    mariadb("BEGIN;
             INSERT INTO it_binlog.t VALUES (1, -1, 18446744073709551615, 'héllo 🦎', '{\"a\": 1}', -1.50, '2024-01-01 00:00:00.5', 'y');
             INSERT INTO it_binlog.t VALUES (2, -8388608, 0, NULL, NULL, 0, NULL, 'x');
             COMMIT;
             UPDATE it_binlog.t SET v = 'x' WHERE id = 1;
             DELETE FROM it_binlog.t WHERE id = 2;
             ALTER TABLE it_binlog.t ADD COLUMN extra INT;
             INSERT INTO it_binlog.t (id, extra) VALUES (3, 7);
             FLUSH BINARY LOGS;
             INSERT INTO it_binlog.t (id) VALUES (4);");
    let all = read_all(&start);
    let mine = ours(&all);
    let kinds: Vec<String> = mine
        .iter()
        .map(|c| match c {
            Change::Rows { kind, rows, .. } => format!("{kind:?}x{}", rows.len()),
            Change::Query { query, .. } => format!(
                "Query({})",
                query
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => unreachable!(),
        })
        .collect();
    // the two inserts of one transaction may come as one rows event or two
    let joined = kinds.join(" ");
    assert!(
        joined == "Insertx2 Updatex1 Deletex1 Query(ALTER TABLE) Insertx1 Insertx1"
            || joined == "Insertx1 Insertx1 Updatex1 Deletex1 Query(ALTER TABLE) Insertx1 Insertx1",
        "{joined}"
    );

    // values, with column names from binlog_row_metadata=FULL
    let Change::Rows { table, rows, .. } = mine[0] else {
        unreachable!()
    };
    let names: Vec<_> = table
        .columns
        .iter()
        .map(|c| c.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["id", "mi", "biu", "v", "j", "d", "ts", "e"]);
    assert_eq!(table.primary_key, vec![0]);
    let after = rows[0].after.as_ref().unwrap();
    assert_eq!(
        after[1],
        Some(Value::Int(-1)),
        "signed MEDIUMINT sign-extended"
    );
    assert_eq!(after[2], Some(Value::UInt(u64::MAX)));
    assert_eq!(after[3], Some(Value::Bytes("héllo 🦎".as_bytes().to_vec())));
    assert_eq!(
        after[4],
        Some(Value::Bytes(b"{\"a\": 1}".to_vec())),
        "MariaDB JSON arrives as its text"
    );
    assert_eq!(after[5], Some(Value::Bytes(b"-1.50".to_vec())));
    assert_eq!(after[6], Some(Value::Date(2024, 1, 1, 0, 0, 0, 500_000)));
    assert_eq!(
        after[7],
        Some(Value::Int(2)),
        "ENUM arrives as its 1-based index"
    );
    let second = mine.iter().find_map(|c| match c {
        Change::Rows {
            rows,
            kind: RowKind::Insert,
            ..
        } => rows
            .iter()
            .find(|r| r.after.as_ref().unwrap()[0] == Some(Value::Int(2))),
        _ => None,
    });
    let second = second.unwrap().after.as_ref().unwrap();
    assert_eq!(second[1], Some(Value::Int(-8_388_608)));
    assert_eq!(second[3], Some(Value::NULL));
    // the update carries both images (row image FULL)
    let upd = mine
        .iter()
        .find_map(|c| match c {
            Change::Rows {
                kind: RowKind::Update,
                rows,
                ..
            } => Some(rows),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        upd[0].before.as_ref().unwrap()[3],
        Some(Value::Bytes("héllo 🦎".as_bytes().to_vec()))
    );
    assert_eq!(
        upd[0].after.as_ref().unwrap()[3],
        Some(Value::Bytes(b"x".to_vec()))
    );
    // after the ALTER the table has a new shape
    let Change::Rows { table: t3, .. } = mine[mine.len() - 2] else {
        unreachable!()
    };
    assert_eq!(t3.columns.len(), 9);

    // transactions: every row change sits between a Begin with a GTID and a Commit
    let mut open = false;
    let mut gtids = Vec::new();
    for c in &all {
        match c {
            Change::Begin { gtid, at } => {
                assert!(!open, "nested transaction");
                open = true;
                gtids.push(gtid.clone().expect("MariaDB GTID"));
                assert_eq!(at.gtid, *gtid, "a transaction's start carries its own GTID");
                assert!(at.pos > 0 && !at.file.is_empty());
            }
            Change::Rows { .. } => assert!(open, "rows outside a transaction"),
            Change::Commit { .. } => {
                assert!(open);
                open = false;
            }
            Change::Query { .. } => open = false, // DDL is its own transaction
            Change::Rotate { next } => assert!(
                next.file >= start.file && next.file.starts_with("mysql-bin."),
                "{next:?}: the fake first rotate names the start file, without checksum bytes"
            ),
            Change::Idle | Change::Heartbeat { .. } => unreachable!(),
        }
    }
    let seqs: Vec<u64> = gtids
        .iter()
        .map(|g| g.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "GTIDs increase: {gtids:?}"
    );
    let rotated = all
        .iter()
        .any(|c| matches!(c, Change::Rotate { next } if next.file != start.file));
    assert!(rotated, "FLUSH BINARY LOGS gives a Rotate to the next file");

    // resuming after our first transaction's commit gives exactly what follows (the server is
    // shared: other tests' transactions may come first)
    let ours_from = all
        .iter()
        .position(|c| matches!(c, Change::Rows { table, .. } if &*table.schema == "it_binlog"))
        .unwrap();
    let first_commit = all[ours_from..]
        .iter()
        .find_map(|c| match c {
            Change::Commit { next, .. } => Some(next.clone()),
            _ => None,
        })
        .unwrap();
    let after_first = read_all(&first_commit);
    let rest = ours(&after_first);
    assert_eq!(
        rest.len(),
        mine.len() - if joined.starts_with("Insertx2") { 1 } else { 2 }
    );
    assert!(rest.iter().all(|c| !matches!(c, Change::Rows { kind: RowKind::Insert, rows, .. } if rows.iter().any(|r| r.after.as_ref().unwrap()[0] == Some(Value::Int(1))))));
}

both!(a_purged_position_is_a_clear_error);

fn a_purged_position_is_a_clear_error(s: Server) {
    let conn = MysqlConn::parse(&s.url("mysql")).unwrap();
    let e = BinlogReader::open(
        &conn,
        4243,
        &Position {
            file: "mysql-bin.999999".into(),
            pos: 4,
            gtid: None,
        },
        true,
    )
    .and_then(|mut r| r.next_change().map(|_| r))
    .err()
    .expect("no such binlog");
    assert_eq!(e.state.code(), "55000", "{e:?}");
    assert!(
        e.hint.as_deref().unwrap_or("").contains("init_replica"),
        "{e:?}"
    );
}

both!(commits_hand_over_at_the_copy_point);

/// `handover::after` against the real servers: the coordinates of consistent snapshots (as
/// init_replica takes them; three readers at one point, each seeing the rows committed before
/// it and none after) and transactions committed before and after them, read back from the
/// binlog: exactly those after the snapshot come after the copy point — by GTIDs, and by the
/// binlog coordinates alone with the GTIDs left out.
fn commits_hand_over_at_the_copy_point(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_handover; CREATE DATABASE it_handover; CREATE TABLE it_handover.t (id INT PRIMARY KEY)");
    let (file, pos) = s.position();
    s.run("INSERT INTO it_handover.t VALUES (1); INSERT INTO it_handover.t VALUES (2)");
    let conn = MysqlConn::parse(&s.url("it_handover")).unwrap();
    // (three readers at one point, as parallel copies take it)
    let (mut snapshots, point) = consistent_snapshots(&conn, 10, 3).unwrap();
    assert!(!point.gtid.is_empty(), "the test servers have GTIDs");
    s.run("INSERT INTO it_handover.t VALUES (3); INSERT INTO it_handover.t VALUES (4)");
    for reader in &mut snapshots {
        let ids: Vec<i32> = reader.query("SELECT id FROM it_handover.t ORDER BY id").unwrap();
        assert_eq!(ids, [1, 2], "each snapshot sees the copy point");
    }

    let mut r = BinlogReader::open(&conn, 4244, &Position { file, pos: pos as u64, gtid: None }, true).unwrap();
    let (mut pending, mut commits) = (Vec::new(), Vec::new());
    loop {
        match r.next_change().unwrap() {
            Change::Idle => break,
            Change::Rows { table, rows, .. } if &*table.schema == "it_handover" => {
                pending.extend(rows.into_iter().map(|row| row.after.unwrap()[0].clone()));
            }
            Change::Commit { next, .. } => commits.extend(pending.drain(..).map(|id| (id, next.clone()))),
            _ => {}
        }
    }
    let ids: Vec<Option<Value>> = commits.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, (1..=4).map(|i| Some(Value::Int(i))).collect::<Vec<_>>());
    let without_gtids = Coordinates { gtid: String::new(), ..point.clone() };
    for (id, at) in &commits {
        let later = *id > Some(Value::Int(2));
        assert_eq!(after(&point, at), later, "by GTIDs: {id:?} committed at {at:?}, copy point {point:?}");
        let plain = Position { gtid: None, ..at.clone() };
        assert_eq!(after(&without_gtids, &plain), later, "by coordinates: {id:?} at {plain:?}, copy point {point:?}");
    }
}
