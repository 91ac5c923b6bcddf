//! Oracle MySQL 9.7 with its defaults (GTIDs on, caching_sha2_password, binlog_row_metadata
//! MINIMAL): the binlog reader follows GTID sets, reads compressed transactions and decodes
//! binary JSON exactly as MySQL itself prints the documents; chameleon copies and replicates a
//! database from it.

use chameleon_core::binlog::{BinlogReader, Change, Position};
use chameleon_core::conn::MysqlConn;
use chameleon_core::gtid::GtidSet;
use chameleon_e2e::*;
use mysql::Value;
use postgres::Client;

/// One test at a time: they read the server's whole binlog and its GTID sets, which the
/// others' writes would move under them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn read_all(db: &str, from: &Position) -> (Vec<Change>, Option<String>) {
    let conn = MysqlConn::parse(&mysql97_url(db)).unwrap();
    let mut r = BinlogReader::open(&conn, 4243, from, true).unwrap();
    let mut out = Vec::new();
    let mut last_gtid = None;
    loop {
        match r.next_change().unwrap() {
            Change::Idle => return (out, last_gtid),
            Change::Commit { next, .. } => {
                last_gtid = next.gtid.clone();
                out.push(Change::Commit {
                    next,
                    timestamp: 0,
                });
            }
            c => out.push(c),
        }
    }
}

/// The JSON documents of `it_my_json.t` as the reader decoded them, by id.
fn json_from_binlog(changes: &[Change]) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for c in changes {
        if let Change::Rows { table, rows, .. } = c {
            if &*table.schema != "it_my_json" {
                continue;
            }
            for r in rows {
                let after = r.after.as_ref().unwrap();
                match (&after[0], &after[1]) {
                    (Some(Value::Int(id)), Some(Value::Bytes(j))) => {
                        out.push((*id, String::from_utf8(j.clone()).unwrap()))
                    }
                    (Some(Value::Int(_)), Some(Value::NULL)) => {}
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    out
}

/// A JSON number's value as digits and a power of ten (`-2.5e-7` and `-0.00000025` alike; the
/// text kept exactly: serde_json reads numbers with arbitrary precision here).
fn number_value(text: &str) -> String {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap()),
        None => (text, 0),
    };
    let neg = mantissa.starts_with('-');
    let m = mantissa.trim_start_matches('-');
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{int}{frac}");
    let exp = exp - frac.len() as i64;
    let trimmed = digits.trim_start_matches('0');
    let zeros = trimmed.len() - trimmed.trim_end_matches('0').len();
    let digits = trimmed.trim_end_matches('0');
    if digits.is_empty() {
        return "0".into();
    }
    format!("{}{digits}e{}", if neg { "-" } else { "" }, exp + zeros as i64)
}

/// A document with its numbers by value and its keys sorted, for comparing two documents.
fn canonical(text: &str) -> String {
    fn walk(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Number(n) => serde_json::Value::String(number_value(&n.to_string())),
            serde_json::Value::Array(a) => a.into_iter().map(walk).collect(),
            serde_json::Value::Object(o) => o.into_iter().map(|(k, v)| (k, walk(v))).collect(),
            other => other,
        }
    }
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    walk(v).to_string()
}

