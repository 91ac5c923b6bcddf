//! The fault suite (docs/reliability.md), each fault under a running write workload: the
//! replica worker killed with SIGKILL at pseudo-random moments (PostgreSQL then restarts every
//! backend), PostgreSQL stopped in immediate mode and started again, the binlog rotated every
//! second, the link to MySQL cut; and a binlog purged past a stopped source's position.
//! Replication resumes by itself (the launcher, the worker's reconnect) and ends equal on both
//! sides: nothing lost, nothing applied twice (a keyless, insert-only journal would show any
//! duplicate). Short mode here (CI); CHAMELEON_SOAK=1 (scripts/soak) is the long mode.
//! In a test binary of its own: these faults end every connection of the cluster.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chameleon_e2e::live::{self, connect_retry, mysql_tables, pg_ctl, worker_pid, workload};
use chameleon_e2e::*;

/// One scenario at a time: each stops the whole cluster or purges binlogs.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Short mode (CI): 10 kills and 3 immediate shutdowns per replay path; long mode
/// (CHAMELEON_SOAK=1, scripts/soak): 200 and 50.
fn fault_counts() -> (usize, usize) {
    if soak() {
        (200, 50)
    } else {
        (10, 3)
    }
}

/// The default path: each batch applied in the transaction that stores it.
#[test]
fn kill_and_crash_lose_and_duplicate_nothing() {
    let (kills, shutdowns) = fault_counts();
    kill_and_crash(MARIADB, "it_fault", "faults_1", true, (kills, shutdowns));
}

/// The default path from MySQL 9.7, whose restarted worker resumes by GTID set (fewer faults
/// in the short mode: the same code after the stream).
#[test]
fn kill_and_crash_on_mysql_lose_and_duplicate_nothing() {
    let (kills, shutdowns) = fault_counts();
    kill_and_crash(MYSQL97, "it_fault_my", "faults_my", true, (kills / 2, shutdowns.min(2)));
}

/// The two-step path (chameleon.direct_replay = off): batches stored with their log rows, then
/// replayed; a fault may fall between the two transactions.
#[test]
fn kill_and_crash_through_the_log_tables() {
    let (kills, shutdowns) = fault_counts();
    kill_and_crash(MARIADB, "it_fault_log", "faults_log", false, (kills, shutdowns));
}

/// The binlog rotated every second while `stop` is false.
fn rotation(server: Server, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            server.run("FLUSH BINARY LOGS");
            n += 1;
            std::thread::sleep(Duration::from_secs(1));
        }
        n
    })
}

/// The oracle (live::assert_equal_after) on a new connection to `db`.
fn assert_equal_after(server: Server, db: &str, my: &str, rounds: usize) -> Client {
    let mut c = connect_retry(db);
    live::assert_equal_after(server, &mut c, my, rounds);
    c
}

