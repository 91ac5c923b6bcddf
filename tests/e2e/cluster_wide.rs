//! Tests that change what the whole cluster sees — MariaDB or MySQL 9.7 restarted, chameleon.*
//! settings changed with ALTER SYSTEM — in a test binary of their own, one at a time.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chameleon_e2e::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// scripts/env restart-mysql (MariaDB) or restart-mysql97: down for `pause` seconds.
fn restart_mysql(s: Server, pause: u32, signal: &str) -> std::thread::JoinHandle<()> {
    let script = format!("{}/../scripts/env", env!("CARGO_MANIFEST_DIR"));
    let (pause, signal) = (pause.to_string(), signal.to_string());
    let verb = if s.is_mysql() { "restart-mysql97" } else { "restart-mysql" };
    std::thread::spawn(move || {
        let st = Command::new("bash")
            .args([&script, verb, &pause, &signal])
            .status()
            .expect("scripts/env");
        assert!(st.success(), "restart-mysql");
    })
}

fn status(c: &mut Client) -> (String, Option<i32>, Option<String>) {
    let r = c
        .query_one(
            "SELECT status, worker_pid, last_error FROM chameleon.show_status()",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

fn rounds(s: Server, range: std::ops::Range<u32>) {
    for i in range {
        s.run(&format!(
            "INSERT INTO it_myr.journal SELECT seq, 'round {i}' FROM mysql.seq_1_to_100;
             BEGIN; UPDATE it_myr.items SET v = v + 1 WHERE id % 4 = {m}; INSERT INTO it_myr.items (v) VALUES ({i}); COMMIT;",
            m = i % 4
        ));
    }
}

both!(server_restart_mid_stream_worker_reconnects);

/// The MySQL server restarted under a replicating source: stopped cleanly, then killed with
/// SIGKILL, each time down for a few seconds. The worker keeps running (same process),
/// show_status says it is reconnecting and why, and once the server is back the stream resumes
/// from the stored position (on MySQL 9.7: by GTID set): equal on both sides, nothing twice.
fn server_restart_mid_stream_worker_reconnects(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    s.run(
        "DROP DATABASE IF EXISTS it_myr; CREATE DATABASE it_myr;
             CREATE TABLE it_myr.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL);
             CREATE TABLE it_myr.journal (n INT NOT NULL, tag VARCHAR(20) NOT NULL);
             INSERT INTO it_myr.items (v) SELECT seq FROM mysql.seq_1_to_1000;",
    );
    let mut c = db_with_extension(&s.db("mysql_restart"));
    c.execute(
        "SELECT chameleon.add_source('m', 'it_myr', $1, batch_size => 250)",
        &[&s.url("it_myr")],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('m'); SELECT chameleon.start_replica('m')")
        .unwrap();
    wait_for_worker(&mut c, true);
    let pid = status(&mut c).1;

    let mut seen = Vec::new();
    for (n, (pause, signal)) in [(4, "-TERM"), (3, "-KILL")].into_iter().enumerate() {
        let base = n as u32 * 20;
        rounds(s, base..base + 10);
        // down while the worker may still be reading those rounds
        let t0 = Instant::now();
        let restart = restart_mysql(s, pause, signal);
        let mut reconnecting = None;
        while !restart.is_finished() {
            let (st, _, err) = status(&mut c);
            if st.contains("reconnecting") {
                reconnecting = Some((st, err));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        restart.join().unwrap();
        let (st, err) =
            reconnecting.unwrap_or_else(|| panic!("{signal}: show_status never said reconnecting"));
        assert!(
            err.as_deref().unwrap_or("").contains("MySQL")
                || err.as_deref().unwrap_or("").contains("binlog"),
            "{st}: {err:?}"
        );
        seen.push(st);
        rounds(s, base + 10..base + 20);
        s.caught_up(&mut c);
        let (st, p, err) = status(&mut c);
        assert_eq!(st, "running", "streaming again: {err:?}");
        assert_eq!(p, pid, "the same worker reconnected (no restart)");
        assert!(err.is_none(), "no error once streaming: {err:?}");
        eprintln!(
            "{signal}: {:?} down {pause} s; caught up {:.1} s after the restart began",
            s.flavour,
            t0.elapsed().as_secs_f64()
        );
    }
    let (m, p) = s.checksums(
        &mut c,
        "it_myr",
        "it_myr",
        "items",
        "id",
        &["id", "v"],
        &["id", "v"],
    );
    assert_eq!(m, p, "items");
    let (m, p) = s.checksums(
        &mut c,
        "it_myr",
        "it_myr",
        "journal",
        "tag,n",
        &["n", "tag"],
        &["n", "tag"],
    );
    assert_eq!(m, p, "journal");
    assert_eq!(
        m.0, 4000,
        "40 rounds of 100 journal rows, none lost, none twice"
    );
    eprintln!("statuses seen while {:?} was down: {seen:?}", s.flavour);
    c.batch_execute("SELECT chameleon.stop_replica('m')")
        .unwrap();
}

fn set_system(c: &mut Client, sql: &str) {
    c.batch_execute(sql).unwrap();
    c.batch_execute("SELECT pg_reload_conf()").unwrap();
    std::thread::sleep(Duration::from_millis(300)); // every process has read the file
}

/// Resets a setting changed with ALTER SYSTEM when dropped, also when the test fails: the
/// tests after it must not run under it.
struct ResetOnDrop(&'static str);

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        set_system(
            &mut connect("postgres"),
            &format!("ALTER SYSTEM RESET {}", self.0),
        );
    }
}

/// The replica workers running in the cluster, once the workers of sources stopped by the
/// tests before have left (a stopped source's worker leaves within a second).
fn settled_workers(c: &mut Client) -> i64 {
    let count = |c: &mut Client| {
        one::<i64>(
            c,
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'chameleon replica'",
        )
    };
    let t0 = Instant::now();
    while count(c) > 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    count(c)
}

/// chameleon.max_workers caps the workers of the cluster: a source beyond it stops in `error`
/// with SQLSTATE-worthy words and the fix; after a reload with a higher limit it starts.
/// (MariaDB only: a PostgreSQL-side limit.)
#[test]
fn max_workers_limits_running_sources() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = MARIADB;
    s.run("DROP DATABASE IF EXISTS it_lim_a; CREATE DATABASE it_lim_a; CREATE TABLE it_lim_a.t (id INT PRIMARY KEY);
             DROP DATABASE IF EXISTS it_lim_b; CREATE DATABASE it_lim_b; CREATE TABLE it_lim_b.t (id INT PRIMARY KEY);");
    let mut c = db_with_extension(&s.db("max_workers"));
    set_system(&mut c, "ALTER SYSTEM RESET chameleon.max_workers"); // a failed run may have left it
    for g in [
        "chameleon.max_workers",
        "chameleon.max_retry_delay",
        "chameleon.launcher_naptime",
    ] {
        let v: String = c.query_one(&format!("SHOW {g}"), &[]).unwrap().get(0);
        assert!(!v.is_empty(), "{g} is defined");
    }
    assert_eq!(
        c.query_one("SHOW chameleon.max_workers", &[])
            .unwrap()
            .get::<_, String>(0),
        "16"
    );
    // workers of other databases count too: allow exactly one more than run now
    let others = settled_workers(&mut c);
    let _reset = ResetOnDrop("chameleon.max_workers");
    set_system(
        &mut c,
        &format!("ALTER SYSTEM SET chameleon.max_workers = {}", others + 1),
    );
    for src in ["a", "b"] {
        c.execute(
            &format!("SELECT chameleon.add_source('{src}', 'lim_{src}', $1)"),
            &[&s.url(&format!("it_lim_{src}"))],
        )
        .unwrap();
        c.batch_execute(&format!("SELECT chameleon.init_replica('{src}')"))
            .unwrap();
    }
    c.batch_execute("SELECT chameleon.start_replica('a')")
        .unwrap();
    let t0 = Instant::now();
    while one::<Option<i32>>(
        &mut c,
        "SELECT worker_pid FROM chameleon.show_status() WHERE source = 'a'",
    )
    .is_none()
    {
        assert!(t0.elapsed() < Duration::from_secs(30), "a's worker started");
        std::thread::sleep(Duration::from_millis(50));
    }
    c.batch_execute("SELECT chameleon.start_replica('b')")
        .unwrap();
    let t0 = Instant::now();
    let err = loop {
        let r = c
            .query_one(
                "SELECT status, last_error FROM chameleon.show_status() WHERE source = 'b'",
                &[],
            )
            .unwrap();
        if r.get::<_, String>(0) == "error" {
            break r.get::<_, Option<String>>(1).unwrap_or_default();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "b should stop in error, is {}",
            r.get::<_, String>(0)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(err.contains("chameleon.max_workers"), "{err}");
    let a: String = one(
        &mut c,
        "SELECT status FROM chameleon.show_status() WHERE source = 'a'",
    );
    assert_eq!(a, "running", "the source within the limit is untouched");

    set_system(&mut c, "ALTER SYSTEM RESET chameleon.max_workers");
    c.batch_execute("SELECT chameleon.enable_replica('b'); SELECT chameleon.start_replica('b')")
        .unwrap();
    s.run("INSERT INTO it_lim_a.t SELECT seq FROM mysql.seq_1_to_50; INSERT INTO it_lim_b.t SELECT seq FROM mysql.seq_1_to_70;");
    s.caught_up(&mut c);
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM lim_a.t"), 50);
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM lim_b.t"), 70);
    let pids: i64 = one(
        &mut c,
        "SELECT count(DISTINCT worker_pid) FROM chameleon.show_status()",
    );
    assert_eq!(pids, 2, "two workers");
    c.batch_execute("SELECT chameleon.stop_replica('a'); SELECT chameleon.stop_replica('b')")
        .unwrap();
}