#[test]
fn binlog_json_gtids_and_compressed_transactions() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    mysql97("DROP DATABASE IF EXISTS it_my_json; CREATE DATABASE it_my_json;
             CREATE TABLE it_my_json.t (id INT PRIMARY KEY, j JSON, n INT);");
    let (file, pos, gtid) = mysql97_position();
    let start = Position {
        file,
        pos: pos as u64,
        gtid: Some(gtid.clone()),
    };
    let big = (0..2000)
        .map(|i| format!("\"k{i}\": [{i}, \"{}\"]", "x".repeat(i % 50)))
        .collect::<Vec<_>>()
        .join(", ");
    let deep = (0..45).fold("1".to_string(), |acc, i| format!("{{\"d{i}\": [{acc}]}}"));
    mysql97(&format!(
        "INSERT INTO it_my_json.t VALUES
           (1, '{{\"uint\": 18446744073709551615, \"int\": -9223372036854775808, \"dbl\": 0.1, \"exp\": 1.5e300, \"neg\": -2.5e-7}}', 1),
           (2, JSON_OBJECT('dec', CAST('12345678901234567890.123456789' AS DECIMAL(40,9)), 'd', CAST('2024-02-29' AS DATE),
                           'dt', CAST('2024-02-29 23:59:59.123456' AS DATETIME(6)), 't', CAST('-838:59:59' AS TIME),
                           'bin', CAST(x'00ff' AS BINARY), 's', 'héllo \"🦎\" \\\\ \\n'), 2),
           (3, '[true, false, null, \"\", [], {{}}]', 3),
           (4, '{{{big}}}', 4),
           (5, '{deep}', 5),
           (6, NULL, 6);
         SET SESSION binlog_transaction_compression = ON;
         BEGIN;
         INSERT INTO it_my_json.t VALUES (7, '{{\"compressed\": [1, 2.50, \"x\"]}}', 7);
         UPDATE it_my_json.t SET n = n + 100 WHERE id <= 3;
         COMMIT;
         SET SESSION binlog_transaction_compression = OFF;
         INSERT INTO it_my_json.t VALUES (8, '\"scalar\"', 8);"
    ));
    let written = GtidSet::parse(&mysql97_position().2).unwrap();
    let (changes, last_gtid) = read_all("it_my_json", &start);
    // every document as MySQL prints it
    let mine = json_from_binlog(&changes);
    let theirs: Vec<(i64, String)> = mysql97("SELECT id, CAST(j AS CHAR) FROM it_my_json.t WHERE j IS NOT NULL ORDER BY id")
        .lines()
        .map(|l| {
            let (id, j) = l.split_once('\t').unwrap();
            // the client's batch mode doubles backslashes
            (id.parse().unwrap(), j.replace("\\\\", "\\"))
        })
        .collect();
    for (id, text) in &theirs {
        let ours = mine
            .iter()
            .rev()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("row {id} not read"));
        assert_eq!(canonical(&ours.1), canonical(text), "row {id}");
    }
    // exact numbers, not their nearest double
    let row1 = &mine.iter().find(|(i, _)| *i == 1).unwrap().1;
    assert!(row1.contains("18446744073709551615") && row1.contains("-9223372036854775808"), "{row1}");
    let row2 = &mine.iter().find(|(i, _)| *i == 2).unwrap().1;
    assert!(row2.contains("12345678901234567890.123456789"), "{row2}");
    assert!(row2.contains("\"2024-02-29 23:59:59.123456\"") && row2.contains("\"2024-02-29\""), "{row2}");
    // the compressed transaction arrived whole, and positions moved past it
    let updates = changes
        .iter()
        .filter(|c| matches!(c, Change::Rows { table, rows, .. } if &*table.schema == "it_my_json" && rows.iter().any(|r| r.before.is_some())))
        .count();
    assert!(updates >= 1, "the compressed transaction's update");
    assert!(mine.iter().any(|(i, _)| *i == 7) && mine.iter().any(|(i, _)| *i == 8));
    // the executed GTID set the reader tracked is MySQL's (other tests may write meanwhile)
    let tracked = GtidSet::parse(&last_gtid.unwrap()).unwrap();
    let now = GtidSet::parse(&mysql97_position().2).unwrap();
    assert!(tracked.includes(&written) && now.includes(&tracked), "{tracked} between {written} and {now}");
    let commits: Vec<&Change> = changes.iter().filter(|c| matches!(c, Change::Commit { .. })).collect();
    assert!(commits.len() >= 3, "{} commits", commits.len());
    // resuming from the position after the compressed transaction reads only what followed
    // (other tests write to the server too: the commit after the row with id 7)
    let mut seen = false;
    let after_compressed = changes
        .iter()
        .find_map(|c| match c {
            Change::Rows { table, rows, .. } if &*table.schema == "it_my_json" => {
                seen |= rows.iter().any(|r| r.after.as_ref().is_some_and(|a| a[0] == Some(Value::Int(7))));
                None
            }
            Change::Commit { next, .. } if seen => Some(next.clone()),
            _ => None,
        })
        .unwrap();
    let (rest, _) = read_all("it_my_json", &after_compressed);
    assert_eq!(json_from_binlog(&rest), vec![(8, "\"scalar\"".to_string())], "from {after_compressed:?}: {rest:?}");
}

