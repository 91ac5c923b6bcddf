//! The replica worker follows the binlog: a write workload on MariaDB or MySQL 9.7 (each test
//! runs on both, but for the catalogue upgrade) arrives in PostgreSQL,
//! compared by per-table row counts and checksums of canonical row text; stopped and started
//! again, it resumes where it stopped.

use std::time::{Duration, Instant};

use chameleon_e2e::*;

const MY_ITEMS: [&str; 7] = [
    "id",
    "name",
    "qty",
    "price",
    "DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')",
    "st",
    "doc",
];
const PG_ITEMS: [&str; 7] = [
    "id",
    "name",
    "qty",
    "price",
    "to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')",
    "st",
    "doc",
];

fn assert_equal(s: Server, c: &mut Client, my: &str) {
    let (m, p) = s.checksums(c, my, my, "items", "id", &MY_ITEMS, &PG_ITEMS);
    assert_eq!(m, p, "items");
    let (m, p) = s.checksums(c, my, my, "tags", "k,v", &["k", "v"], &["k", "v"]);
    assert_eq!(m, p, "tags (no primary key)");
}

both!(
    follows_a_workload_and_resumes_after_a_stop,
    follows_a_workload_through_the_log_tables,
    bad_rows_are_set_aside_and_the_rest_applied,
    two_sources_at_once,
    net_effect_replay_keeps_foreign_keys_and_unique_swaps_right,
    start_replica_refuses_a_position_the_server_does_not_have,
    direct_replay_stores_and_replays_in_one_transaction,
);

/// The default path (chameleon.direct_replay = on): each batch applied in the transaction that
/// stores it; no log rows are written.
fn follows_a_workload_and_resumes_after_a_stop(s: Server) {
    follows_a_workload(s, "it_rep", "replica_1", true);
}

/// The catalogue's two-step path (chameleon.direct_replay = off for the database): each batch
/// stored with its log rows, then replayed and its log rows deleted in a second transaction.
fn follows_a_workload_through_the_log_tables(s: Server) {
    follows_a_workload(s, "it_rep_log", "replica_1_log", false);
}

/// Rows inserted into the source's log tables so far (the worker reports its statistics at
/// most once a second).
fn log_rows_written(c: &mut Client) -> i64 {
    one(
        c,
        "SELECT coalesce(sum(n_tup_ins), 0)::bigint FROM pg_stat_user_tables
             WHERE schemaname = 'sch_chameleon' AND relname LIKE 't_log_replica%'",
    )
}

