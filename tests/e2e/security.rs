//! Nobody but the catalogue's owner uses the API or reads a MySQL password.

use chameleon_e2e::*;

/// A database `db` with one source, and a login role `role` (cluster-wide: one per test).
fn setup(db: &str, role: &str) -> Client {
    let mut c = fresh_db(db);
    c.batch_execute(&format!(
        "CREATE EXTENSION chameleon;
         SELECT chameleon.add_source('shop', 'shop', 'mysql://usr_replica:TopSecret42@127.0.0.1:3306/shop', check_source => false);
         DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
    ))
    .unwrap();
    c
}

#[test]
fn a_role_without_grants_can_do_nothing() {
    let mut owner = setup("sec_nobody", "chameleon_nobody");
    let mut nobody = connect_as("sec_nobody", "chameleon_nobody");
    for sql in [
        "SELECT chameleon.add_source('x', 'x', 'mysql://u:p@h/db', check_source => false)",
        "SELECT * FROM chameleon.show_status()",
        "SELECT * FROM chameleon.show_errors()",
        "SELECT * FROM chameleon.show_tables()",
        "SELECT chameleon.stop_replica('shop')",
        "SELECT chameleon.start_replica('shop')",
        "SELECT chameleon.init_replica('shop')",
        "SELECT chameleon.enable_replica('shop')",
        "SELECT chameleon.drop_source('shop')",
        "SELECT chameleon.alter_source('shop', batch_size => 1)",
        "SELECT * FROM sch_chameleon.t_sources",
        "SELECT * FROM sch_chameleon.t_source_secrets",
        "SELECT sch_chameleon.fn_refresh_parts()",
    ] {
        let e = nobody.batch_execute(sql).expect_err(sql);
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e}");
    }
    // no function of the extension is executable by PUBLIC
    let public_exec: i64 = one(&mut owner,
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname IN ('chameleon', 'sch_chameleon') AND has_function_privilege('chameleon_nobody', p.oid, 'EXECUTE')");
    assert_eq!(public_exec, 0);
    assert_eq!(
        one::<i64>(&mut owner, "SELECT count(*) FROM sch_chameleon.t_sources"),
        1,
        "nothing was dropped"
    );
}

#[test]
fn a_monitoring_role_never_sees_the_password() {
    let mut owner = setup("sec_monitor", "chameleon_monitor");
    // what a DBA would grant a monitoring role
    owner.batch_execute(
        "GRANT USAGE ON SCHEMA chameleon, sch_chameleon TO chameleon_monitor;
         GRANT EXECUTE ON FUNCTION chameleon.show_status(), chameleon.show_errors(text) TO chameleon_monitor;
         GRANT SELECT ON sch_chameleon.t_sources, sch_chameleon.t_replica_batch, sch_chameleon.t_log_replica,
                         sch_chameleon.t_replica_tables, sch_chameleon.t_discarded_rows TO chameleon_monitor;",
    )
    .unwrap();
    let mut mon = connect_as("sec_monitor", "chameleon_monitor");
    let everything: String = one(
        &mut mon,
        "SELECT string_agg(s::text, ' ') FROM chameleon.show_status() s",
    );
    assert!(
        everything.contains("mysql://usr_replica@127.0.0.1:3306/shop"),
        "{everything}"
    );
    let sources: String = one(
        &mut mon,
        "SELECT string_agg(s::text, ' ') FROM sch_chameleon.t_sources s",
    );
    for text in [&everything, &sources] {
        assert!(!text.contains("TopSecret42"), "password leaked: {text}");
    }
    let e = mon
        .batch_execute("SELECT * FROM sch_chameleon.t_source_secrets")
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501");
    // the owner can read it, so a worker running as the owner can connect
    assert_eq!(
        one::<String>(
            &mut owner,
            "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets"
        ),
        "TopSecret42"
    );
}