// doc (JSON) is compared by value, apart: MySQL prints a double as 1.2345678901234567e19
// where PostgreSQL's jsonb prints 12345678901234567000
const MY_ITEMS: [&str; 11] = [
    "id",
    "name",
    "qty",
    "price",
    "DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')",
    "st",
    "mi",
    "big",
    "f",
    "TIME_FORMAT(t, '%H:%i:%s.%f')",
    "HEX(b)",
];
const PG_ITEMS: [&str; 11] = [
    "id",
    "name",
    "qty",
    "price",
    "to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')",
    "st",
    "mi",
    "big",
    "f",
    "to_char(t, 'HH24:MI:SS.US')",
    "upper(encode(b, 'hex'))",
];

fn assert_equal(c: &mut Client, db: &str, items: &[&str], pg_items: &[&str]) {
    let (m, p) = MYSQL97.checksums(c, db, db, "items", "id", items, pg_items);
    assert_eq!(m, p, "items");
    let theirs: Vec<(i64, String)> = mysql97(&format!("SELECT id, CAST(doc AS CHAR) FROM {db}.items WHERE doc IS NOT NULL ORDER BY id"))
        .lines()
        .map(|l| {
            let (id, j) = l.split_once('\t').unwrap();
            (id.parse().unwrap(), canonical(&j.replace("\\\\", "\\")))
        })
        .collect();
    let ours: Vec<(i64, String)> = c
        .query(&format!("SELECT id::bigint, doc::text FROM {db}.items WHERE doc IS NOT NULL ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), canonical(r.get(1))))
        .collect();
    assert_eq!(theirs, ours, "items.doc by value");
    let (m, p) = MYSQL97.checksums(c, db, db, "tags", "k,v", &["k", "v"], &["k", "v"]);
    assert_eq!(m, p, "tags (no primary key)");
}

/// The VECTOR column of `db.vec` on both sides, element by element and bit for bit: MySQL's
/// stored float32s (from HEX) and PostgreSQL's real[].
fn assert_vectors_equal(c: &mut Client, db: &str) {
    let my: Vec<(i64, Option<Vec<u32>>)> = mysql97(&format!("SELECT id, COALESCE(HEX(v), 'NULL') FROM {db}.vec ORDER BY id"))
        .lines()
        .map(|l| {
            let (id, hex) = l.split_once('\t').unwrap();
            let bits = (hex != "NULL").then(|| {
                (0..hex.len() / 8)
                    .map(|i| {
                        let b = |j: usize| u8::from_str_radix(&hex[i * 8 + j * 2..i * 8 + j * 2 + 2], 16).unwrap();
                        u32::from_le_bytes([b(0), b(1), b(2), b(3)])
                    })
                    .collect()
            });
            (id.parse().unwrap(), bits)
        })
        .collect();
    let pg: Vec<(i64, Option<Vec<u32>>)> = c
        .query(&format!("SELECT id::bigint, v FROM {db}.vec ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| {
            let v: Option<Vec<f32>> = r.get(1);
            (r.get(0), v.map(|v| v.iter().map(|f| f.to_bits()).collect()))
        })
        .collect();
    assert_eq!(my, pg, "VECTOR values");
    assert!(my.len() >= 2);
}

/// A database on MySQL 9.7 with its defaults — caching_sha2_password over TCP without TLS,
/// binlog_row_metadata MINIMAL (no column names in the binlog), GTIDs — copied by init_replica
/// and followed under a workload with binary JSON, compressed transactions, a schema change
/// and a stop and start; both sides equal by checksums of canonical row text.
#[test]
fn copies_and_replicates_from_mysql() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let db = "it_my_rep";
    mysql97(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};
         CREATE TABLE {db}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), qty INT NOT NULL,
             price DECIMAL(10,2), ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), st ENUM('A','b') DEFAULT 'A',
             doc JSON, mi MEDIUMINT, big BIGINT UNSIGNED, f DOUBLE, t TIME(3), b VARBINARY(20)) DEFAULT CHARSET=utf8mb4;
         CREATE TABLE {db}.tags (k VARCHAR(10), v INT);
         CREATE TABLE {db}.vec (id INT PRIMARY KEY, v VECTOR(3));
         INSERT INTO {db}.vec VALUES (1, STRING_TO_VECTOR('[0.1, -2.25, 3.4028235e38]')), (2, NULL);
         INSERT INTO {db}.items (name, qty, price, st, doc, mi, big, f, t, b)
           SELECT CONCAT('item ', n), n, n * 1.5, IF(n % 2 = 0, 'A', 'b'),
                  JSON_OBJECT('n', n, 'half', n / 2, 'tags', JSON_ARRAY('x', n)), -n, 18446744073709551615 - n,
                  n / 7, SEC_TO_TIME(n * 37.125), UNHEX(HEX(n))
             FROM (WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 500) SELECT n FROM seq) s;
         INSERT INTO {db}.tags VALUES ('a', 1), ('a', 1), ('b', NULL);"
    ));
    let mut c = db_with_extension("mysql97_rep");
    c.execute(
        &format!("SELECT chameleon.add_source('rep', '{db}', $1, batch_size => 200)"),
        &[&mysql97_url(db)],
    )
    .unwrap();
    let copied: i64 = one(&mut c, "SELECT chameleon.init_replica('rep')");
    assert_eq!(copied, 505);
    assert_equal(&mut c, db, &MY_ITEMS, &PG_ITEMS);
    assert_vectors_equal(&mut c, db);
    // the copy's position carries MySQL's executed GTID set
    let gtid: String = one(&mut c, "SELECT gtid FROM chameleon.show_status()");
    assert!(chameleon_core::gtid::is_mysql_set(&gtid), "{gtid}");

    c.batch_execute("SELECT chameleon.start_replica('rep')").unwrap();
    wait_for_worker(&mut c, true);
    mysql97(&format!(
        "INSERT INTO {db}.items (name, qty, price, doc, big) VALUES
           ('json', 1, 2.50, '{{\"uint\": 18446744073709551615, \"dec\": 12345678901234567890.5, \"deep\": [[[{{\"a\": null}}]]]}}', 0);
         UPDATE {db}.items SET qty = qty + 1, doc = JSON_SET(doc, '$.n', 'changed') WHERE id % 10 = 0;
         DELETE FROM {db}.items WHERE id % 7 = 0;
         SET SESSION binlog_transaction_compression = ON;
         BEGIN;
         INSERT INTO {db}.items (name, qty, st, doc) VALUES ('compressed', 5, 'b', JSON_ARRAY(1, 2.25, 'z'));
         UPDATE {db}.tags SET v = 2 WHERE k = 'b';
         DELETE FROM {db}.tags WHERE k = 'a' LIMIT 1;
         COMMIT;
         SET SESSION binlog_transaction_compression = OFF;
         INSERT INTO {db}.vec VALUES (3, STRING_TO_VECTOR('[1.5e-38, 7, 0.3333333]'));
         UPDATE {db}.vec SET v = STRING_TO_VECTOR('[-0.0, 1.17549435e-38, 16777217]') WHERE id = 2;
         ALTER TABLE {db}.items ADD COLUMN note VARCHAR(20) DEFAULT 'new' AFTER name;
         INSERT INTO {db}.items (name, note, qty) VALUES ('after alter', 'x', 9);"
    ));
    caught_up_mysql97(&mut c);
    let mut items: Vec<&str> = MY_ITEMS.to_vec();
    items.push("note");
    let mut pg_items: Vec<&str> = PG_ITEMS.to_vec();
    pg_items.push("note");
    assert_equal(&mut c, db, &items, &pg_items);
    assert_vectors_equal(&mut c, db);

    // stopped, MySQL moves on, started: it resumes where it stopped
    c.batch_execute("SELECT chameleon.stop_replica('rep')").unwrap();
    wait_for_worker(&mut c, false);
    mysql97(&format!(
        "UPDATE {db}.items SET price = price * 2 WHERE id < 50;
         INSERT INTO {db}.tags VALUES ('c', 3);"
    ));
    c.batch_execute("SELECT chameleon.start_replica('rep')").unwrap();
    caught_up_mysql97(&mut c);
    assert_equal(&mut c, db, &items, &pg_items);
    let (_, _, executed) = mysql97_position();
    let stored: String = one(&mut c, "SELECT gtid FROM chameleon.show_status()");
    let stored = chameleon_core::gtid::GtidSet::parse(&stored).unwrap();
    assert!(
        chameleon_core::gtid::GtidSet::parse(&executed)
            .unwrap()
            .includes(&stored),
        "the stored GTID set is MySQL's ({stored} within {executed})"
    );

    // stopped and started with nothing new: the server skips everything the set holds and
    // names the start of its file first; the position stays the server's (it went back to
    // the file's start before, and a quiet source never looked caught up again)
    c.batch_execute("SELECT chameleon.stop_replica('rep')").unwrap();
    wait_for_worker(&mut c, false);
    c.batch_execute("SELECT chameleon.start_replica('rep')").unwrap();
    wait_for_worker(&mut c, true);
    let (file, pos, _) = mysql97_position();
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(2) {
        let r = c.query_one("SELECT binlog_file, binlog_position FROM chameleon.show_status()", &[]).unwrap();
        let at: (Option<String>, Option<i64>) = (r.get(0), r.get(1));
        assert_eq!(at, (Some(file.clone()), Some(pos)), "a restarted quiet source keeps the server's position");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    c.batch_execute("SELECT chameleon.stop_replica('rep')").unwrap();
}