fn follows_a_workload(s: Server, my: &str, db: &str, direct: bool) {
    s.run(&format!("DROP DATABASE IF EXISTS {my}; CREATE DATABASE {my};
             CREATE TABLE {my}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), qty INT NOT NULL,
                                        price DECIMAL(10,2), ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), st ENUM('a','b'), doc JSON);
             CREATE TABLE {my}.tags (k VARCHAR(10), v INT);
             INSERT INTO {my}.items (name, qty, price, st) SELECT CONCAT('item ', seq), seq, seq * 1.5, 'a' FROM mysql.seq_1_to_1000;"));
    let db = &s.db(db);
    let mut c = db_with_extension(db);
    if !direct {
        c.batch_execute(&format!(
            "ALTER DATABASE {db} SET chameleon.direct_replay = off"
        ))
        .unwrap();
    }
    c.execute(
        &format!("SELECT chameleon.add_source('rep', '{my}', $1, batch_size => 500)"),
        &[&s.url(my)],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('rep'); SELECT chameleon.start_replica('rep')")
        .unwrap();
    wait_for_worker(&mut c, true);

    s.run(&format!("INSERT INTO {my}.items (name, qty, price, st) SELECT CONCAT('new ', seq, ' 🦎'), seq, NULL, 'b' FROM mysql.seq_1_to_3000;
             UPDATE {my}.items SET qty = qty + 1, price = 9.99, doc = JSON_OBJECT('k', id, 'tags', JSON_ARRAY('a', 'b')) WHERE id % 7 = 0;
             DELETE FROM {my}.items WHERE id % 11 = 0;
             BEGIN; INSERT INTO {my}.items (id, name, qty) VALUES (100000, 'tx', 1);
                    UPDATE {my}.items SET qty = 2 WHERE id = 100000;
                    UPDATE {my}.items SET id = 100001 WHERE id = 100000;
                    DELETE FROM {my}.items WHERE id = 1; COMMIT;
             UPDATE {my}.items SET id = id + 200000 WHERE id BETWEEN 2 AND 6;
             INSERT INTO {my}.tags VALUES ('dup', 1), ('dup', 1), ('x', NULL);
             DELETE FROM {my}.tags WHERE k = 'dup' LIMIT 1;
             UPDATE {my}.tags SET v = 5 WHERE k = 'x';"));
    s.caught_up(&mut c);
    assert_equal(s, &mut c, my);
    assert!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM sch_chameleon.t_replica_batch WHERE b_replayed"
        ) >= 2,
        "several batches"
    );
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM sch_chameleon.t_log_replica"),
        0,
        "replayed log rows are gone"
    );
    if direct {
        assert_eq!(
            log_rows_written(&mut c),
            0,
            "direct replay writes no log rows"
        );
    } else {
        // every row change went through the log tables (statistics arrive within a second or so)
        let t0 = Instant::now();
        while log_rows_written(&mut c) < 3000 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "log rows written: {}",
                log_rows_written(&mut c)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // stopped: the worker leaves; changes made meanwhile arrive after the next start, once
    c.batch_execute("SELECT chameleon.stop_replica('rep')")
        .unwrap();
    wait_for_worker(&mut c, false);
    s.run(&format!("INSERT INTO {my}.items (name, qty) VALUES ('while stopped', 1); DELETE FROM {my}.items WHERE id = 10;"));
    c.batch_execute("SELECT chameleon.start_replica('rep')")
        .unwrap();
    s.caught_up(&mut c);
    assert_equal(s, &mut c, my);
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM sch_chameleon.t_discarded_rows"
        ),
        0
    );
    c.batch_execute("SELECT chameleon.stop_replica('rep')")
        .unwrap();

    // batch retention: replayed batches older than it are removed when the worker starts
    wait_for_worker(&mut c, false);
    let batches: i64 = one(&mut c, "SELECT count(*) FROM sch_chameleon.t_replica_batch");
    c.batch_execute("UPDATE sch_chameleon.t_replica_batch SET ts_replayed = ts_replayed - interval '8 days' WHERE i_id_batch = (SELECT min(i_id_batch) FROM sch_chameleon.t_replica_batch);
                     SELECT chameleon.start_replica('rep')").unwrap();
    let t0 = Instant::now();
    while one::<i64>(&mut c, "SELECT count(*) FROM sch_chameleon.t_replica_batch") != batches - 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the old batch was not removed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c.batch_execute("SELECT chameleon.stop_replica('rep')")
        .unwrap();
}

