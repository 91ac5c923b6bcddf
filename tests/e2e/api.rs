//! The SQL API at catalogue level: every verb, its errors (SQLSTATE, detail, hint) and the
//! state it leaves behind.

use chameleon_e2e::*;

const URL: &str = "mysql://usr_replica:s3cret@127.0.0.1:3306/shop";

fn db(name: &str) -> Client {
    let mut c = fresh_db(name);
    c.batch_execute("CREATE EXTENSION chameleon").unwrap();
    c
}

fn sources(c: &mut Client) -> i64 {
    one(c, "SELECT count(*) FROM sch_chameleon.t_sources")
}

fn status(c: &mut Client, src: &str) -> (String, bool) {
    let r = c
        .query_one(
            "SELECT status, enabled FROM chameleon.show_status() WHERE source = $1",
            &[&src],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

#[test]
fn add_source_registers_and_shows_without_password() {
    let (mut c, notices) = {
        db("api_add");
        connect_with_notices("api_add")
    };
    let id: i64 = c.query_one("SELECT chameleon.add_source('shop', dest_schema => 'shop_pg', mysql_conn => $1, batch_size => 500, exclude_tables => ARRAY['audit'], check_source => false)", &[&URL]).unwrap().get(0);
    assert_eq!(id, 1);
    assert!(notices
        .lock()
        .unwrap()
        .iter()
        .any(|n| n.contains("init_replica('shop')")));
    let r = c.query_one("SELECT source, dest_schema, status, enabled, replay_paused, worker_pid, batches_pending, events_pending, mysql_conn, s::text FROM chameleon.show_status() s", &[]).unwrap();
    assert_eq!(r.get::<_, String>(0), "shop");
    assert_eq!(r.get::<_, String>(1), "shop_pg");
    assert_eq!(r.get::<_, String>(2), "ready");
    assert!(r.get::<_, bool>(3));
    assert!(!r.get::<_, bool>(4));
    assert_eq!(r.get::<_, Option<i32>>(5), None);
    assert_eq!((r.get::<_, i64>(6), r.get::<_, i64>(7)), (0, 0));
    assert_eq!(
        r.get::<_, String>(8),
        "mysql://usr_replica@127.0.0.1:3306/shop"
    );
    assert!(!r.get::<_, String>(9).contains("s3cret"));
    let opts = c.query_one("SELECT i_server_id, i_batch_size, t_exclude_tables, t_on_error FROM sch_chameleon.t_sources", &[]).unwrap();
    let server_id = opts.get::<_, i64>(0);
    assert!(
        (1_000_000..4_294_967_295).contains(&server_id),
        "a server id of its own: {server_id}"
    );
    assert_eq!(opts.get::<_, i32>(1), 500);
    assert_eq!(opts.get::<_, Vec<String>>(2), vec!["audit".to_string()]);
    assert_eq!(opts.get::<_, String>(3), "stop");
}

#[test]
fn bad_arguments_are_clear_errors_and_register_nothing() {
    let mut c = db("api_bad");
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("SELECT chameleon.add_source('x', 'x', 'postgres://u:p@h/db')", "22023", "mysql://"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/', check_source => false)", "22023", "mysql://"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db?sslmode=on', check_source => false)", "22023", "Known parameters"),
        ("SELECT chameleon.add_source('bad name', 'x', 'mysql://u:p@h/db', check_source => false)", "22023", "such as"),
        ("SELECT chameleon.add_source('x', 'pg_catalog', 'mysql://u:p@h/db', check_source => false)", "22023", "dedicated schema"),
        ("SELECT chameleon.add_source('x', 'sch_chameleon', 'mysql://u:p@h/db', check_source => false)", "22023", "dedicated schema"),
        ("SELECT chameleon.add_source('shop', 'other', 'mysql://u:p@h/db', check_source => false)", "42710", "drop_source"),
        ("SELECT chameleon.add_source('other', 'shop', 'mysql://u:p@h/db', check_source => false)", "42710", "drop_source"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', batch_size => 0, check_source => false)", "22023", "1 to 1000000"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', server_id => 0, check_source => false)", "22023", "server_id"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', on_error => 'ignore', check_source => false)", "22023", "'skip'"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', copy_options => '{\"chunk\": 1}', check_source => false)", "22023", "rows_per_chunk"),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', type_overrides => '{\"tinyint(1)\": 1}', check_source => false)", "22023", ""),
        ("SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', include_tables => ARRAY['db.t'], check_source => false)", "22023", "include_tables =>"),
    ];
    for (sql, code, hint) in cases {
        let (_, _, h) = fails(&mut c, sql, code);
        assert!(h.contains(hint), "{sql}: hint {h:?} lacks {hint:?}");
    }
    assert_eq!(sources(&mut c), 1, "nothing half-registered");
    let tables: i64 = one(&mut c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'sch_chameleon' AND tablename LIKE 't_log_replica_%_src_%'");
    assert_eq!(tables, 2, "only shop's pair of log tables exists");
    // NULL where a value is needed
    let (m, _, _) = fails(
        &mut c,
        "SELECT chameleon.add_source(NULL, 'x', 'mysql://u:p@h/db')",
        "22004",
    );
    assert!(m.contains("source must not be NULL"), "{m}");
    fails(
        &mut c,
        "SELECT chameleon.add_source('x', 'x', NULL)",
        "22004",
    );
    fails(
        &mut c,
        "SELECT chameleon.alter_source(NULL, batch_size => 1)",
        "22004",
    );
    assert_eq!(sources(&mut c), 1);
}

#[test]
fn unknown_sources_are_named_with_a_hint() {
    let mut c = db("api_unknown");
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    for verb in [
        "init_replica",
        "start_replica",
        "stop_replica",
        "disable_replica",
        "enable_replica",
        "sync_replica",
        "detach_replica",
        "drop_source",
    ] {
        let (m, _, h) = fails(&mut c, &format!("SELECT chameleon.{verb}('nope')"), "42704");
        assert!(m.contains("\"nope\" does not exist"), "{verb}: {m}");
        assert!(h.contains("'shop'"), "{verb}: {h}");
    }
    fails(
        &mut c,
        "SELECT chameleon.alter_source('nope', batch_size => 1)",
        "42704",
    );
    fails(
        &mut c,
        "SELECT * FROM chameleon.show_errors('nope')",
        "42704",
    );
}

#[test]
fn state_transitions() {
    let (mut c, notices) = {
        db("api_states");
        connect_with_notices("api_states")
    };
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    // stop on a source that is not running: a NOTICE, no change
    c.batch_execute("SELECT chameleon.stop_replica('shop')")
        .unwrap();
    assert!(notices
        .lock()
        .unwrap()
        .iter()
        .any(|n| n.contains("not running (ready)")));
    assert_eq!(status(&mut c, "shop"), ("ready".into(), true));
    // start needs a copy first
    let (_, _, h) = fails(&mut c, "SELECT chameleon.start_replica('shop')", "55000");
    assert!(h.contains("init_replica"), "{h}");
    // a running source can be stopped, not dropped
    c.batch_execute("UPDATE sch_chameleon.t_sources SET enm_status = 'running', t_binlog_name = 'mysql-bin.000001', i_binlog_position = 4").unwrap();
    let (_, _, h) = fails(&mut c, "SELECT chameleon.drop_source('shop')", "55000");
    assert!(h.contains("stop_replica"));
    c.batch_execute("SELECT chameleon.stop_replica('shop')")
        .unwrap();
    assert_eq!(status(&mut c, "shop"), ("stopped".into(), true));
    // disable: stops, and start is refused until enable
    c.batch_execute("UPDATE sch_chameleon.t_sources SET enm_status = 'running'; SELECT chameleon.disable_replica('shop')").unwrap();
    assert_eq!(status(&mut c, "shop"), ("stopped".into(), false));
    let (_, _, h) = fails(&mut c, "SELECT chameleon.start_replica('shop')", "55000");
    assert!(h.contains("enable_replica"));
    // enable clears an error (back to stopped, since coordinates exist) and the error text
    c.batch_execute(
        "UPDATE sch_chameleon.t_sources SET enm_status = 'error', t_last_error = 'boom'",
    )
    .unwrap();
    assert_eq!(
        one::<Option<String>>(&mut c, "SELECT last_error FROM chameleon.show_status()").as_deref(),
        Some("boom")
    );
    c.batch_execute("SELECT chameleon.enable_replica('shop')")
        .unwrap();
    assert_eq!(status(&mut c, "shop"), ("stopped".into(), true));
    assert_eq!(
        one::<Option<String>>(&mut c, "SELECT last_error FROM chameleon.show_status()"),
        None
    );
    // an error before any copy goes back to ready
    c.batch_execute("UPDATE sch_chameleon.t_sources SET enm_status = 'error', t_binlog_name = NULL; SELECT chameleon.enable_replica('shop')").unwrap();
    assert_eq!(status(&mut c, "shop"), ("ready".into(), true));
}

/// MySQL unreachable is an incident, not an end: the worker retries with backoff and says why;
/// stop_replica ends it at once. A refused login is an end: the source stops in `error`.
#[test]
fn a_worker_retries_an_unreachable_mysql_and_stops_on_a_refused_login() {
    let mut c = db("api_later");
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    c.batch_execute("UPDATE sch_chameleon.t_sources SET enm_status = 'initialised', t_binlog_name = 'mysql-bin.000001', i_binlog_position = 4").unwrap();
    // a start that rolls back starts nothing
    c.batch_execute("BEGIN; SELECT chameleon.start_replica('shop'); ROLLBACK")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(status(&mut c, "shop"), ("initialised".into(), true));
    // nothing listens at the source's address: the worker retries and says why
    c.batch_execute("SELECT chameleon.start_replica('shop')")
        .unwrap();
    let t0 = std::time::Instant::now();
    let (st, err, pid) = loop {
        let r = c
            .query_one(
                "SELECT status, last_error, worker_pid FROM chameleon.show_status()",
                &[],
            )
            .unwrap();
        let (st, err, pid): (String, Option<String>, Option<i32>) = (r.get(0), r.get(1), r.get(2));
        if st.starts_with("running (reconnecting, attempt 2") {
            break (st, err.unwrap_or_default(), pid);
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "status {st}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        err.contains("could not connect to MySQL at 127.0.0.1:3306"),
        "{st}: {err}"
    );
    assert!(pid.is_some(), "the worker stays while it retries");
    // stop_replica ends the waiting worker within a second
    c.batch_execute("SELECT chameleon.stop_replica('shop')")
        .unwrap();
    let t0 = std::time::Instant::now();
    wait_for_worker(&mut c, false);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "left in {:?}",
        t0.elapsed()
    );
    assert_eq!(status(&mut c, "shop"), ("stopped".into(), true));

    // a refused login does not get better by retrying. start_replica meets it first (it checks
    // the stored position on the server) and changes nothing ...
    let wrong = format!(
        "mysql://usr_replica:wrong_pw@{}",
        mysql_url("shop").split_once('@').unwrap().1
    );
    c.execute(
        "SELECT chameleon.alter_source('shop', mysql_conn => $1, check_source => false)",
        &[&wrong],
    )
    .unwrap();
    let (m, _, _) = fails(&mut c, "SELECT chameleon.start_replica('shop')", "28000");
    assert!(m.contains("MySQL refused the login"), "{m}");
    assert_eq!(status(&mut c, "shop"), ("stopped".into(), true));
    // ... and a worker that meets it (the password changed under a running source) stops the
    // source in error
    c.execute(
        "SELECT chameleon.alter_source('shop', mysql_conn => $1, check_source => false)",
        &[&mysql_url("shop")],
    )
    .unwrap();
    mariadb("CREATE DATABASE IF NOT EXISTS shop"); // the demo's database, maybe not loaded yet
    let (file, pos) = master_position();
    c.execute(
        "UPDATE sch_chameleon.t_sources SET t_binlog_name = $1, i_binlog_position = $2",
        &[&file, &pos],
    )
    .unwrap();
    c.batch_execute("BEGIN; SELECT chameleon.start_replica('shop');
                     UPDATE sch_chameleon.t_source_secrets SET t_mysql_password = 'wrong_pw'; COMMIT;").unwrap();
    let t0 = std::time::Instant::now();
    while status(&mut c, "shop").0 != "error" {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "status {:?}",
            status(&mut c, "shop")
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let err: String = one(&mut c, "SELECT last_error FROM chameleon.show_status()");
    assert!(err.contains("MySQL refused the login"), "{err}");
    assert!(
        !err.contains("wrong_pw"),
        "no password in the status: {err}"
    );
    let (_, _, h) = fails(&mut c, "SELECT chameleon.start_replica('shop')", "55000");
    assert!(h.contains("enable_replica"), "{h}");

    // 1.3 disables sync_replica, as the release note says
    let (m, d, h) = fails(&mut c, "SELECT chameleon.sync_replica('shop')", "0A000");
    assert!(m.contains("disabled in chameleon 1.3"), "{m}");
    assert!(d.contains("single table mode"), "{d}");
    assert!(h.contains("init_replica('shop')"), "{h}");
    // 1.2's sync_replica is another function: it copies the source again (here: no server)
    let mut c12 = fresh_db("api_later12");
    c12.batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    c12.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    let (m, _, _) = fails(&mut c12, "SELECT chameleon.sync_replica('shop')", "08001");
    assert!(m.contains("could not connect to MySQL"), "{m}");
}

#[test]
fn alter_source_changes_only_what_it_is_given() {
    let mut c = db("api_alter");
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.alter_source('shop', batch_size => 42, replay_paused => true, on_error => 'skip')").unwrap();
    let r = c.query_one("SELECT i_batch_size, b_replay_paused, t_on_error, t_mysql_url, iv_batch_retention::text FROM sch_chameleon.t_sources", &[]).unwrap();
    assert_eq!(
        (
            r.get::<_, i32>(0),
            r.get::<_, bool>(1),
            r.get::<_, String>(2)
        ),
        (42, true, "skip".to_string())
    );
    assert_eq!(
        r.get::<_, String>(3),
        "mysql://usr_replica@127.0.0.1:3306/shop"
    );
    assert_eq!(r.get::<_, String>(4), "7 days");
    let pw = |c: &mut Client| {
        one::<String>(
            c,
            "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets",
        )
    };
    // a URL without password keeps the password; with one, replaces it
    c.batch_execute("SELECT chameleon.alter_source('shop', mysql_conn => 'mysql://usr_replica@127.0.0.1:3307/shop', check_source => false)").unwrap();
    assert_eq!(pw(&mut c), "s3cret");
    assert_eq!(
        one::<String>(&mut c, "SELECT t_mysql_url FROM sch_chameleon.t_sources"),
        "mysql://usr_replica@127.0.0.1:3307/shop"
    );
    c.batch_execute("SELECT chameleon.alter_source('shop', mysql_conn => 'mysql://usr_replica:n3w@127.0.0.1:3307/shop', check_source => false)").unwrap();
    assert_eq!(pw(&mut c), "n3w");
    // a bad value changes nothing
    fails(
        &mut c,
        "SELECT chameleon.alter_source('shop', batch_size => 7, on_error => 'nope')",
        "22023",
    );
    assert_eq!(
        one::<i32>(&mut c, "SELECT i_batch_size FROM sch_chameleon.t_sources"),
        42
    );
    assert!(one::<bool>(
        &mut c,
        "SELECT replay_paused FROM chameleon.show_status()"
    ));
}

#[test]
fn show_errors_and_drop_source() {
    let mut c = db("api_drop");
    c.execute(
        "SELECT chameleon.add_source('shop', 'shop', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    c.execute(
        "SELECT chameleon.add_source('blog', 'blog', $1, check_source => false)",
        &[&URL],
    )
    .unwrap();
    c.batch_execute(
        "CREATE SCHEMA shop; CREATE TABLE shop.t (id int);
         INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES (1, 'f', 4), (2, 'f', 4);
         INSERT INTO sch_chameleon.t_log_replica_1_src_1 (i_id_batch, v_table_name, v_schema_name, enm_binlog_event) VALUES (1, 't', 'shop', 'insert');
         INSERT INTO sch_chameleon.t_discarded_rows (i_id_source, i_id_batch, v_schema_name, v_table_name, enm_binlog_event, jsb_event_data, t_sqlstate, t_reason)
         VALUES (1, 1, 'shop', 't', 'insert', '{\"id\": \"x\"}', '22P02', 'invalid input syntax for type integer'),
                (2, 2, 'blog', 'p', 'update', '{\"id\": 1}', '23505', 'duplicate key');",
    )
    .unwrap();
    let r = c
        .query(
            "SELECT source_name, reason, event_data::text FROM chameleon.show_errors('shop')",
            &[],
        )
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].get::<_, String>(1),
        "invalid input syntax for type integer"
    );
    assert_eq!(
        c.query("SELECT * FROM chameleon.show_errors()", &[])
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT discarded_rows FROM chameleon.show_status() WHERE source = 'shop'"
        ),
        1
    );
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT events_pending FROM chameleon.show_status() WHERE source = 'shop'"
        ),
        1
    );

    c.batch_execute("SELECT chameleon.drop_source('shop')")
        .unwrap();
    assert_eq!(sources(&mut c), 1);
    for (what, sql) in [
        (
            "batches",
            "SELECT count(*) FROM sch_chameleon.t_replica_batch WHERE i_id_source = 1",
        ),
        (
            "discarded",
            "SELECT count(*) FROM sch_chameleon.t_discarded_rows WHERE i_id_source = 1",
        ),
        (
            "secrets",
            "SELECT count(*) FROM sch_chameleon.t_source_secrets WHERE i_id_source = 1",
        ),
        (
            "log tables",
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 't_log_replica_%_src_1'",
        ),
    ] {
        assert_eq!(one::<i64>(&mut c, sql), 0, "{what} of the dropped source");
    }
    assert_eq!(
        one::<i64>(
            &mut c,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 't_log_replica_%_src_2'"
        ),
        2,
        "blog keeps its tables"
    );
    assert_eq!(
        one::<i64>(&mut c, "SELECT count(*) FROM shop.t"),
        0,
        "the destination schema stays"
    );
}