fn setup(server: Server, my: &str, db: &str, url: &str, direct: bool) {
    mysql_tables(server, my);
    let mut c = db_with_extension(db);
    if !direct {
        c.batch_execute(&format!(
            "ALTER DATABASE {db} SET chameleon.direct_replay = off"
        ))
        .unwrap();
    }
    c.execute(
        "SELECT chameleon.add_source('f', $2, $1, batch_size => 300)",
        &[&url, &my],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('f'); SELECT chameleon.start_replica('f')")
        .unwrap();
}

fn summary(what: &str, times: &mut [Duration]) -> String {
    times.sort();
    if times.is_empty() {
        return format!("{what}: none");
    }
    format!(
        "{what}: {} times, recovered in {:.1?} median, {:.1?} max",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    )
}

/// Kills of the worker with SIGKILL (PostgreSQL then restarts every backend) and immediate
/// shutdowns of PostgreSQL, at pseudo-random moments, under a write workload and a binlog that
/// rotates every second: the launcher brings the worker back each time, and the end is equal.
fn kill_and_crash(
    server: Server,
    my: &'static str,
    db: &'static str,
    direct: bool,
    (kills, shutdowns): (usize, usize),
) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    setup(server, my, db, &server.url(my), direct);
    let mut pid = worker_pid(db, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let (writes, rotations) = (workload(server, my, stop.clone()), rotation(server, stop.clone()));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("{db}: fault moments from seed {seed}");
    let mut moments = Moments::new(seed);
    let (mut after_kill, mut after_shutdown) = (Vec::new(), Vec::new());
    let every = (kills + shutdowns) / shutdowns.max(1);
    for n in 1..=kills + shutdowns {
        std::thread::sleep(moments.next_ms(100, 1500));
        let t0 = Instant::now();
        if n % every == 0 && after_shutdown.len() < shutdowns {
            pg_ctl(&["-m", "immediate", "stop"]);
            pg_ctl(&["start"]);
            let new = worker_pid(db, pid);
            after_shutdown.push(t0.elapsed());
            pid = new;
        } else {
            assert!(Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap()
                .success());
            let new = worker_pid(db, pid);
            assert_ne!(new, pid, "a new worker");
            after_kill.push(t0.elapsed());
            pid = new;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    let rotated = rotations.join().unwrap();
    let mut c = assert_equal_after(server, db, my, rounds);
    eprintln!(
        "{db}: {rounds} rounds ({} journal rows), binlog rotated {rotated} times; {}; {}",
        rounds * 100,
        summary("worker killed", &mut after_kill),
        summary("PostgreSQL stopped in immediate mode", &mut after_shutdown)
    );
    c.batch_execute("SELECT chameleon.stop_replica('f')")
        .unwrap();
}

/// The link to MySQL cut (a relay that drops every connection and refuses new ones) three
/// times for 3 s under a write workload: the same worker reconnects with backoff, says so in
/// show_status while it waits, and ends equal.
#[test]
fn network_cuts_are_survived_by_the_same_worker() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let relay = Relay::start();
    let (my, db) = ("it_netcut", "faults_net");
    setup(MARIADB, my, db, &relay.url(my), true);
    let pid = worker_pid(db, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(MARIADB, my, stop.clone());
    let mut c = connect_retry(db);
    let mut outages = Vec::new();
    let cuts = if soak() { 30 } else { 3 };
    for _ in 0..cuts {
        std::thread::sleep(Duration::from_millis(1500));
        relay.cut();
        let t0 = Instant::now();
        let mut seen = false;
        while t0.elapsed() < Duration::from_secs(3) {
            let s: String = one(&mut c, "SELECT status FROM chameleon.show_status()");
            seen |= s.starts_with("running (reconnecting");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(seen, "show_status said it was reconnecting");
        relay.restore();
        let t1 = Instant::now();
        while one::<String>(&mut c, "SELECT status FROM chameleon.show_status()") != "running" {
            assert!(t1.elapsed() < Duration::from_secs(60), "did not reconnect");
            std::thread::sleep(Duration::from_millis(100));
        }
        outages.push(t1.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    let mut c = assert_equal_after(MARIADB, db, my, rounds);
    assert_eq!(
        one::<Option<i32>>(&mut c, "SELECT worker_pid FROM chameleon.show_status()"),
        Some(pid),
        "the same worker throughout"
    );
    eprintln!(
        "{db}: {rounds} rounds; {}",
        summary("link cut for 3 s", &mut outages)
    );
    c.batch_execute("SELECT chameleon.stop_replica('f')")
        .unwrap();
}

/// The binlog purged past a stopped source's position: start_replica refuses with the reason
/// and the fix, and changes nothing; init_replica copies again and replication goes on.
#[test]
fn a_purged_position_is_refused_and_init_replica_recovers() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (my, db) = ("it_purged", "faults_purged");
    setup(MARIADB, my, db, &mysql_url(my), true);
    let mut c = connect_retry(db);
    caught_up(&mut c);
    c.batch_execute("SELECT chameleon.stop_replica('f')")
        .unwrap();
    wait_for_worker(&mut c, false);
    let before: (String, i64) = {
        let r = c
            .query_one(
                "SELECT t_binlog_name, i_binlog_position FROM sch_chameleon.t_sources",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    mariadb(&format!(
        "INSERT INTO {my}.journal VALUES (1, 'lost'); FLUSH BINARY LOGS;"
    ));
    let (file, _) = master_position();
    // MariaDB keeps a file a replica still reads: the stopped worker's connection may linger a
    // moment on the server
    let t0 = Instant::now();
    loop {
        mariadb(&format!("PURGE BINARY LOGS TO '{file}'"));
        if !mariadb("SHOW BINARY LOGS").contains(&before.0) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{} was not purged",
            before.0
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (msg, _, hint) = fails(&mut c, "SELECT chameleon.start_replica('f')", "55000");
    assert!(msg.contains(&before.0), "{msg}");
    assert!(hint.contains("init_replica"), "{hint}");
    let after: (String, i64, String) = {
        let r = c.query_one("SELECT t_binlog_name, i_binlog_position, enm_status::text FROM sch_chameleon.t_sources", &[]).unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(
        after,
        (before.0, before.1, "stopped".to_string()),
        "nothing changed"
    );
    c.batch_execute("SELECT chameleon.init_replica('f'); SELECT chameleon.start_replica('f')")
        .unwrap();
    mariadb(&format!("INSERT INTO {my}.journal VALUES (2, 'after')"));
    caught_up(&mut c);
    let (m, p) = MARIADB.checksums(
        &mut c,
        my,
        my,
        "journal",
        "tag,n",
        &["n", "tag"],
        &["n", "tag"],
    );
    assert_eq!(m, p);
    assert_eq!(m.0, 2);
    c.batch_execute("SELECT chameleon.stop_replica('f')")
        .unwrap();
}