/// The release note's procedure on a live 1.2 installation: replicating with replay paused
/// (batches stored in both shared log tables), stopped, upgraded to 1.3, started again: every
/// stored batch is replayed once and both sides are equal.
/// (MariaDB only: the catalogue's upgrade does not depend on the server.)
#[test]
fn upgrade_while_replicating() {
    let s = MARIADB;
    s.run("DROP DATABASE IF EXISTS it_upg; CREATE DATABASE it_upg;
             CREATE TABLE it_upg.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), qty INT NOT NULL,
                                        price DECIMAL(10,2), ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), st ENUM('a','b'), doc JSON);
             CREATE TABLE it_upg.tags (k VARCHAR(10), v INT);
             INSERT INTO it_upg.items (name, qty) SELECT CONCAT('item ', seq), seq FROM mysql.seq_1_to_500;");
    let mut c = fresh_db(&s.db("replica_upg"));
    c.batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    c.execute(
        "SELECT chameleon.add_source('upg', 'it_upg', $1, batch_size => 100)",
        &[&s.url("it_upg")],
    )
    .unwrap();
    c.batch_execute(
        "SELECT chameleon.init_replica('upg');
                     SELECT chameleon.alter_source('upg', replay_paused => true);
                     SELECT chameleon.start_replica('upg')",
    )
    .unwrap();
    for i in 0..6 {
        s.run(&format!("INSERT INTO it_upg.items (name, qty, st) SELECT CONCAT('w{i} ', seq), seq, 'b' FROM mysql.seq_1_to_150;
                          UPDATE it_upg.items SET qty = qty + 1, doc = JSON_OBJECT('i', {i}) WHERE id % 5 = {i};
                          DELETE FROM it_upg.items WHERE id % 13 = {i};"));
    }
    let (file, pos) = s.position();
    let t0 = Instant::now();
    loop {
        let r = c
            .query_one(
                "SELECT binlog_file, binlog_position FROM chameleon.show_status()",
                &[],
            )
            .unwrap();
        if r.get::<_, Option<String>>(0).as_deref() == Some(file.as_str())
            && r.get::<_, Option<i64>>(1).unwrap_or(0) >= pos
        {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "batches not stored");
        std::thread::sleep(Duration::from_millis(100));
    }
    // 1.2: the source flipped between the shared tables; nothing replayed yet
    for t in ["t_log_replica_1", "t_log_replica_2"] {
        assert!(
            one::<i64>(
                &mut c,
                &format!("SELECT count(*) FROM ONLY sch_chameleon.{t}")
            ) > 0,
            "{t} holds stored rows"
        );
    }
    let stored: i64 = one(&mut c, "SELECT count(*) FROM sch_chameleon.t_log_replica");
    let pending: i64 = one(
        &mut c,
        "SELECT batches_pending FROM chameleon.show_status()",
    );
    assert!(pending >= 2, "{pending} batches pending");

    // the release note: stop, upgrade, start
    c.batch_execute("SELECT chameleon.stop_replica('upg')")
        .unwrap();
    wait_for_worker(&mut c, false);
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM ONLY sch_chameleon.t_log_replica_1_src_1"
        ),
        stored,
        "every stored row moved"
    );
    c.batch_execute("SELECT chameleon.alter_source('upg', replay_paused => false); SELECT chameleon.start_replica('upg')").unwrap();
    s.caught_up(&mut c);
    let (m, p) = s.checksums(
        &mut c, "it_upg", "it_upg", "items", "id", &MY_ITEMS, &PG_ITEMS,
    );
    assert_eq!(m, p, "items after the upgrade");
    // replayed exactly once: every stored event was applied by one batch, no batch twice
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT coalesce(sum(i_replayed), 0)::bigint FROM sch_chameleon.t_replica_batch"
        ),
        stored
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM sch_chameleon.t_replica_batch WHERE NOT b_replayed"
        ),
        0
    );
    c.batch_execute("SELECT chameleon.stop_replica('upg')")
        .unwrap();
}

