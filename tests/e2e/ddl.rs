//! DDL replication: MySQL schema changes follow into PostgreSQL while rows are replicated. The
//! corpus (core/src/schema_change/corpus.sql: 195 statements in the forms the translator
//! handles, with row changes between them) runs on MariaDB while a source replicates it; the
//! destination must then equal what init_replica makes of the same MariaDB database from
//! scratch: tables, columns, types, nullability, defaults, keys, indexes, constraints, the
//! catalogue's table and index registrations, and every row.

use std::time::{Duration, Instant};

use chameleon_e2e::compare::{kept_models, rows, shape};
use chameleon_e2e::*;

const CORPUS: &str = include_str!("../../core/src/schema_change/corpus.sql");

both!(
    the_corpus_replicates_and_equals_a_fresh_copy,
    an_unsupported_statement_stops_the_source_until_the_operator_fixes_it,
    schema_changes_while_stopped_or_paused,
);

fn the_corpus_replicates_and_equals_a_fresh_copy(s: Server) {
    s.run("DROP DATABASE IF EXISTS ddl_corpus; DROP DATABASE IF EXISTS ddl_other; CREATE DATABASE ddl_corpus; CREATE DATABASE ddl_other;
             CREATE TABLE ddl_corpus.seed (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO ddl_corpus.seed VALUES (1, 'a'), (2, 'b');");
    let mut c = db_with_extension(&s.db("ddl_1"));
    c.execute(
        "SELECT chameleon.add_source('corpus', 'ddl_corpus', $1, batch_size => 50)",
        &[&s.url("ddl_corpus")],
    )
    .unwrap();
    c.batch_execute(
        "SELECT chameleon.init_replica('corpus'); SELECT chameleon.start_replica('corpus')",
    )
    .unwrap();
    s.streaming(&mut c);

    // the statements of this server (the others' marked /* mariadb */ or /* mysql */)
    let (mine, theirs) = if s.is_mysql() { ("/* mysql */ ", "/* mariadb */ ") } else { ("/* mariadb */ ", "/* mysql */ ") };
    let statements: Vec<&str> = CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("--") && !l.starts_with(theirs))
        .map(|l| l.trim_start_matches(mine))
        .collect();
    assert!(statements.len() >= 200, "{} statements", statements.len());
    // MariaDB's ALTER fills a NOT NULL column added without a default even in strict mode
    // (a zero date); MySQL does that in a lenient mode only
    let mode = if s.is_mysql() { "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';" } else { "" };
    // in a few parts (sessions: a temporary table's statements stay in one), with rows on the
    // seed table between them
    let mut parts: Vec<Vec<&str>> = vec![vec![]];
    let mut temporary = false;
    for st in &statements {
        temporary |= st.starts_with("CREATE TEMPORARY");
        parts.last_mut().unwrap().push(st);
        temporary &= !st.starts_with("DROP TEMPORARY");
        if parts.last().unwrap().len() >= 40 && !temporary {
            parts.push(vec![]);
        }
    }
    for (i, part) in parts.iter().enumerate() {
        let script = part.join("\n").replace("'chameleon_repl'", "'usr_replica'");
        s.run(&format!(
            "USE ddl_corpus; {mode}\n{script}\nINSERT INTO seed VALUES ({}, 'part');",
            10 + i
        ));
    }
    s.caught_up(&mut c);
    let errors: Vec<String> = c
        .query(
            "SELECT format('%s %s: %s', event, query, reason) FROM chameleon.show_errors()",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let ddl: i64 = one(
        &mut c,
        "SELECT coalesce(sum(i_ddl), 0)::bigint FROM sch_chameleon.t_replica_batch",
    );
    assert!(ddl >= 150, "{ddl} schema changes replayed");

    // the reference: init_replica of the same MariaDB database now
    let mut r = db_with_extension(&s.db("ddl_ref"));
    r.execute(
        "SELECT chameleon.add_source('corpus', 'ddl_corpus', $1)",
        &[&s.url("ddl_corpus")],
    )
    .unwrap();
    r.batch_execute("SELECT chameleon.init_replica('corpus')")
        .unwrap();

    let (replicated, reference) = (shape(&mut c, "ddl_corpus"), shape(&mut r, "ddl_corpus"));
    let missing: Vec<&String> = reference
        .iter()
        .filter(|f| !replicated.contains(f))
        .collect();
    let extra: Vec<&String> = replicated
        .iter()
        .filter(|f| !reference.contains(f))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing in the replica: {missing:#?}\nnot in a fresh copy: {extra:#?}"
    );
    assert!(reference.len() > 150, "{} facts compared", reference.len());
    eprintln!(
        "{ddl} schema changes replayed; {} facts of the destination equal a fresh copy's",
        reference.len()
    );
    assert_eq!(rows(&mut c, "ddl_corpus"), rows(&mut r, "ddl_corpus"));
    // the table models kept with the position have a fresh snapshot's columns (in MySQL's
    // order: what decoding needs) and indexes
    assert_eq!(kept_models(&mut c), kept_models(&mut r));
    // and the row counts are MariaDB's
    for line in rows(&mut r, "ddl_corpus") {
        let (table, rest) = line.split_once(": ").unwrap();
        let n: i64 = rest.split(' ').next().unwrap().parse().unwrap();
        let my: i64 = s.run(&format!("SELECT COUNT(*) FROM ddl_corpus.`{table}`"))
            .parse()
            .unwrap();
        assert_eq!(n, my, "{table}");
    }
    c.batch_execute("SELECT chameleon.stop_replica('corpus')")
        .unwrap();
}

fn status(c: &mut Client) -> (String, Option<String>) {
    let r = c
        .query_one(
            "SELECT status, last_error FROM chameleon.show_status()",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

fn wait_status(c: &mut Client, want: &str) -> (String, Option<String>) {
    let t0 = Instant::now();
    loop {
        let s = status(c);
        if s.0 == want {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "status {s:?}, waiting for {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A statement the translator cannot read stops the source in `error`, with the statement in
/// show_errors and the rows before it applied; the operator applies it by hand, enable_replica
/// and start_replica, and replication goes on after it. With on_error => 'skip' such a
/// statement is logged and the source keeps running.
fn an_unsupported_statement_stops_the_source_until_the_operator_fixes_it(s: Server) {
    s.run(
        "DROP DATABASE IF EXISTS it_ddl_err; CREATE DATABASE it_ddl_err;
             CREATE TABLE it_ddl_err.t (id INT PRIMARY KEY, v INT NOT NULL);
             INSERT INTO it_ddl_err.t SELECT seq, seq FROM mysql.seq_1_to_100;",
    );
    let mut c = db_with_extension(&s.db("ddl_err"));
    c.execute(
        "SELECT chameleon.add_source('e', 'it_ddl_err', $1)",
        &[&s.url("it_ddl_err")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('e'); SELECT chameleon.start_replica('e')")
        .unwrap();
    s.streaming(&mut c);
    // forms sqlparser does not read: an IGNORED index (MariaDB 10.6+), NOT SECONDARY (MySQL
    // HeatWave's column attribute)
    let bad = if s.is_mysql() {
        "ALTER TABLE t ADD COLUMN a INT, ADD COLUMN b VARCHAR(5) NOT SECONDARY"
    } else {
        "ALTER TABLE t ADD COLUMN a INT, ADD COLUMN b VARCHAR(5), ADD INDEX ix_v (v) IGNORED"
    };
    s.run(&format!(
        "USE it_ddl_err; INSERT INTO t SELECT seq, seq FROM mysql.seq_101_to_150; {bad};
                      INSERT INTO t VALUES (151, 151, 1, 'x');"
    ));
    let (_, err) = wait_status(&mut c, "error");
    let err = err.unwrap_or_default();
    assert!(err.contains(bad) && err.contains("42601"), "{err}");
    let r = c
        .query_one("SELECT event, query, sqlstate, binlog_file IS NOT NULL AND binlog_position > 0 FROM chameleon.show_errors()", &[])
        .unwrap();
    assert_eq!(
        (
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, bool>(3)
        ),
        ("ddl".into(), bad.into(), "42601".into(), true)
    );
    // the rows before the statement are in, the one after it is not
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_ddl_err.t"), 150);
    wait_for_worker(&mut c, false);

    // the operator applies the change by hand and lets replication go on
    c.batch_execute(
        "ALTER TABLE it_ddl_err.t ADD COLUMN a integer, ADD COLUMN b varchar(5);
                     SELECT chameleon.enable_replica('e'); SELECT chameleon.start_replica('e');",
    )
    .unwrap();
    s.run("UPDATE it_ddl_err.t SET a = id, b = 'y' WHERE id % 10 = 0;");
    s.caught_up(&mut c);
    let cols = ["id", "v", "a", "b"];
    let (m, p) = s.checksums(&mut c, "it_ddl_err", "it_ddl_err", "t", "id", &cols, &cols);
    assert_eq!(m, p);
    assert_eq!(m.0, 151);

    // on_error => 'skip': logged, skipped, the source keeps running
    c.batch_execute("SELECT chameleon.alter_source('e', on_error => 'skip')")
        .unwrap();
    std::thread::sleep(Duration::from_millis(700)); // the worker reads its source again at a restart only
    c.batch_execute("SELECT chameleon.stop_replica('e')")
        .unwrap();
    wait_for_worker(&mut c, false);
    c.batch_execute("SELECT chameleon.start_replica('e')")
        .unwrap();
    s.streaming(&mut c);
    s.run("USE it_ddl_err; CREATE TABLE parted (id INT PRIMARY KEY) PARTITION BY HASH(id) PARTITIONS 2; INSERT INTO t VALUES (152, 152, NULL, NULL);");
    s.caught_up(&mut c);
    assert!(status(&mut c).0.starts_with("running"));
    let (m, p) = s.checksums(&mut c, "it_ddl_err", "it_ddl_err", "t", "id", &cols, &cols);
    assert_eq!(m, p);
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM chameleon.show_errors() WHERE query LIKE 'CREATE TABLE parted%'"
        ),
        1
    );
    c.batch_execute("SELECT chameleon.stop_replica('e')")
        .unwrap();
}

/// Waits until the source has stored everything up to MySQL's current position (replay may be
/// paused).
fn stored(s: Server, c: &mut Client) {
    let (file, pos) = s.position();
    let t0 = Instant::now();
    loop {
        let r = c
            .query_one("SELECT binlog_file, binlog_position, status, last_error FROM chameleon.show_status()", &[])
            .unwrap();
        let (f, p): (Option<String>, Option<i64>) = (r.get(0), r.get(1));
        let status: String = r.get(2);
        assert!(
            status.starts_with("running"),
            "{status}: {:?}",
            r.get::<_, Option<String>>(3)
        );
        if f.as_deref() == Some(file.as_str()) && p.unwrap_or(0) >= pos {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "not stored up to {file}:{pos}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Schema changes made on MySQL while the source is stopped, with rows before, between and
/// after them; then while replay is paused, with a worker restart in the middle: the worker
/// decodes the binlog with the tables' shape kept at its resume position (MySQL's current one
/// is already past those changes), and the destination ends equal to a fresh copy.
fn schema_changes_while_stopped_or_paused(s: Server) {
    s.run(
        "DROP DATABASE IF EXISTS it_ddl_stop; CREATE DATABASE it_ddl_stop;
             CREATE TABLE it_ddl_stop.t (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(10));
             INSERT INTO it_ddl_stop.t SELECT seq, seq, 'a' FROM mysql.seq_1_to_100;",
    );
    let mut c = db_with_extension(&s.db("ddl_stop"));
    c.execute(
        "SELECT chameleon.add_source('s', 'it_ddl_stop', $1)",
        &[&s.url("it_ddl_stop")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('s'); SELECT chameleon.start_replica('s')")
        .unwrap();
    s.streaming(&mut c);
    c.batch_execute("SELECT chameleon.stop_replica('s')")
        .unwrap();
    wait_for_worker(&mut c, false);
    s.run(
        "USE it_ddl_stop;
             INSERT INTO t SELECT seq, seq, 'b' FROM mysql.seq_101_to_150;
             ALTER TABLE t ADD COLUMN n INT NOT NULL DEFAULT 7 AFTER id, MODIFY v BIGINT NOT NULL;
             INSERT INTO t (id, n, v, s) VALUES (151, 1, 10000000000, 'c');
             UPDATE t SET s = 'u' WHERE id % 10 = 0;
             ALTER TABLE t DROP COLUMN s;
             INSERT INTO t (id, n, v) VALUES (152, 2, 2);
             CREATE TABLE t2 (id INT PRIMARY KEY, x VARCHAR(5));
             INSERT INTO t2 VALUES (1, 'x');",
    );
    c.batch_execute("SELECT chameleon.start_replica('s')")
        .unwrap();
    s.caught_up(&mut c);
    let (m, p) = s.checksums(
        &mut c,
        "it_ddl_stop",
        "it_ddl_stop",
        "t",
        "id",
        &["id", "n", "v"],
        &["id", "n", "v"],
    );
    assert_eq!(m, p, "t after changes made while stopped");
    assert_eq!(m.0, 152);

    // paused: the changes are stored, not replayed; a worker restarted meanwhile knows them
    c.batch_execute("SELECT chameleon.alter_source('s', replay_paused => true)")
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    s.run("USE it_ddl_stop; ALTER TABLE t ADD COLUMN w VARCHAR(3) DEFAULT 'w'; INSERT INTO t (id, n, v, w) VALUES (153, 3, 3, 'z');
             RENAME TABLE t2 TO t3; INSERT INTO t3 VALUES (2, 'y');");
    stored(s, &mut c);
    assert!(
        one::<i64>(
            &mut c,
            "SELECT batches_pending FROM chameleon.show_status()"
        ) > 0
    );
    c.batch_execute("SELECT chameleon.stop_replica('s')")
        .unwrap();
    wait_for_worker(&mut c, false);
    c.batch_execute("SELECT chameleon.start_replica('s')")
        .unwrap();
    s.run("USE it_ddl_stop; INSERT INTO t (id, n, v, w) VALUES (154, 4, 4, 'q'); INSERT INTO t3 VALUES (3, 'z'); UPDATE t SET w = 'u' WHERE id = 1;");
    stored(s, &mut c);
    c.batch_execute("SELECT chameleon.alter_source('s', replay_paused => false)")
        .unwrap();
    s.caught_up(&mut c);
    let cols = ["id", "n", "v", "w"];
    let (m, p) = s.checksums(
        &mut c,
        "it_ddl_stop",
        "it_ddl_stop",
        "t",
        "id",
        &cols,
        &cols,
    );
    assert_eq!(m, p, "t after changes stored while paused");
    let (m, p) = s.checksums(
        &mut c,
        "it_ddl_stop",
        "it_ddl_stop",
        "t3",
        "id",
        &["id", "x"],
        &["id", "x"],
    );
    assert_eq!(m, p, "t3");
    assert_eq!(m.0, 3);
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM chameleon.show_errors()"),
        0
    );

    // and the whole destination equals a fresh copy, catalogue registrations and models too
    let mut r = db_with_extension(&s.db("ddl_stop_ref"));
    r.execute(
        "SELECT chameleon.add_source('s', 'it_ddl_stop', $1)",
        &[&s.url("it_ddl_stop")],
    )
    .unwrap();
    r.batch_execute("SELECT chameleon.init_replica('s')")
        .unwrap();
    assert_eq!(shape(&mut c, "it_ddl_stop"), shape(&mut r, "it_ddl_stop"));
    assert_eq!(rows(&mut c, "it_ddl_stop"), rows(&mut r, "it_ddl_stop"));
    assert_eq!(kept_models(&mut c), kept_models(&mut r));
    c.batch_execute("SELECT chameleon.stop_replica('s')")
        .unwrap();
}
