//! A source replicating under a live write workload, for the tests that hurt it (the fault
//! suite, a round on each PostgreSQL major, moving a replica between majors): the MySQL tables,
//! the workload, the worker's pid across restarts, and the oracle that both sides ended equal
//! with nothing lost or applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{one, pg_bin, pg_host, pg_port, Client, NoTls, Server};

/// A connection to `db` on the cluster at `port`, retried for 90 s while PostgreSQL restarts.
pub fn connect_retry_at(port: u16, db: &str) -> Client {
    let t0 = Instant::now();
    loop {
        let mut c = postgres::Config::new();
        c.host_path(pg_host()).port(port).user("postgres").dbname(db);
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

pub fn connect_retry(db: &str) -> Client {
    connect_retry_at(pg_port(), db)
}

/// The source's worker, once it is not `old` (a killed worker is listed until the postmaster
/// has reaped it).
pub fn worker_pid(db: &str, old: i32) -> i32 {
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

/// MySQL database `my` with the two tables the workload writes: `items` (keyed, 2,000 rows)
/// and `journal` (keyless, insert-only: a row applied twice would show).
pub fn mysql_tables(server: Server, my: &str) {
    let (a, b) = ("mysql.seq_1_to_100 a", "mysql.seq_1_to_100 b");
    server.run(&format!("DROP DATABASE IF EXISTS {my}; CREATE DATABASE {my};
             CREATE TABLE {my}.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40));
             CREATE TABLE {my}.journal (n INT NOT NULL, tag VARCHAR(20) NOT NULL);
             INSERT INTO {my}.items (v) SELECT a.seq + 100 * (b.seq - 1) FROM {a}, {b} WHERE b.seq <= 20;"));
}

/// A write workload on `my` until `stop`: each round inserts 100 journal rows and 100 items,
/// and updates and deletes items in one transaction. Returns the rounds written.
pub fn workload(
    server: Server,
    my: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut i = 0;
        let seq = "mysql.seq_1_to_100 q";
        while !stop.load(Ordering::Relaxed) {
            server.run(&format!(
                "INSERT INTO {my}.journal SELECT seq, 'round {i}' FROM {seq};
                 INSERT INTO {my}.items (v, note) SELECT seq, 'r{i} 🦎' FROM {seq};
                 BEGIN; UPDATE {my}.items SET v = v + 1 WHERE id % 3 = {m3}; DELETE FROM {my}.items WHERE id % 29 = {m29}; COMMIT;",
                m3 = i % 3,
                m29 = i % 29
            ));
            i += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        i
    })
}

/// The oracle on connection `c`: caught up, both tables equal, the journal complete and
/// without a row twice (`rounds` of the workload), no error.
pub fn assert_equal_after(server: Server, c: &mut Client, my: &str, rounds: usize) {
    server.caught_up(c);
    let (m, p) = server.checksums(c, my, my, "items", "id", &["id", "v", "note"], &["id", "v", "note"]);
    assert_eq!(m, p, "items");
    let (m, p) = server.checksums(c, my, my, "journal", "tag,n", &["n", "tag"], &["n", "tag"]);
    let dups: i64 = one(c, &format!("SELECT count(*) FROM (SELECT n, tag FROM {my}.journal GROUP BY 1, 2 HAVING count(*) > 1) d"));
    assert_eq!(dups, 0, "no journal row twice");
    assert_eq!(m, p, "journal: no insert lost or applied twice");
    assert_eq!(m.0, rounds as i64 * 100);
    let errors: i64 = one(c, "SELECT count(*) FROM chameleon.show_errors()");
    if errors > 0 {
        let some: String = one(c, "SELECT string_agg(format('%s.%s %s %s:%s %s %s %s', schema_name, table_name, event, binlog_file, binlog_position, sqlstate, reason, left(event_data::text, 120)), E'\n') FROM (SELECT * FROM chameleon.show_errors() ORDER BY id LIMIT 5) e");
        panic!("{errors} rows set aside, the first:\n{some}");
    }
}

/// A line of a process's /proc status in MB (VmHWM: its peak resident size, shared buffers it
/// touched and its mapped library included; RssAnon: its private memory now); 0 when gone.
pub fn status_mb(pid: i32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

/// pg_ctl on the private cluster (stop in immediate mode, start), as postgres.
pub fn pg_ctl(args: &[&str]) {
    let data =
        std::env::var("CHAMELEON_PGDATA").expect("CHAMELEON_PGDATA: run through scripts/test");
    let st = std::process::Command::new("runuser")
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