/// A row PostgreSQL refuses (here: a CHECK the DBA added on the destination) is set aside in
/// t_discarded_rows with its SQLSTATE and reason; the other rows of its batch are applied and
/// replication goes on.
fn bad_rows_are_set_aside_and_the_rest_applied(s: Server) {
    s.run(
        "DROP DATABASE IF EXISTS it_bad; CREATE DATABASE it_bad;
             CREATE TABLE it_bad.t (id INT PRIMARY KEY, qty INT NOT NULL);",
    );
    let mut c = db_with_extension(&s.db("replica_bad"));
    c.execute(
        "SELECT chameleon.add_source('bad', 'it_bad', $1)",
        &[&s.url("it_bad")],
    )
    .unwrap();
    c.batch_execute(
        "SELECT chameleon.init_replica('bad');
                     ALTER TABLE it_bad.t ADD CONSTRAINT qty_small CHECK (qty < 1000);
                     SELECT chameleon.start_replica('bad')",
    )
    .unwrap();
    wait_for_worker(&mut c, true);
    s.run(
        "INSERT INTO it_bad.t SELECT seq, seq * 10 FROM mysql.seq_1_to_200;
             UPDATE it_bad.t SET qty = qty + 1 WHERE id <= 10;",
    );
    s.caught_up(&mut c);
    // qty >= 1000 for id >= 100: 101 rows refused, 99 applied; the updates of ids 1..10 applied
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_bad.t"), 99);
    assert_eq!(
        one::<i64>(&mut c, "SELECT sum(qty) FROM it_bad.t WHERE id <= 10"),
        (1..=10).map(|i| i * 10 + 1).sum::<i64>()
    );
    let (n, state, reason): (i64, String, String) = {
        let r = c
            .query_one(
                "SELECT count(*), min(sqlstate), min(reason) FROM chameleon.show_errors('bad')",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((n, state.as_str()), (101, "23514"));
    assert!(reason.contains("qty_small"), "{reason}");
    assert_eq!(
        one::<i64>(&mut c, "SELECT discarded_rows FROM chameleon.show_status()"),
        101
    );
    assert_eq!(
        one::<String>(&mut c, "SELECT status FROM chameleon.show_status()"),
        "running"
    );
    c.batch_execute("SELECT chameleon.stop_replica('bad')")
        .unwrap();
}

/// Two sources replicate at once into two schemas of one database, each with its own worker,
/// log tables and server id.
fn two_sources_at_once(s: Server) {
    for db in ["it_two_a", "it_two_b"] {
        s.run(&format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};
                          CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n INT);
                          INSERT INTO {db}.t (v, n) SELECT CONCAT('{db} ', seq), seq FROM mysql.seq_1_to_500;"));
    }
    let mut c = db_with_extension(&s.db("replica_two"));
    for (src, db) in [("a", "it_two_a"), ("b", "it_two_b")] {
        c.execute(
            &format!("SELECT chameleon.add_source('{src}', '{db}', $1, batch_size => 200)"),
            &[&s.url(db)],
        )
        .unwrap();
        c.batch_execute(&format!(
            "SELECT chameleon.init_replica('{src}'); SELECT chameleon.start_replica('{src}')"
        ))
        .unwrap();
    }
    let ids: Vec<i64> = c
        .query(
            "SELECT i_server_id FROM sch_chameleon.t_sources ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_ne!(ids[0], ids[1], "each source has its own server id");
    for i in 0..5 {
        for db in ["it_two_a", "it_two_b"] {
            s.run(&format!("INSERT INTO {db}.t (v, n) SELECT CONCAT('w{i}'), seq FROM mysql.seq_1_to_300;
                              UPDATE {db}.t SET n = n * 2 WHERE id % 4 = {i}; DELETE FROM {db}.t WHERE id % 23 = {i};"));
        }
    }
    s.caught_up(&mut c);
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(DISTINCT worker_pid) FROM chameleon.show_status()"
        ),
        2
    );
    for db in ["it_two_a", "it_two_b"] {
        let (m, p) = s.checksums(
            &mut c,
            db,
            db,
            "t",
            "id",
            &["id", "v", "n"],
            &["id", "v", "n"],
        );
        assert_eq!(m, p, "{db}");
        assert!(m.0 > 1500, "{db}: {} rows", m.0);
    }
    // both stored batches of their own, each in its own pair of log tables
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(DISTINCT i_id_source) FROM sch_chameleon.t_replica_batch"
        ),
        2
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(DISTINCT v_log_table[1]) FROM sch_chameleon.t_sources"
        ),
        2
    );
    c.batch_execute("SELECT chameleon.stop_replica('a'); SELECT chameleon.stop_replica('b')")
        .unwrap();
}

