//! What every PostgreSQL major must do (scripts/test runs this binary on 15, 17 and 18, with
//! the catalogue, upgrade, dump/restore and security suites): one replication round — a copy,
//! a live workload, a schema change under it, the worker killed — and a live replica moved from
//! one major to another with pg_dump and pg_restore, the path a user takes to a new major.
//! In a test binary of its own: a killed worker restarts every backend of the cluster.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chameleon_e2e::live::{self, connect_retry, mysql_tables, worker_pid, workload};
use chameleon_e2e::*;

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn version(c: &mut Client) -> String {
    one(c, "SELECT current_setting('server_version')")
}

/// pg_restore's SQL of `file` run in one transaction on database `to` of this cluster (the
/// launcher sees the running source only with its tables complete), less the column option
/// `pg_attver`: PostgreSQL 15.20 and 17.12 stamp it on every column, pg_dump carries it, and
/// 18.6 refuses it ("unrecognized parameter"), for any database; the restoring server stamps
/// its own where it has them.
fn restore(file: &std::path::Path, to: &str) {
    let sql = Command::new(pg_bin("pg_restore")).args(["-f", "-"]).arg(file).output().unwrap();
    assert!(sql.status.success(), "pg_restore: {}", String::from_utf8_lossy(&sql.stderr));
    let text = String::from_utf8(sql.stdout).unwrap();
    let kept: String = text.lines().filter(|l| !l.contains(" SET (pg_attver=")).map(|l| format!("{l}\n")).collect();
    let mut psql = Command::new(pg_bin("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-h", &pg_host(), "-p", &pg_port().to_string(), "-U", "postgres", "-d", to])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(psql.stdin.as_mut().unwrap(), kept.as_bytes()).unwrap();
    let out = psql.wait_with_output().unwrap();
    assert!(out.status.success(), "restore into {to}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Copy, live workload, `ALTER TABLE … ADD COLUMN` under it, the worker killed with SIGKILL
/// (PostgreSQL restarts every backend, the launcher the worker): both sides end equal.
fn one_round(server: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (my, db) = if server.is_mysql() { ("it_round_my", "round_my") } else { ("it_round", "round") };
    mysql_tables(server, my);
    let mut c = fresh_db_at(pg_port(), db);
    c.batch_execute("CREATE EXTENSION chameleon").unwrap();
    c.execute("SELECT chameleon.add_source('r', $2, $1, batch_size => 300)", &[&server.url(my), &my])
        .unwrap();
    let copied: i64 = one(&mut c, "SELECT chameleon.init_replica('r')");
    assert_eq!(copied, 2000);
    c.batch_execute("SELECT chameleon.start_replica('r')").unwrap();
    let pid = worker_pid(db, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(server, my, stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    server.run(&format!("ALTER TABLE {my}.items ADD COLUMN extra INT NOT NULL DEFAULT 7"));
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    let new = worker_pid(db, pid);
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    let mut c = connect_retry(db);
    live::assert_equal_after(server, &mut c, my, rounds);
    let (m, p) = server.checksums(&mut c, my, my, "items", "id", &["id", "extra"], &["id", "extra"]);
    assert_eq!(m, p, "the column added under the workload");
    eprintln!(
        "{db} on PostgreSQL {}: {rounds} rounds, worker {pid} killed, {new} took over",
        version(&mut c)
    );
    c.batch_execute("SELECT chameleon.stop_replica('r')").unwrap();
}

both!(one_round);

/// A replica with a 1.4 catalogue on the old major (CHAMELEON_OLD_PGPORT; scripts/test: the
/// 15 cluster, while this runs on 18; unset: this cluster), dumped by this major's pg_dump while
/// it replicates under a workload, restored here, the extension updated: the launcher resumes
/// it from the dumped position and both sides end equal, nothing twice.
#[test]
fn a_live_replica_moves_to_this_major_by_dump_and_restore() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let old_port: u16 = std::env::var("CHAMELEON_OLD_PGPORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(pg_port);
    let (my, from, to) = ("it_moving", "moving_from", "moving_to");
    mysql_tables(MARIADB, my);
    let mut old = fresh_db_at(old_port, from);
    let old_version = version(&mut old);
    old.batch_execute("CREATE EXTENSION chameleon VERSION '1.4'").unwrap();
    old.execute("SELECT chameleon.add_source('m', $2, $1, batch_size => 300)", &[&mysql_url(my), &my])
        .unwrap();
    old.batch_execute("SELECT chameleon.init_replica('m'); SELECT chameleon.start_replica('m')")
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(MARIADB, my, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    let file = std::env::temp_dir().join("chameleon-moving.dump");
    let st = Command::new(pg_bin("pg_dump"))
        .args(["-h", &pg_host(), "-p", &old_port.to_string(), "-U", "postgres"])        .args(["-Fc", "-f"])
        .arg(&file)
        .arg(from)
        .status()
        .unwrap();
    assert!(st.success(), "pg_dump");
    old.batch_execute("SELECT chameleon.stop_replica('m')").unwrap();

    let mut new = fresh_db_at(pg_port(), to);
    new.batch_execute("CREATE EXTENSION chameleon VERSION '1.4'").unwrap();
    restore(&file, to);
    std::fs::remove_file(&file).ok();
    new.batch_execute("ALTER EXTENSION chameleon UPDATE").unwrap();
    assert_eq!(extversion(&mut new), "1.6");
    // the dumped source is `running`: the launcher starts its worker here
    worker_pid(to, 0);
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    live::assert_equal_after(MARIADB, &mut new, my, rounds);
    eprintln!(
        "moved from PostgreSQL {old_version} (catalogue 1.4) to {} (1.6) while replicating: {rounds} rounds",
        version(&mut new)
    );
    new.batch_execute("SELECT chameleon.stop_replica('m')").unwrap();
}
