//! Bad input while replicating: values PostgreSQL cannot hold as MySQL does are transformed as
//! docs/types.md documents, names PostgreSQL would confuse are refused with a clear error, and
//! identifiers and values never reach SQL as text; the worker keeps running throughout. Each
//! test runs on MariaDB and MySQL 9.7.

use chameleon_e2e::*;

both!(
    awkward_values_and_names_replicate_as_documented,
    names_that_postgresql_would_cut_to_one_are_refused,
    a_64_mib_blob_and_a_big_transaction_arrive_whole,
);

fn awkward_values_and_names_replicate_as_documented(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_bad; CREATE DATABASE it_bad;
             CREATE TABLE it_bad.t (id INT PRIMARY KEY, l VARCHAR(20) CHARACTER SET latin1, c TEXT CHARACTER SET cp1251,
                 u VARCHAR(20), nul VARCHAR(20), zd DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00', zn DATE NULL,
                 big BIGINT UNSIGNED, dec65 DECIMAL(65,30)) DEFAULT CHARSET=utf8mb4;
             CREATE TABLE it_bad.keyless (a INT, b VARCHAR(5));
             CREATE TABLE it_bad.`Select` (`Order` INT PRIMARY KEY, `from` VARCHAR(40), `x\"; DROP TABLE it_bad.t; --` INT);
             CREATE TABLE it_bad.`Robert'); DROP TABLE t;--` (id INT PRIMARY KEY);");
    let mut c = db_with_extension(&s.db("bad_values"));
    c.execute(
        "SELECT chameleon.add_source('b', 'it_bad', $1)",
        &[&s.url("it_bad")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('b'); SELECT chameleon.start_replica('b')")
        .unwrap();
    s.streaming(&mut c);
    s.run(
        "SET SESSION sql_mode = '';
         INSERT INTO it_bad.t VALUES
           (1, _latin1 x'636166E92080', _cp1251 x'C4EEEC', 'ok 🦎', CONCAT('a', CHAR(0), 'b'), '0000-00-00 00:00:00', '0000-00-00',
            18446744073709551615, 99999999999999999999999999999999999.999999999999999999999999999999),
           (2, NULL, NULL, NULL, NULL, '2024-02-29 23:59:59', NULL, 0, -99999999999999999999999999999999999.999999999999999999999999999999);
         UPDATE it_bad.t SET l = _latin1 x'C5E5', dec65 = 0.000000000000000000000000000001 WHERE id = 2;
         INSERT INTO it_bad.keyless VALUES (1, 'd'), (1, 'd'), (1, 'd'), (NULL, NULL);
         DELETE FROM it_bad.keyless WHERE a = 1 LIMIT 1;
         UPDATE it_bad.keyless SET b = 'e' WHERE a = 1 LIMIT 1;
         INSERT INTO it_bad.`Select` VALUES (1, 'x'', ''y''); DROP TABLE it_bad.t; --', 2);
         INSERT INTO it_bad.`Robert'); DROP TABLE t;--` VALUES (7);",
    );
    s.caught_up(&mut c);
    c.batch_execute("SET TimeZone = 'UTC'").unwrap();
    let r = c
        .query_one(
            "SELECT l, c, u, nul, zd::text, zn::text, big::text, dec65::text FROM it_bad.t WHERE id = 1",
            &[],
        )
        .unwrap();
    let row: (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        String,
    ) = (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
        r.get(7),
    );
    assert_eq!(
        row,
        (
            "café €".to_string(), // latin1 (Windows-1252) to UTF-8
            "Дом".to_string(),    // cp1251
            "ok 🦎".to_string(),
            "ab".to_string(),        // NUL cannot be in PostgreSQL text: removed
            "-infinity".to_string(), // a zero date in a NOT NULL column
            None,                    // a zero date in a nullable one
            "18446744073709551615".to_string(),
            "99999999999999999999999999999999999.999999999999999999999999999999".to_string(),
        )
    );
    let r = c
        .query_one("SELECT l, dec65::text FROM it_bad.t WHERE id = 2", &[])
        .unwrap();
    assert_eq!(
        (r.get::<_, String>(0), r.get::<_, String>(1)),
        (
            "Åå".to_string(),
            "0.000000000000000000000000000001".to_string()
        )
    );
    // a keyless table: duplicates kept, one copy changed or deleted at a time, as MySQL did
    let (m, p) = s.checksums(
        &mut c,
        "it_bad",
        "it_bad",
        "keyless",
        "a,b",
        &["a", "b"],
        &["a", "b"],
    );
    assert_eq!(m, p, "keyless");
    assert_eq!(m.0, 3);
    // names and values that look like SQL are names and values
    assert_eq!(
        one::<String>(
            &mut c,
            "SELECT \"from\" FROM it_bad.\"Select\" WHERE \"Order\" = 1"
        ),
        "x', 'y'); DROP TABLE it_bad.t; --"
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM it_bad.\"Robert'); DROP TABLE t;--\""
        ),
        1
    );
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_bad.t"), 2);
    // and the status counts what was changed: two zero dates and a NUL in row 1
    let r = c
        .query_one("SELECT values_changed_by_replication, rows_set_aside, primary_key FROM chameleon.show_tables('b') WHERE table_name = 't'", &[])
        .unwrap();
    assert_eq!(
        (
            r.get::<_, i64>(0),
            r.get::<_, i64>(1),
            r.get::<_, Vec<String>>(2)
        ),
        (3, 0, vec!["id".to_string()])
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT sum(values_changed_by_replication)::bigint FROM chameleon.show_tables()"
        ),
        3
    );
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM chameleon.show_errors()"),
        0
    );
    assert!(
        one::<String>(&mut c, "SELECT status FROM chameleon.show_status()").starts_with("running")
    );
    c.batch_execute("SELECT chameleon.stop_replica('b')")
        .unwrap();
}