/// Replay applies the net effect of a batch per independent table (one DELETE, UPDATE and
/// INSERT each) and keeps binlog order for tables linked by foreign keys. Here: random OLTP
/// steps over four tables in one batch, a parent/child pair whose cascades MariaDB does not
/// log (the destination's own foreign key performs them), and unique values swapped between
/// rows (the net UPDATE meets an intermediate state, so that table is replayed in order).
fn net_effect_replay_keeps_foreign_keys_and_unique_swaps_right(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_net; CREATE DATABASE it_net;
             CREATE TABLE it_net.parent (id INT PRIMARY KEY, name VARCHAR(20));
             CREATE TABLE it_net.child (id INT PRIMARY KEY, parent_id INT NOT NULL, v INT,
                                        FOREIGN KEY (parent_id) REFERENCES it_net.parent (id) ON DELETE CASCADE);
             CREATE TABLE it_net.uq (id INT PRIMARY KEY, u INT NOT NULL UNIQUE);
             CREATE TABLE it_net.plain (id INT PRIMARY KEY, v INT NOT NULL);
             INSERT INTO it_net.uq SELECT seq, seq FROM mysql.seq_1_to_100;
             INSERT INTO it_net.plain SELECT seq, 0 FROM mysql.seq_1_to_100;");
    let mut c = db_with_extension(&s.db("replica_net"));
    c.execute(
        "SELECT chameleon.add_source('net', 'it_net', $1, batch_size => 100000)",
        &[&s.url("it_net")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('net'); SELECT chameleon.alter_source('net', replay_paused => true); SELECT chameleon.start_replica('net')").unwrap();
    wait_for_worker(&mut c, true);
    let mut sql = String::new();
    for i in 1..=60 {
        sql.push_str(&format!(
            "BEGIN; INSERT INTO it_net.parent VALUES ({i}, 'p{i}'); UPDATE it_net.plain SET v = v + {i} WHERE id = {a};
                    INSERT INTO it_net.child VALUES ({i}0, {i}, 1), ({i}1, {i}, 2); DELETE FROM it_net.plain WHERE id = {d};
                    INSERT INTO it_net.plain VALUES ({d}, {i}) ON DUPLICATE KEY UPDATE v = {i}; COMMIT;\n",
            a = i % 10 + 1,
            d = i % 7 + 20
        ));
        if i % 6 == 0 {
            // a cascade MariaDB performs without logging it, then a parent that comes back
            sql.push_str(&format!("DELETE FROM it_net.parent WHERE id = {}; INSERT INTO it_net.parent VALUES ({}, 'again');\n", i - 3, i - 3));
            // unique values swapped between two rows through a free value
            sql.push_str(&format!(
                "BEGIN; UPDATE it_net.uq SET u = 0 WHERE id = {x}; UPDATE it_net.uq SET u = {x} WHERE id = {y}; UPDATE it_net.uq SET u = {y} WHERE id = {x}; COMMIT;\n",
                x = i,
                y = i + 1
            ));
            sql.push_str(&format!(
                "DELETE FROM it_net.uq WHERE id = {}; INSERT INTO it_net.uq VALUES ({}, {});\n",
                80 + i / 6,
                500 + i,
                80 + i / 6
            ));
        }
    }
    s.run(&sql);
    // one replay of everything stored while paused
    let (file, pos) = s.position();
    let t0 = Instant::now();
    while one::<Option<i64>>(
        &mut c,
        "SELECT binlog_position FROM chameleon.show_status()",
    ) < Some(pos)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "stored up to {file}:{pos}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c.batch_execute("SELECT chameleon.alter_source('net', replay_paused => false)")
        .unwrap();
    s.caught_up(&mut c);
    for (t, cols) in [
        ("parent", &["id", "name"][..]),
        ("child", &["id", "parent_id", "v"][..]),
        ("uq", &["id", "u"][..]),
        ("plain", &["id", "v"][..]),
    ] {
        let (m, p) = s.checksums(&mut c, "it_net", "it_net", t, "id", cols, cols);
        assert_eq!(m, p, "{t}");
    }
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM it_net.child"),
        60 * 2 - 10 * 2,
        "ten parents deleted with their children"
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM sch_chameleon.t_discarded_rows"
        ),
        0,
        "nothing set aside"
    );
    c.batch_execute("SELECT chameleon.stop_replica('net')")
        .unwrap();
}