/// The worker is a superuser. A destination table's owner who puts a trigger on it must not get
/// the worker's privileges through it: replay changes each table as its owner, in a
/// security-restricted operation (as PostgreSQL's own logical replication does). A trigger that
/// only records who runs it works; one that tries to make its owner a superuser or to read the
/// MySQL password fails, its rows go to show_errors with the reason, and the worker goes on.
#[test]
fn a_trigger_on_a_destination_table_runs_as_the_tables_owner() {
    mariadb(
        "DROP DATABASE IF EXISTS it_trig; CREATE DATABASE it_trig;
             CREATE TABLE it_trig.t (id INT PRIMARY KEY, v INT NOT NULL);
             CREATE TABLE it_trig.u (id INT PRIMARY KEY, v INT NOT NULL);",
    );
    let mut c = db_with_extension("sec_trigger");
    c.execute(
        "SELECT chameleon.add_source('t', 'it_trig', $1)",
        &[&mysql_url("it_trig")],
    )
    .unwrap();
    c.batch_execute(
        "SELECT chameleon.init_replica('t');
         DO $$ BEGIN CREATE ROLE chameleon_dest_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         ALTER ROLE chameleon_dest_owner NOSUPERUSER;
         ALTER SCHEMA it_trig OWNER TO chameleon_dest_owner;
         ALTER TABLE it_trig.t OWNER TO chameleon_dest_owner;
         ALTER TABLE it_trig.u OWNER TO chameleon_dest_owner;
         SET ROLE chameleon_dest_owner;
         CREATE TABLE it_trig.audit (who text, n int);
         CREATE FUNCTION it_trig.record() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN INSERT INTO it_trig.audit VALUES (current_user, NEW.id); RETURN NEW; END$$;
         CREATE TRIGGER record BEFORE INSERT ON it_trig.t FOR EACH ROW EXECUTE FUNCTION it_trig.record();
         CREATE FUNCTION it_trig.escalate() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN
               IF NEW.id % 2 = 0 THEN ALTER ROLE chameleon_dest_owner SUPERUSER;
               ELSE INSERT INTO it_trig.audit SELECT t_mysql_password, NEW.id FROM sch_chameleon.t_source_secrets; END IF;
               RETURN NEW;
             END$$;
         CREATE TRIGGER escalate BEFORE INSERT ON it_trig.u FOR EACH ROW EXECUTE FUNCTION it_trig.escalate();
         RESET ROLE;
         SELECT chameleon.start_replica('t');",
    )
    .unwrap();
    mariadb("INSERT INTO it_trig.t SELECT seq, seq FROM mysql.seq_1_to_20; INSERT INTO it_trig.u SELECT seq, seq FROM mysql.seq_1_to_10;
             INSERT INTO it_trig.t VALUES (21, 21);");
    caught_up(&mut c);
    // the recording trigger ran, as the table's owner
    let who: Vec<(String, i64)> = c
        .query("SELECT who, count(*) FROM it_trig.audit GROUP BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(who, [("chameleon_dest_owner".to_string(), 21)]);
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_trig.t"), 21);
    // the escalating one failed for every row: no superuser, no password, rows set aside
    assert!(!one::<bool>(
        &mut c,
        "SELECT rolsuper FROM pg_roles WHERE rolname = 'chameleon_dest_owner'"
    ));
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM it_trig.u"), 0);
    let refused: Vec<(String, i64)> = c
        .query("SELECT sqlstate, count(*) FROM chameleon.show_errors() WHERE table_name = 'u' GROUP BY 1 ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        refused,
        [("42501".to_string(), 10)],
        "permission denied, each row"
    );
    assert!(
        one::<String>(&mut c, "SELECT status FROM chameleon.show_status()").starts_with("running")
    );
    c.batch_execute("SELECT chameleon.stop_replica('t')")
        .unwrap();
}

/// The MySQL password never shows in what chameleon says: not in an error of add_source or
/// alter_source, not in show_status while the worker cannot reach MySQL, not in the server
/// log lines the worker writes, not in pg_stat_activity.
#[test]
fn the_password_shows_nowhere() {
    let pw = "Pw4LeakCheck_9f3";
    mariadb("DROP DATABASE IF EXISTS it_leak; CREATE DATABASE it_leak; CREATE TABLE it_leak.t (id INT PRIMARY KEY);");
    let mut c = db_with_extension("sec_leak");
    let unreachable = format!("mysql://usr_replica:{pw}@127.0.0.1:1/it_leak");
    let e = c
        .execute(
            "SELECT chameleon.add_source('l', 'it_leak', $1)",
            &[&unreachable],
        )
        .unwrap_err();
    assert!(!describe(&e).contains(pw), "{}", describe(&e));
    c.execute(
        "SELECT chameleon.add_source('l', 'it_leak', $1)",
        &[&mysql_url("it_leak")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('l')")
        .unwrap();
    // the server goes away: the worker retries and says why
    c.execute(
        "SELECT chameleon.alter_source('l', mysql_conn => $1, check_source => false)",
        &[&unreachable],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.start_replica('l')")
        .unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let r = c.query_one("SELECT status, coalesce(last_error, ''), coalesce(mysql_conn, '') FROM chameleon.show_status()", &[]).unwrap();
        let (status, err, url): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        assert!(!err.contains(pw) && !url.contains(pw), "{err} {url}");
        if status.starts_with("running (reconnecting") {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "{status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let activity: Vec<String> = c
        .query("SELECT coalesce(application_name, '') || ' ' || coalesce(query, '') || ' ' || coalesce(backend_type, '') FROM pg_stat_activity", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        activity.iter().any(|a| a.contains("chameleon")),
        "{activity:?}"
    );
    assert!(
        activity
            .iter()
            .all(|a| !a.contains(pw) || a.contains("pg_stat_activity")),
        "{activity:?}"
    );
    c.batch_execute("SELECT chameleon.stop_replica('l')")
        .unwrap();
    // the worker's log lines (the server log is the one scripts/env writes)
    let dir = format!(
        "{}/log",
        std::env::var("CHAMELEON_PGDATA").expect("CHAMELEON_PGDATA")
    );
    let mut lines = 0;
    for f in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = String::from_utf8_lossy(&std::fs::read(f.path()).unwrap()).into_owned();
        for l in text.lines().filter(|l| l.contains("chameleon replica")) {
            lines += 1;
            assert!(!l.contains(pw), "{l}");
        }
    }
    assert!(lines > 0, "the worker logged its retries");
}