/// MySQL names are up to 64 characters, PostgreSQL's 63 bytes: two tables (or columns) that
/// PostgreSQL would cut to the same name are refused by name, before anything changes; a
/// schema change that would make such a pair stops the source with the statement in
/// show_errors.
fn names_that_postgresql_would_cut_to_one_are_refused(s: Server) {
    let e40 = "é".repeat(40);
    s.run(&format!(
        "DROP DATABASE IF EXISTS it_long; CREATE DATABASE it_long;
         CREATE TABLE it_long.`{e40}_one` (id INT PRIMARY KEY); CREATE TABLE it_long.`{e40}_two` (id INT PRIMARY KEY);
         CREATE TABLE it_long.ok (id INT PRIMARY KEY, `{e40}_a` INT);"
    ));
    let mut c = db_with_extension(&s.db("bad_names"));
    c.execute(
        "SELECT chameleon.add_source('n', 'it_long', $1)",
        &[&s.url("it_long")],
    )
    .unwrap();
    let (msg, _, hint) = fails(&mut c, "SELECT chameleon.init_replica('n')", "42710");
    assert!(msg.contains("_one") && msg.contains("_two"), "{msg}");
    assert!(hint.contains("exclude_tables"), "{hint}");
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'it_long'"
        ),
        0,
        "nothing created"
    );
    // without one of them it copies; a column that would clash arrives by DDL: stopped, named
    c.execute(
        "SELECT chameleon.alter_source('n', exclude_tables => $1)",
        &[&vec![format!("{e40}_two")]],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('n'); SELECT chameleon.start_replica('n')")
        .unwrap();
    s.streaming(&mut c);
    // a column whose name PostgreSQL cuts arrives under the cut name
    s.run(&format!("INSERT INTO it_long.ok (id, `{e40}_a`) VALUES (1, 42); UPDATE it_long.ok SET `{e40}_a` = 43 WHERE id = 1;"));
    s.caught_up(&mut c);
    let cut = "é".repeat(31);
    assert_eq!(
        one::<i32>(
            &mut c,
            &format!("SELECT \"{cut}\" FROM it_long.ok WHERE id = 1")
        ),
        43
    );
    s.run(&format!("ALTER TABLE it_long.ok ADD COLUMN `{e40}_b` INT"));
    let t0 = std::time::Instant::now();
    while one::<String>(&mut c, "SELECT status FROM chameleon.show_status()") != "error" {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "the source did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = c
        .query_one(
            "SELECT sqlstate, reason, query FROM chameleon.show_errors()",
            &[],
        )
        .unwrap();
    let (state, reason, query): (String, String, String) = (r.get(0), r.get(1), r.get(2));
    assert_eq!(state, "42710");
    assert!(reason.contains("_a") && reason.contains("_b"), "{reason}");
    assert!(query.contains("ADD COLUMN"), "{query}");
}

/// The worker's peak resident memory so far (VmHWM), in MB.
fn peak_mb(c: &mut Client) -> u64 {
    let pid: i32 = one(c, "SELECT worker_pid FROM chameleon.show_status()");
    chameleon_e2e::live::status_mb(pid, "VmHWM")
}

/// Big values and big transactions: a 64 MiB BLOB, and one MySQL transaction of 100,000 rows
/// (1,000,000 in the long mode: CHAMELEON_SOAK=1). A batch ends only where a transaction does,
/// so the whole transaction is one batch; both arrive whole and equal.
fn a_64_mib_blob_and_a_big_transaction_arrive_whole(s: Server) {
    let rows: i64 = if soak() { 1_000_000 } else { 100_000 };
    s.run(
        "SET GLOBAL max_allowed_packet = 1073741824;
             DROP DATABASE IF EXISTS it_big; CREATE DATABASE it_big;
             CREATE TABLE it_big.t (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(20));
             CREATE TABLE it_big.b (id INT PRIMARY KEY, data LONGBLOB);",
    );
    let mut c = db_with_extension(&s.db("bad_big"));
    c.execute(
        "SELECT chameleon.add_source('g', 'it_big', $1)",
        &[&s.url("it_big")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('g'); SELECT chameleon.start_replica('g')")
        .unwrap();
    s.streaming(&mut c);
    let t0 = std::time::Instant::now();
    s.run("INSERT INTO it_big.b VALUES (1, REPEAT(x'00FF10', 22369622)), (2, x'')");
    s.caught_up(&mut c);
    let blob = t0.elapsed();
    let my = s.run("SELECT LENGTH(data), SHA2(data, 256) FROM it_big.b WHERE id = 1");
    let r = c
        .query_one(
            "SELECT length(data)::text || E'\\t' || encode(sha256(data), 'hex') FROM it_big.b WHERE id = 1",
            &[],
        )
        .unwrap();
    assert_eq!(r.get::<_, String>(0), my, "the 64 MiB value, byte for byte");
    assert!(my.starts_with("67108866\t"));
    let after_blob = peak_mb(&mut c);

    let t0 = std::time::Instant::now();
    s.run(&format!(
        "INSERT INTO it_big.t SELECT seq, seq, 'row' FROM mysql.seq_1_to_{rows}"
    ));
    s.caught_up(&mut c);
    let big = t0.elapsed();
    let (m, p) = s.checksums(
        &mut c,
        "it_big",
        "it_big",
        "t",
        "id",
        &["id", "v", "s"],
        &["id", "v", "s"],
    );
    assert_eq!(m, p);
    assert_eq!(m.0, rows);
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT max(i_replayed) FROM sch_chameleon.t_replica_batch"
        ),
        rows,
        "one batch"
    );
    assert!(
        one::<String>(&mut c, "SELECT status FROM chameleon.show_status()").starts_with("running")
    );
    eprintln!(
        "64 MiB BLOB replicated in {blob:.1?} (worker peak {after_blob} MB); a {rows}-row transaction in {big:.1?} (worker peak {} MB)",
        peak_mb(&mut c)
    );
    c.batch_execute("SELECT chameleon.stop_replica('g')")
        .unwrap();
}