/// The ids of `it_my_fail.t` rows inserted by the changes read.
fn inserted_ids(changes: &[Change]) -> Vec<i64> {
    let mut ids = Vec::new();
    for c in changes {
        if let Change::Rows { table, rows, .. } = c {
            if &*table.schema == "it_my_fail" {
                for r in rows.iter().filter(|r| r.before.is_none()) {
                    if let Some(Some(Value::Int(id))) = r.after.as_ref().map(|a| a[0].clone()) {
                        ids.push(id);
                    }
                }
            }
        }
    }
    ids
}

/// Failover at the reader's level: a position taken on the first server (its file, offset and
/// GTID set) resumes on the replica, whose binlog has other files and offsets: the stream is
/// asked for by GTID set, so what follows arrives once and nothing before it again.
#[test]
fn a_position_resumes_on_another_server_by_gtid_set() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    mysql97("DROP DATABASE IF EXISTS it_my_fail; CREATE DATABASE it_my_fail;
             CREATE TABLE it_my_fail.t (id INT PRIMARY KEY, v VARCHAR(10));");
    let (file, pos, gtid) = mysql97_position();
    let start = Position { file, pos: pos as u64, gtid: Some(gtid) };
    mysql97("INSERT INTO it_my_fail.t VALUES (1, 'a'), (2, 'b'); INSERT INTO it_my_fail.t VALUES (3, 'c');");
    let conn = MysqlConn::parse(&mysql97_url("it_my_fail")).unwrap();
    let mut r = BinlogReader::open(&conn, 4244, &start, true).unwrap();
    let mut first = Vec::new();
    let mut at = None;
    loop {
        match r.next_change().unwrap() {
            Change::Idle => break,
            Change::Commit { next, .. } => at = Some(next),
            c => first.push(c),
        }
    }
    assert_eq!(inserted_ids(&first), [1, 2, 3]);
    let at = at.unwrap();
    mysql97("INSERT INTO it_my_fail.t VALUES (4, 'd'); UPDATE it_my_fail.t SET v = 'x' WHERE id = 1; INSERT INTO it_my_fail.t VALUES (5, 'e');");
    // what was written so far, then the replica has at least that (other tests write too)
    let written = GtidSet::parse(&mysql97_position().2).unwrap();
    replica_caught_up();
    let replica = MysqlConn::parse(&mysql97r_url("it_my_fail")).unwrap();
    let mut r = BinlogReader::open(&replica, 4244, &at, true).unwrap();
    let mut rest = Vec::new();
    let mut end = None;
    loop {
        match r.next_change().unwrap() {
            Change::Idle => break,
            Change::Commit { next, .. } => end = Some(next),
            c => rest.push(c),
        }
    }
    assert_eq!(inserted_ids(&rest), [4, 5], "the rows after the position, once");
    let end = GtidSet::parse(&end.unwrap().gtid.unwrap()).unwrap();
    // (other tests write meanwhile: at least what was written before the switch)
    assert!(end.includes(&written), "{end} holds {written}");
}