/// start_replica checks the stored position against the server: on MariaDB against SHOW
/// BINARY LOGS (a file the server no longer has, an offset past its end); on MySQL with GTIDs
/// against its GTID sets (a set with transactions the server never executed, as after a
/// failover to a server that lags). Each is refused at once with the fix, and nothing changes
/// (status, position, no worker).
fn start_replica_refuses_a_position_the_server_does_not_have(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_gone; CREATE DATABASE it_gone; CREATE TABLE it_gone.t (id INT PRIMARY KEY);");
    let mut c = db_with_extension(&s.db("replica_gone"));
    c.execute(
        "SELECT chameleon.add_source('g', 'it_gone', $1)",
        &[&s.url("it_gone")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('g')")
        .unwrap();
    let (file, _) = s.position();
    let set = "UPDATE sch_chameleon.t_sources SET";
    let cases = if s.is_mysql() {
        vec![(
            format!("{set} t_gtid = t_gtid || ',aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa:1-3'"),
            "has not executed transactions",
        )]
    } else {
        vec![
            (format!("{set} t_binlog_name = 'mysql-bin.999999', i_binlog_position = 4"), "is not on the server"),
            (format!("{set} t_binlog_name = '{file}', i_binlog_position = 999999999999"), "past the end"),
        ]
    };
    let stored = |c: &mut Client| -> (String, i64, Option<String>) {
        let r = c
            .query_one("SELECT t_binlog_name, i_binlog_position, t_gtid FROM sch_chameleon.t_sources", &[])
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    for (update, says) in cases {
        c.batch_execute(&update).unwrap();
        let before = stored(&mut c);
        let (m, _, h) = fails(&mut c, "SELECT chameleon.start_replica('g')", "55000");
        assert!(m.contains(says), "{m}");
        assert!(h.contains("init_replica"), "{h}");
        let st: String = one(&mut c, "SELECT status FROM chameleon.show_status()");
        assert_eq!(st, "initialised", "nothing changed");
        assert_eq!(stored(&mut c), before);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        one::<Option<i32>>(&mut c, "SELECT worker_pid FROM chameleon.show_status()"),
        None,
        "no worker started"
    );
}

/// chameleon.direct_replay (the default): each batch is replayed in the transaction that stores
/// it, without log rows; a workload ends equal, every batch marked replayed with its rows counted,
/// and a pause still keeps batches in the log tables until replay resumes.
fn direct_replay_stores_and_replays_in_one_transaction(s: Server) {
    s.run("DROP DATABASE IF EXISTS it_direct; CREATE DATABASE it_direct;
             CREATE TABLE it_direct.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, note VARCHAR(30));
             INSERT INTO it_direct.t (v) SELECT seq FROM mysql.seq_1_to_500;");
    let mut c = db_with_extension(&s.db("direct_replay"));
    c.execute(
        "SELECT chameleon.add_source('d', 'it_direct', $1, batch_size => 300)",
        &[&s.url("it_direct")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('d'); SELECT chameleon.start_replica('d')")
        .unwrap();
    wait_for_worker(&mut c, true);
    let workload = "INSERT INTO it_direct.t (v, note) SELECT seq, 'n 🦎' FROM mysql.seq_1_to_1000;
                    UPDATE it_direct.t SET v = v * 2 WHERE id % 3 = 0; DELETE FROM it_direct.t WHERE id % 10 = 0;
                    BEGIN; UPDATE it_direct.t SET id = id + 100000 WHERE id = 7; INSERT INTO it_direct.t (v) VALUES (-1); COMMIT;";
    s.run(workload);
    s.caught_up(&mut c);
    let cols = ["id", "v", "note"];
    let (m, p) = s.checksums(&mut c, "it_direct", "it_direct", "t", "id", &cols, &cols);
    assert_eq!(m, p, "direct");
    let (batches, replayed, rows): (i64, i64, i64) = {
        let r = c.query_one("SELECT count(*), count(*) FILTER (WHERE b_replayed), coalesce(sum(i_replayed), 0)::bigint FROM sch_chameleon.t_replica_batch", &[]).unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert!(
        batches >= 2 && batches == replayed,
        "{batches} batches, {replayed} replayed"
    );
    assert!(rows >= 1000 + 500 / 3, "rows counted: {rows}");
    // paused: batches wait in the log tables, and are replayed once when replay resumes
    c.batch_execute("SELECT chameleon.alter_source('d', replay_paused => true)")
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    s.run("UPDATE it_direct.t SET note = 'paused' WHERE id < 50;");
    let (_, pos) = s.position();
    let t0 = Instant::now();
    while one::<i64>(&mut c, "SELECT count(*) FROM sch_chameleon.t_log_replica") == 0
        || one::<Option<i64>>(
            &mut c,
            "SELECT binlog_position FROM chameleon.show_status()",
        ) < Some(pos)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "stored while paused"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c.batch_execute("SELECT chameleon.alter_source('d', replay_paused => false)")
        .unwrap();
    s.caught_up(&mut c);
    let (m, p) = s.checksums(&mut c, "it_direct", "it_direct", "t", "id", &cols, &cols);
    assert_eq!(m, p, "after the pause");
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM sch_chameleon.t_log_replica"),
        0
    );
    c.batch_execute("SELECT chameleon.stop_replica('d')")
        .unwrap();
}
