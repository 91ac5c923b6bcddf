//! Faults under a running write workload: the replica worker killed with SIGKILL (PostgreSQL
//! then restarts every backend) and PostgreSQL stopped in immediate mode and started again.
//! Replication resumes by itself (the launcher) and ends equal on both sides: nothing lost,
//! nothing applied twice (a keyless, insert-only table would show any duplicate).
//! In a test binary of its own: these faults end every connection of the cluster.

use std::process::Command;
use std::time::{Duration, Instant};

use chameleon_e2e::*;

fn connect_retry(db: &str) -> Client {
    let t0 = Instant::now();
    loop {
        let mut c = postgres::Config::new();
        c.host_path(pg_host())
            .port(pg_port())
            .user("postgres")
            .dbname(db);
        match c.connect(NoTls) {
            Ok(c) => return c,
            Err(e) => assert!(
                t0.elapsed() < Duration::from_secs(90),
                "PostgreSQL did not come back: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The source's worker, once it is not `old` (a killed worker is listed until the postmaster
/// has reaped it).
fn worker_pid(db: &str, old: i32) -> i32 {
    let t0 = Instant::now();
    loop {
        let mut c = connect_retry(db);
        if let Ok(r) = c.query_one("SELECT worker_pid FROM chameleon.show_status()", &[]) {
            if let Some(pid) = r.get::<_, Option<i32>>(0).filter(|p| *p != old) {
                return pid;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "no worker came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pg_ctl(args: &[&str]) {
    let data =
        std::env::var("CHAMELEON_PGDATA").expect("CHAMELEON_PGDATA: run through scripts/test");
    let st = Command::new("runuser")
        .args([
            "-u",
            "postgres",
            "--",
            &pg_bin("pg_ctl"),
            "-D",
            &data,
            "-w",
            "-t",
            "60",
            "-l",
            &format!("{data}/startup.log"),
        ])
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .status()
        .expect("pg_ctl");
    assert!(st.success(), "pg_ctl {args:?}");
}

/// One scenario at a time: each stops the whole cluster.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The default path: each batch applied in the transaction that stores it.
#[test]
fn kill_and_crash_lose_and_duplicate_nothing() {
    kill_and_crash("it_fault", "faults_1", true);
}

/// The two-step path (chameleon.direct_replay = off): batches stored with their log rows, then
/// replayed; a fault may fall between the two transactions.
#[test]
fn kill_and_crash_through_the_log_tables() {
    kill_and_crash("it_fault_log", "faults_log", false);
}

fn kill_and_crash(my: &'static str, db: &'static str, direct: bool) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    mariadb(&format!("DROP DATABASE IF EXISTS {my}; CREATE DATABASE {my};
             CREATE TABLE {my}.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40));
             CREATE TABLE {my}.journal (n INT NOT NULL, tag VARCHAR(20) NOT NULL);
             INSERT INTO {my}.items (v) SELECT seq FROM mysql.seq_1_to_2000;"));
    let mut c = db_with_extension(db);
    if !direct {
        c.batch_execute(&format!(
            "ALTER DATABASE {db} SET chameleon.direct_replay = off"
        ))
        .unwrap();
    }
    c.execute(
        "SELECT chameleon.add_source('f', $2, $1, batch_size => 300)",
        &[&mysql_url(my), &my],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('f'); SELECT chameleon.start_replica('f')")
        .unwrap();
    drop(c);
    let first = worker_pid(db, 0);

    let workload = std::thread::spawn(move || {
        for i in 0..60 {
            mariadb(&format!(
                "INSERT INTO {my}.journal SELECT seq, 'round {i}' FROM mysql.seq_1_to_100;
                 INSERT INTO {my}.items (v, note) SELECT seq, 'r{i} 🦎' FROM mysql.seq_1_to_100;
                 BEGIN; UPDATE {my}.items SET v = v + 1 WHERE id % 3 = {m3}; DELETE FROM {my}.items WHERE id % 29 = {m29}; COMMIT;",
                m3 = i % 3,
                m29 = i % 29
            ));
            std::thread::sleep(Duration::from_millis(120));
        }
    });

    let mut recoveries = Vec::new();
    // two kills of the worker, then an immediate shutdown of the whole server
    let mut pid = first;
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1500));
        let t0 = Instant::now();
        assert!(Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success());
        let new = worker_pid(db, pid);
        assert_ne!(new, pid, "a new worker");
        recoveries.push(t0.elapsed());
        pid = new;
    }
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    pg_ctl(&["-m", "immediate", "stop"]);
    pg_ctl(&["start"]);
    let after_restart = worker_pid(db, pid);
    recoveries.push(t0.elapsed());
    assert_ne!(after_restart, pid);
    workload.join().unwrap();

    // caught up, then equal
    let mut c = connect_retry(db);
    caught_up(&mut c);
    let (m, p) = checksums(
        &mut c,
        my,
        my,
        "items",
        "id",
        &["id", "v", "note"],
        &["id", "v", "note"],
    );
    assert_eq!(m, p, "items");
    let (m, p) = checksums(
        &mut c,
        my,
        my,
        "journal",
        "tag,n",
        &["n", "tag"],
        &["n", "tag"],
    );
    let dups: i64 = one(&mut c, &format!("SELECT count(*) FROM (SELECT n, tag FROM {my}.journal GROUP BY 1, 2 HAVING count(*) > 1) d"));
    assert_eq!(dups, 0, "no journal row twice");
    assert_eq!(m, p, "journal: no insert lost or applied twice");
    assert_eq!(m.0, 6000);
    eprintln!("recovered from each fault in {recoveries:?}");
    c.batch_execute("SELECT chameleon.stop_replica('f')")
        .unwrap();
}