/// Failover of a running source: replicating from the first server, stopped, pointed at the
/// replica with alter_source and started: every change made on the first server meanwhile and
/// after arrives once, through the replica.
#[test]
fn a_source_fails_over_to_the_replica() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let db = "it_my_fo";
    mysql97(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};
         CREATE TABLE {db}.items (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n INT);
         INSERT INTO {db}.items (v, n) VALUES ('a', 1), ('b', 2), ('c', 3);"
    ));
    let mut c = db_with_extension("mysql97_failover");
    c.execute(
        &format!("SELECT chameleon.add_source('fo', '{db}', $1)"),
        &[&mysql97_url(db)],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('fo'); SELECT chameleon.start_replica('fo')")
        .unwrap();
    wait_for_worker(&mut c, true);
    mysql97(&format!("INSERT INTO {db}.items (v, n) VALUES ('d', 4); UPDATE {db}.items SET n = n * 10 WHERE id = 1;"));
    caught_up_mysql97(&mut c);
    c.batch_execute("SELECT chameleon.stop_replica('fo')").unwrap();
    wait_for_worker(&mut c, false);
    // the first server goes on while the source is switched to the replica
    mysql97(&format!("INSERT INTO {db}.items (v, n) VALUES ('e', 5); DELETE FROM {db}.items WHERE id = 2;"));
    replica_caught_up();
    c.execute("SELECT chameleon.alter_source('fo', mysql_conn => $1)", &[&mysql97r_url(db)])
        .unwrap();
    c.batch_execute("SELECT chameleon.start_replica('fo')").unwrap();
    mysql97(&format!("UPDATE {db}.items SET v = 'after' WHERE id = 3; INSERT INTO {db}.items (v, n) VALUES ('f', 6);"));
    replica_caught_up();
    // caught up: the stored GTID set holds everything the first server executed
    let want = GtidSet::parse(&mysql97_position().2).unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let (status, gtid): (String, Option<String>) = {
            let r = c.query_one("SELECT status, gtid FROM chameleon.show_status()", &[]).unwrap();
            (r.get(0), r.get(1))
        };
        assert!(status.starts_with("running"), "{status}");
        let pending: i64 = one(&mut c, "SELECT batches_pending FROM chameleon.show_status()");
        if pending == 0 && gtid.is_some_and(|g| GtidSet::parse(&g).unwrap().includes(&want)) {
            break;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(60), "not caught up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let cols = ["id", "v", "n"];
    let (m, p) = MYSQL97.checksums(&mut c, db, db, "items", "id", &cols, &cols);
    assert_eq!(m, p, "equal to the first server, through the replica");
    assert_eq!(m.0, 5);
    c.batch_execute("SELECT chameleon.stop_replica('fo')").unwrap();
}

/// add_source's checks on MySQL 9.7: a refused login (caching_sha2_password) and a user
/// without the replication privileges are errors naming the fix, and nothing is registered.
#[test]
fn source_checks_on_mysql() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    mysql97("CREATE DATABASE IF NOT EXISTS it_my_check;
             CREATE USER IF NOT EXISTS 'usr_nopriv'@'%' IDENTIFIED BY 'nopriv_pw';
             GRANT SELECT ON it_my_check.* TO 'usr_nopriv'@'%';");
    let mut c = db_with_extension("mysql97_check");
    let port = std::env::var("CHAMELEON_MY97PORT").unwrap_or_else(|_| "33079".into());
    let wrong = format!("mysql://usr_replica:wrong@127.0.0.1:{port}/it_my_check");
    let (msg, _, _) = fails(
        &mut c,
        &format!("SELECT chameleon.add_source('w', 'it_my_check', '{wrong}')"),
        "28000",
    );
    assert!(msg.contains("refused the login"), "{msg}");
    let nopriv = format!("mysql://usr_nopriv:nopriv_pw@127.0.0.1:{port}/it_my_check");
    let (msg, _, hint) = fails(
        &mut c,
        &format!("SELECT chameleon.add_source('n', 'it_my_check', '{nopriv}')"),
        "42501",
    );
    assert!(
        msg.contains("RELOAD") && msg.contains("REPLICATION SLAVE") && msg.contains("REPLICATION CLIENT"),
        "{msg}"
    );
    assert!(hint.starts_with("GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.*"), "{hint}");
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM chameleon.show_status()"), 0);
}

/// caching_sha2_password's full authentication (a user the server has not cached yet) over TCP
/// both ways: without TLS, by RSA key exchange (the client asks for the server's public key);
/// with TLS (`ssl=true`, the server's self-signed certificate accepted), for a user who must
/// use it (REQUIRE SSL: refused without). Each source copies and then streams a row.
#[test]
fn caching_sha2_full_auth_with_rsa_and_with_tls() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let db = "it_my_auth";
    mysql97(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO {db}.t VALUES (1, 'one');
         DROP USER IF EXISTS 'it_rsa'@'%', 'it_tls'@'%';
         CREATE USER 'it_rsa'@'%' IDENTIFIED WITH caching_sha2_password BY 'rsa_pw_1';
         CREATE USER 'it_tls'@'%' IDENTIFIED WITH caching_sha2_password BY 'tls_pw_1' REQUIRE SSL;
         GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'it_rsa'@'%', 'it_tls'@'%';"
    ));
    let port = std::env::var("CHAMELEON_MY97PORT").unwrap_or_else(|_| "33079".into());
    let rsa = format!("mysql://it_rsa:rsa_pw_1@127.0.0.1:{port}/{db}");
    let tls_plain = format!("mysql://it_tls:tls_pw_1@127.0.0.1:{port}/{db}");
    let tls = format!("{tls_plain}?ssl=true&danger_accept_invalid_certs=true");
    let mut c = db_with_extension("mysql97_auth");
    // REQUIRE SSL: a login without TLS is refused, and nothing is registered
    fails(
        &mut c,
        &format!("SELECT chameleon.add_source('plain', '{db}', '{tls_plain}')"),
        "28000",
    );
    for (name, url) in [("rsa", &rsa), ("tls", &tls)] {
        c.execute(
            &format!("SELECT chameleon.add_source('{name}', '{name}', $1)"),
            &[url],
        )
        .unwrap_or_else(|e| panic!("{name}: {}", describe(&e)));
        let n: i64 = one(&mut c, &format!("SELECT chameleon.init_replica('{name}')"));
        assert_eq!(n, 1, "{name}");
        c.batch_execute(&format!("SELECT chameleon.start_replica('{name}')"))
            .unwrap();
    }
    mysql97(&format!("INSERT INTO {db}.t VALUES (2, 'two');"));
    caught_up_mysql97(&mut c);
    for name in ["rsa", "tls"] {
        let rows: i64 = one(&mut c, &format!("SELECT count(*) FROM {name}.t"));
        assert_eq!(rows, 2, "{name}: the copy and the streamed row");
    }
    // the TLS source's sessions used TLS (the server says so)
    let tls_sessions = mysql97(
        "SELECT COUNT(*) FROM performance_schema.status_by_thread s
           JOIN performance_schema.threads t ON t.thread_id = s.thread_id
          WHERE t.processlist_user = 'it_tls' AND s.variable_name = 'Ssl_version' AND s.variable_value <> ''",
    );
    assert_ne!(tls_sessions, "0", "the binlog stream of 'tls' runs over TLS");
    c.batch_execute("SELECT chameleon.stop_replica('rsa'); SELECT chameleon.stop_replica('tls')")
        .unwrap();
}

