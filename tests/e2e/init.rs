//! init_replica against the real MariaDB and MySQL 9.7 (each test runs on both): every type at its edges arrives as documented
//! (docs/types.md), the copy is one consistent snapshot whose coordinates split the changes
//! exactly, failures leave nothing behind, detach_replica leaves a standalone schema.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chameleon_e2e::*;

const EDGE: &str = "
DROP DATABASE IF EXISTS it_types; CREATE DATABASE it_types CHARACTER SET utf8mb4;
SET time_zone = '+00:00';
CREATE TABLE it_types.edge (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, d DECIMAL(65,30), f FLOAT, db DOUBLE,
  b1 BIT(1), b64 BIT(64), y YEAR, dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL,
  tm TIME, tm6 TIME(6), c CHAR(5), vc VARCHAR(100), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB,
  e ENUM('a','b','c d'), st SET('x','y','z'), j JSON, g GEOMETRY
);
INSERT INTO it_types.edge VALUES
 (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -99999999999999999999999999999999999.999999999999999999999999999999, -3.40282e38, -1.7976931348623157e308,
  b'0', b'0', 1901, '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01',
  '-838:59:59', '-838:59:59.000000', '', '', '', 0x00000000, '', '', 'a', '', '[]', ST_GeomFromText('POINT(0 0)')),
 (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  99999999999999999999999999999999999.999999999999999999999999999999, 3.40282e38, 1.7976931348623157e308,
  b'1', 0xFFFFFFFFFFFFFFFF, 2155, '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '838:59:59', '838:59:59.999999', 'abcde', 'héllo 🦎 wörld',
  'tab\\there\\nnew line \\\\ backslash \"quote\" ''single''', 0xDEADBEEF, 0x00FF00, 0x0001020300, 'c d', 'x,z',
  '{\"a\": [1, \"🦎\"], \"b\": null}', ST_GeomFromText('POINT(1.5 -2.5)')),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, 0.000000000000000000000000000001, 0.1, 0.1, NULL, b'101', 2000,
  '2024-02-29', '2024-02-29 12:34:56', '2024-02-29 12:34:56.000001', '2024-02-29 12:34:56.5', '-00:00:01',
  '-00:00:00.000001', 'a  ', 'x', 'x', 0x61, 0x62, 0x63, 'b', 'y', '{}', NULL);