/// binlog_row_value_options = PARTIAL_JSON: MySQL logs a JSON update as a diff
/// (PARTIAL_UPDATE_ROWS) of a row image without the other columns; chameleon does not apply
/// diffs, so the source stops in error with the setting to change and the way back
/// (init_replica), nothing of the transaction applied.
#[test]
fn partial_json_updates_stop_with_the_fix() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let db = "it_my_partial";
    mysql97(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};
         CREATE TABLE {db}.t (id INT PRIMARY KEY, doc JSON, n INT);
         INSERT INTO {db}.t VALUES (1, '{{\"a\": 1, \"b\": [1, 2]}}', 0);"
    ));
    let mut c = db_with_extension("mysql97_partial");
    c.execute(
        &format!("SELECT chameleon.add_source('p', '{db}', $1)"),
        &[&mysql97_url(db)],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('p'); SELECT chameleon.start_replica('p')")
        .unwrap();
    wait_for_worker(&mut c, true);
    // binlog_row_image = MINIMAL or NOBLOB is needed for diffs; the session settings suffice
    mysql97(&format!(
        "SET SESSION binlog_row_image = MINIMAL, binlog_row_value_options = PARTIAL_JSON;
         UPDATE {db}.t SET doc = JSON_SET(doc, '$.a', 2), n = 1 WHERE id = 1;"
    ));
    let t0 = std::time::Instant::now();
    let err = loop {
        let r = c
            .query_one("SELECT status, last_error FROM chameleon.show_status()", &[])
            .unwrap();
        if r.get::<_, String>(0) == "error" {
            break r.get::<_, Option<String>>(1).unwrap_or_default();
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(30), "not stopped");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        err.contains("PARTIAL_UPDATE_ROWS") && err.contains("binlog_row_value_options") && err.contains("init_replica"),
        "{err}"
    );
    assert_eq!(one::<i32>(&mut c, &format!("SELECT n FROM {db}.t WHERE id = 1")), 0, "nothing of it applied");
}