SET SESSION sql_mode = '';
CREATE TABLE it_types.zero (id INT PRIMARY KEY, zd DATE NULL, zdn DATE NOT NULL, zdt DATETIME NULL, zts TIMESTAMP NULL DEFAULT NULL);
INSERT INTO it_types.zero VALUES (1, '0000-00-00', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
                                 (2, '2020-00-15', '2020-01-00', '2020-01-01 00:00:00', NULL);
CREATE TABLE it_types.nokey (a INT, b VARCHAR(10));
INSERT INTO it_types.nokey VALUES (1, 'dup'), (1, 'dup');
";

both!(
    every_type_arrives_as_documented,
    the_snapshot_splits_concurrent_writes_exactly,
    failures_leave_nothing_and_a_cancel_leaves_the_copy_running,
    detach_leaves_a_standalone_schema,
    the_demo_database_is_equal_on_both_sides,
);

fn init(s: Server, db: &str, pgdb: &str, extra: &str) -> Client {
    let mut c = db_with_extension(&s.db(pgdb));
    c.execute(
        &format!("SELECT chameleon.add_source('src', '{db}', $1{extra})"),
        &[&s.url(db)],
    )
    .unwrap();
    c
}

fn every_type_arrives_as_documented(s: Server) {
    // MySQL's largest TIME(6) is 838:59:59.000000 (MariaDB's has the fraction)
    let tm6_max = if s.is_mysql() { "838:59:59" } else { "838:59:59.999999" };
    s.run(&EDGE.replace("'838:59:59.999999'", &format!("'{tm6_max}'")));
    let mut c = init(s, "it_types", "init_types", "");
    let n: i64 = one(&mut c, "SELECT chameleon.init_replica('src')");
    assert_eq!(n, 4 + 2 + 2);
    c.batch_execute("SET TimeZone = 'UTC'").unwrap();
    let expected: &[(&str, [&str; 4])] = &[
        ("ti", ["-128", "127", "NULL", "-1"]),
        ("tiu", ["0", "255", "NULL", "1"]),
        ("si", ["-32768", "32767", "NULL", "-1"]),
        ("siu", ["0", "65535", "NULL", "1"]),
        ("mi", ["-8388608", "8388607", "NULL", "-1"]),
        ("miu", ["0", "16777215", "NULL", "1"]),
        ("i", ["-2147483648", "2147483647", "NULL", "-1"]),
        ("iu", ["0", "4294967295", "NULL", "1"]),
        (
            "bi",
            ["-9223372036854775808", "9223372036854775807", "NULL", "-1"],
        ),
        ("biu", ["0", "18446744073709551615", "NULL", "1"]),
        (
            "d",
            [
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                "99999999999999999999999999999999999.999999999999999999999999999999",
                "NULL",
                "0.000000000000000000000000000001",
            ],
        ),
        ("f", ["-3.40282e+38", "3.40282e+38", "NULL", "0.1"]),
        (
            "db",
            [
                "-1.7976931348623157e+308",
                "1.7976931348623157e+308",
                "NULL",
                "0.1",
            ],
        ),
        ("b1", ["0", "1", "NULL", "NULL"]),
        (
            "b64",
            [
                &"0".repeat(64),
                &"1".repeat(64),
                "NULL",
                &format!("{:0>64}", "101"),
            ],
        ),
        ("y", ["1901", "2155", "NULL", "2000"]),
        ("dt", ["1000-01-01", "9999-12-31", "NULL", "2024-02-29"]),
        (
            "dtm",
            [
                "1000-01-01 00:00:00",
                "9999-12-31 23:59:59",
                "NULL",
                "2024-02-29 12:34:56",
            ],
        ),
        (
            "dtm6",
            [
                "1000-01-01 00:00:00",
                "9999-12-31 23:59:59.999999",
                "NULL",
                "2024-02-29 12:34:56.000001",
            ],
        ),
        (
            "ts",
            [
                "1970-01-01 00:00:01+00",
                "2038-01-19 03:14:07.999999+00",
                "NULL",
                "2024-02-29 12:34:56.5+00",
            ],
        ),
        ("tm", ["-838:59:59", "838:59:59", "NULL", "-00:00:01"]),
        (
            "tm6",
            ["-838:59:59", tm6_max, "NULL", "-00:00:00.000001"],
        ),
        ("c", ["", "abcde", "NULL", "a"]),
        ("vc", ["", "héllo 🦎 wörld", "NULL", "x"]),
        (
            "tx",
            [
                "",
                "tab\there\nnew line \\ backslash \"quote\" 'single'",
                "NULL",
                "x",
            ],
        ),
        ("bn", ["\\x00000000", "\\xdeadbeef", "NULL", "\\x61000000"]),
        ("vb", ["\\x", "\\x00ff00", "NULL", "\\x62"]),
        ("bl", ["\\x", "\\x0001020300", "NULL", "\\x63"]),
        ("e", ["a", "c d", "NULL", "b"]),
        ("st", ["", "x,z", "NULL", "y"]),
        (
            "j",
            ["[]", "{\"a\": [1, \"🦎\"], \"b\": null}", "NULL", "{}"],
        ),
    ];
    for (col, want) in expected {
        let got: Vec<String> = c
            .query(
                &format!("SELECT coalesce(\"{col}\"::text, 'NULL') FROM it_types.edge ORDER BY id"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(got, want.to_vec(), "column {col}");
    }
    // geometry: MySQL's own bytes (SRID + WKB), as MySQL prints them
    let my_hex = s.run("SELECT LOWER(HEX(g)) FROM it_types.edge WHERE g IS NOT NULL ORDER BY id");
    let pg_hex: Vec<String> = c
        .query(
            "SELECT encode(g, 'hex') FROM it_types.edge WHERE g IS NOT NULL ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(pg_hex.join("\n"), my_hex);
    // types as docs/types.md says
    let types: String = one(&mut c, "SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
        FROM pg_attribute WHERE attrelid = 'it_types.edge'::regclass AND attnum > 0");
    assert_eq!(types, "id integer, ti smallint, tiu smallint, si smallint, siu integer, mi integer, miu integer, i integer, iu bigint, \
        bi bigint, biu numeric(20,0), d numeric(65,30), f real, db double precision, b1 bit(1), b64 bit(64), y smallint, dt date, \
        dtm timestamp(0) without time zone, dtm6 timestamp(6) without time zone, ts timestamp(6) with time zone, tm interval, \
        tm6 interval, c character varying(5), vc character varying(100), tx text, bn bytea, vb bytea, bl bytea, e text, st text, \
        j jsonb, g bytea");
    // the enum keeps its domain
    let e = c
        .batch_execute("INSERT INTO it_types.edge (id, e) VALUES (9, 'nope')")
        .unwrap_err();
    assert_eq!(sqlstate(&e), "23514");

    // zero dates: NULL where allowed, -infinity where not, counted
    let zero: Vec<String> = c.query("SELECT concat_ws(',', coalesce(zd::text, 'NULL'), zdn::text, coalesce(zdt::text, 'NULL'), coalesce(zts::text, 'NULL')) FROM it_types.zero ORDER BY id", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(
        zero,
        vec![
            "NULL,-infinity,NULL,NULL",
            "NULL,-infinity,2020-01-01 00:00:00,NULL"
        ]
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT i_zero_dates FROM sch_chameleon.t_replica_tables WHERE v_table_name = 'zero'"
        ),
        6
    );
    // a table without primary key is copied whole and flagged
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_types.nokey"), 2);
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT tables_without_pk FROM chameleon.show_status()"
        ),
        1
    );
    assert_eq!(
        one::<i64>(&mut c, "SELECT tables FROM chameleon.show_status()"),
        3
    );
}

/// The GTID of each writer transaction, chosen so that the snapshot's recorded GTID can say
/// which of them it contains: on MariaDB the row notes its INSERT's sequence number
/// (@@last_gtid), on MySQL the writer names each transaction's GTID itself (a UUID of this run,
/// sequence number = row id).
fn writer_step(s: Server, uuid: &str, id: u32) -> String {
    match s.flavour {
        Flavour::MariaDb => format!(
            "INSERT INTO it_snap.w VALUES ({id}, 0); UPDATE it_snap.w SET gtid_seq = SUBSTRING_INDEX(@@last_gtid, '-', -1) WHERE id = {id}; DO SLEEP(0.005);"
        ),
        Flavour::MySql => format!(
            "SET gtid_next = '{uuid}:{id}'; INSERT INTO it_snap.w VALUES ({id}, {id}); SET gtid_next = 'AUTOMATIC'; DO SLEEP(0.005);"
        ),
    }
}

/// Whether the snapshot's GTID (MariaDB: domain-server-seq; MySQL: the executed set) covers
/// the writer's transaction `seq`.
fn snapshot_covers(s: Server, snapshot: &str, uuid: &str, seq: i64) -> bool {
    match s.flavour {
        Flavour::MariaDb => seq <= snapshot.rsplit('-').next().unwrap().parse::<i64>().unwrap(),
        Flavour::MySql => chameleon_core::gtid::GtidSet::parse(snapshot)
            .unwrap()
            .contains(uuid, seq as u64),
    }
}

fn the_snapshot_splits_concurrent_writes_exactly(s: Server) {
    s.run(
        "DROP DATABASE IF EXISTS it_snap; CREATE DATABASE it_snap;
             CREATE TABLE it_snap.big (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(200));
             INSERT INTO it_snap.big (pad) SELECT REPEAT('x', 200) FROM mysql.seq_1_to_300000;
             CREATE TABLE it_snap.w (id INT PRIMARY KEY, gtid_seq BIGINT);",
    );
    let mut c = init(s, "it_snap", "init_snap", "");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let uuid = format!("{:08x}-0000-4000-8000-{:012x}", (nanos >> 48) as u32, nanos as u64 & 0xffff_ffff_ffff);
    // a writer commits one row per transaction, each with a GTID it can name
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer_uuid = uuid.clone();
    let writer = std::thread::spawn(move || {
        let mut script = String::new();
        for id in 1..=400 {
            script.push_str(&writer_step(s, &writer_uuid, id));
            if id % 20 == 0 {
                s.run(&std::mem::take(&mut script));
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (mut c2, notices) = connect_with_notices(&s.db("init_snap"));
    let init = std::thread::spawn(move || c2.batch_execute("SELECT chameleon.init_replica('src')"));
    // another session watches the copy workers' progress
    let mut seen_progress = 0i64;
    while !init.is_finished() {
        let r = c.query("SELECT tuples_processed FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
                          WHERE p.datname = current_database() AND p.command = 'COPY FROM' AND a.backend_type = 'chameleon copy'", &[]).unwrap();
        if let Some(row) = r.first() {
            seen_progress = seen_progress.max(row.get(0));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    init.join().unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen_progress > 0, "pg_stat_progress_copy showed the load");
    let n = notices.lock().unwrap().join("\n");
    assert!(n.contains("big: 300000 rows"), "{n}");
    // copy workers copy each table from their own snapshot: w's is its copy point
    let gtid: String = one(&mut c, "SELECT t_copy_gtid FROM sch_chameleon.t_replica_tables WHERE v_table_name = 'w'");
    // every row committed up to the snapshot's GTID is in the copy, none after it
    let all = s.run("SELECT id, gtid_seq FROM it_snap.w ORDER BY id");
    let mut before = Vec::new();
    let mut after = 0;
    for line in all.lines() {
        let mut f = line.split('\t');
        let id: i32 = f.next().unwrap().parse().unwrap();
        let seq: i64 = f.next().unwrap().parse().unwrap();
        if snapshot_covers(s, &gtid, &uuid, seq) {
            before.push(id)
        } else {
            after += 1
        }
    }
    let copied: Vec<i32> = c
        .query("SELECT id FROM it_snap.w ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        copied, before,
        "exactly the rows committed up to the snapshot's GTID {gtid} are copied"
    );
    assert!(
        !before.is_empty() && after > 0,
        "the writer ran on both sides of the snapshot ({} before, {after} after)",
        before.len()
    );
}

fn failures_leave_nothing_and_a_cancel_leaves_the_copy_running(s: Server) {
    s.run(&format!("DROP DATABASE IF EXISTS it_err; CREATE DATABASE it_err;
             CREATE TABLE it_err.a (id INT PRIMARY KEY); CREATE TABLE it_err.audit (id INT PRIMARY KEY);
             INSERT INTO it_err.a SELECT seq FROM mysql.seq_1_to_1000; INSERT INTO it_err.audit VALUES (1);
             {} GRANT SELECT ON it_err.* TO 'it_limited'@'%';", s.recreate_user("it_limited", "limited_pw")));
    let mut c = db_with_extension(&s.db("init_err"));
    let url = s.url("it_err");
    let wrong = url.replace(
        &std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into()),
        "not_the_pw",
    );
    let limited = url.replace("usr_replica:", "it_limited:").replace(
        &std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into()),
        "limited_pw",
    );
    c.execute(
        "SELECT chameleon.add_source('badpw', 'badpw', $1, check_source => false)",
        &[&wrong],
    )
    .unwrap();
    c.execute(
        "SELECT chameleon.add_source('limited', 'limited', $1, check_source => false)",
        &[&limited],
    )
    .unwrap();
    c.execute(
        "SELECT chameleon.add_source('ok', 'it_err', $1, exclude_tables => ARRAY['audit'])",
        &[&url],
    )
    .unwrap();
    for (src, code) in [("badpw", "28000"), ("limited", "42501")] {
        let e = c
            .batch_execute(&format!("SELECT chameleon.init_replica('{src}')"))
            .unwrap_err();
        assert_eq!(sqlstate(&e), code, "{src}: {e:?}");
        assert!(
            one::<Option<String>>(&mut c, &format!("SELECT to_regnamespace('{src}')::text"))
                .is_none(),
            "{src}: no schema"
        );
        assert_eq!(
            one::<String>(
                &mut c,
                &format!("SELECT status FROM chameleon.show_status() WHERE source = '{src}'")
            ),
            "ready"
        );
    }
    // binlog_format is global: its test lives in source_check.rs, which runs alone
    // in a transaction that has written, the copy is that transaction's: rolled back, nothing
    c.batch_execute("BEGIN; CREATE TEMP TABLE wrote (x int); SELECT chameleon.init_replica('ok'); ROLLBACK")
        .unwrap();
    assert!(one::<Option<String>>(&mut c, "SELECT to_regnamespace('it_err')::text").is_none());
    assert_eq!(one::<String>(&mut c, "SELECT status FROM chameleon.show_status() WHERE source = 'ok'"), "ready");
    // cancelled while copy workers copy: the copy goes on, and a call again waits for it
    s.run("INSERT INTO it_err.a SELECT 1000 + seq FROM mysql.seq_1_to_400000");
    let mut c2 = connect(&s.db("init_err"));
    let pid: i32 = one(&mut c2, "SELECT pg_backend_pid()");
    let init = std::thread::spawn(move || c2.batch_execute("SELECT chameleon.init_replica('ok')"));
    let t0 = std::time::Instant::now();
    while one::<i64>(&mut c, "SELECT count(*) FROM pg_stat_progress_copy WHERE datname = current_database()") == 0 {
        assert!(t0.elapsed().as_secs() < 60 && !init.is_finished(), "a copy worker's COPY was seen");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    c.execute("SELECT pg_cancel_backend($1)", &[&pid]).unwrap();
    let e = init.join().unwrap().unwrap_err();
    let d = e.as_db_error().unwrap();
    assert_eq!(d.code().code(), "57014", "{e:?}");
    assert!(d.message().contains("the copy goes on"), "{d:?}");
    assert!(d.hint().unwrap_or("").contains("show_copy('ok')"), "{d:?}");
    assert_eq!(one::<String>(&mut c, "SELECT status FROM chameleon.show_status() WHERE source = 'ok'"), "initialising");
    assert_eq!(
        one::<i64>(&mut c, "SELECT chameleon.init_replica('ok')"),
        401_000
    );
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_err.a"), 401_000);
    // the excluded table is not copied
    assert!(one::<Option<String>>(&mut c, "SELECT to_regclass('it_err.audit')::text").is_none());
    // a schema chameleon did not fill is never replaced
    c.batch_execute("CREATE SCHEMA limited; CREATE TABLE limited.mine (x int)")
        .unwrap();
    c.batch_execute(&format!(
        "SELECT chameleon.alter_source('limited', mysql_conn => '{url}')"
    ))
    .unwrap();
    let e = c
        .batch_execute("SELECT chameleon.init_replica('limited')")
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42710");
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM limited.mine"), 0);
}

fn detach_leaves_a_standalone_schema(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_det; CREATE DATABASE it_det;
             CREATE TABLE it_det.p (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20));
             CREATE TABLE it_det.ch (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, p_id INT NOT NULL,
                                     FOREIGN KEY (p_id) REFERENCES it_det.p (id) ON DELETE CASCADE);
             INSERT INTO it_det.p (name) SELECT CONCAT('p', seq) FROM mysql.seq_1_to_50;
             INSERT INTO it_det.ch (p_id) SELECT 1 + seq % 50 FROM mysql.seq_1_to_200;");
    let mut c = init(s, "it_det", "init_det", "");
    c.batch_execute("SELECT chameleon.init_replica('src')")
        .unwrap();
    // running it again replaces the copy with a new one
    s.run("INSERT INTO it_det.p (name) VALUES ('late')");
    c.batch_execute("SELECT chameleon.init_replica('src')")
        .unwrap();
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_det.p"), 51);
    let (my, pg) = s.checksums(
        &mut c,
        "it_det",
        "it_det",
        "ch",
        "id",
        &["id", "p_id"],
        &["id", "p_id"],
    );
    assert_eq!(my, pg);
    c.batch_execute("SELECT chameleon.detach_replica('src')")
        .unwrap();
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM sch_chameleon.t_sources"),
        0
    );
    assert!(one::<bool>(&mut c, "SELECT bool_and(convalidated) FROM pg_constraint WHERE connamespace = 'it_det'::regnamespace AND contype = 'f'"));
    let id: i64 = one(
        &mut c,
        "INSERT INTO it_det.p (name) VALUES ('new') RETURNING id::bigint",
    );
    let mysql_max: i64 = s.run("SELECT MAX(id) FROM it_det.p").parse().unwrap();
    assert_eq!(
        id,
        mysql_max + 1,
        "the sequence continues after the copied maximum"
    );
    c.batch_execute("DELETE FROM it_det.p WHERE id = 1")
        .unwrap();
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM it_det.ch WHERE p_id = 1"),
        0,
        "ON DELETE CASCADE kept"
    );
}

fn the_demo_database_is_equal_on_both_sides(s: Server) {
    s.run(include_str!("../../demo/shop.sql"));
    // without copy workers (parallel_tables 0): the copy in this call's transaction, from one
    // snapshot (every other test here copies through the workers)
    let mut c = init(s, "shop", "init_demo", r#", copy_options => '{"parallel_tables": 0}'"#);
    assert_eq!(
        one::<i64>(&mut c, "SELECT chameleon.init_replica('src')"),
        122_000
    );
    assert_eq!(one::<i64>(&mut c, "SELECT count(DISTINCT t_copy_binlog_name || i_copy_binlog_position) FROM sch_chameleon.t_replica_tables"), 1, "one snapshot");
    let e = c.batch_execute("SELECT chameleon.init_replica('src', wait => false)").unwrap_err();
    assert_eq!(sqlstate(&e), "55000", "wait => false needs copy workers: {e:?}");
    let ts = |c: &'static str| -> (String, String) {
        (
            format!("DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f')"),
            format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"),
        )
    };
    let (my_created, pg_created) = ts("created_at");
    let (my_ordered, pg_ordered) = ts("ordered_at");
    let tables: [(&str, &str, Vec<&str>, Vec<&str>); 3] = [
        (
            "customer",
            "customer_id",
            vec!["customer_id", "name", "email", &my_created],
            vec!["customer_id", "name", "email", &pg_created],
        ),
        (
            "product",
            "product_id",
            vec!["product_id", "title", "price", "stock", "attrs"],
            vec!["product_id", "title", "price", "stock", "attrs"],
        ),
        (
            "orders",
            "order_id",
            vec![
                "order_id",
                "customer_id",
                "product_id",
                "qty",
                "status",
                &my_ordered,
            ],
            vec![
                "order_id",
                "customer_id",
                "product_id",
                "qty",
                "status",
                &pg_ordered,
            ],
        ),
    ];
    for (table, key, my, pg) in &tables {
        let (m, p) = s.checksums(&mut c, "shop", "shop", table, key, my, pg);
        assert_eq!(m, p, "{table}");
        assert!(m.0 > 0);
    }
}
