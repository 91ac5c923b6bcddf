//! init_replica(source, wait => false) against the real servers (docs/large-copies.md): the
//! copy runs in copy workers after the call returns, table by table, under a live write
//! workload; killed (SIGKILL of a copy worker: PostgreSQL restarts every backend) and stopped
//! in immediate mode at pseudo-random moments it resumes with the tables done kept; then
//! replication hands over at each table's copy point: both sides end equal, nothing lost and
//! nothing applied twice (the workload's keyless, insert-only journal would show either).
//! sync_tables copies tables again, and alter_source copies a newly included table, while the
//! source replicates the others under the same workload: equal, nothing twice.
//! In a test binary of its own: the faults end every connection of the cluster.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chameleon_e2e::live::{self, connect_retry, mysql_tables, pg_ctl, workload};
use chameleon_e2e::*;

/// One scenario at a time: each kills or stops the whole cluster.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

both!(
    a_background_copy_under_writes_hands_over_exactly,
    a_killed_copy_resumes_and_ends_equal,
    sync_tables_copies_again_while_the_others_replicate,
    a_table_added_to_include_tables_is_copied_while_running,
    disable_pauses_a_copy_and_enable_resumes_it,
    a_large_table_read_in_key_ranges_under_writes_hands_over_exactly,
);

/// The workload's tables (`items`, `journal`), `bigN` tables of `rows` rows each, and `child`
/// with a foreign key to big1.
fn tables(s: Server, my: &str, big: usize, rows: usize) {
    mysql_tables(s, my);
    let mut sql = String::new();
    for n in 1..=big {
        sql.push_str(&format!(
            "CREATE TABLE {my}.big{n} (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(100), v INT);
             INSERT INTO {my}.big{n} (pad, v) SELECT REPEAT('b', 100), a.seq FROM mysql.seq_1_to_{rows} a;"
        ));
    }
    sql.push_str(&format!(
        "CREATE TABLE {my}.child (id INT PRIMARY KEY, big_id INT, FOREIGN KEY (big_id) REFERENCES {my}.big1 (id));
         INSERT INTO {my}.child VALUES (1, 1), (2, 2);"
    ));
    s.run(&sql);
}

/// The source registered with two copy workers; its copy queued (returns the tables queued).
fn start_copy(s: Server, my: &str, pg: &str) -> (Client, i64) {
    let mut c = db_with_extension(pg);
    c.execute(
        "SELECT chameleon.add_source('bg', $2, $1, batch_size => 500, copy_options => '{\"parallel_tables\": 2}')",
        &[&s.url(my), &my],
    )
    .unwrap();
    let n: i64 = one(&mut c, "SELECT chameleon.init_replica('bg', wait => false)");
    (c, n)
}

/// Copy workers alive now (their pids).
fn copy_workers(c: &mut Client) -> Vec<i32> {
    c.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'chameleon copy' ORDER BY pid", &[])
        .map(|r| r.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default()
}

/// Waits until the copy is done (the source `initialised`); fails on `error`.
fn wait_initialised(pg: &str) -> Client {
    let t0 = Instant::now();
    loop {
        let mut c = connect_retry(pg);
        if let Ok(r) = c.query_one("SELECT status, last_error FROM chameleon.show_status()", &[]) {
            let (status, error): (String, Option<String>) = (r.get(0), r.get(1));
            assert_ne!(status, "error", "the copy failed: {error:?}");
            if status == "initialised" {
                return c;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "the copy did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Replication from the copy points on, the workload stopped: everything equal.
fn replicate_and_compare(s: Server, c: &mut Client, my: &'static str, big: usize, stop: Arc<AtomicBool>, writes: std::thread::JoinHandle<usize>) {
    c.batch_execute("SELECT chameleon.start_replica('bg')").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    assert!(rounds > 3, "the workload ran during the copy ({rounds} rounds)");
    live::assert_equal_after(s, c, my, rounds);
    for n in 1..=big {
        let (m, p) = s.checksums(c, my, my, &format!("big{n}"), "id", &["id", "pad", "v"], &["id", "pad", "v"]);
        assert_eq!(m, p, "big{n}");
    }
    let fks: i64 = one(c, &format!("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = '{my}'::regnamespace"));
    assert_eq!(fks, 1, "child's foreign key, added once every table was in");
    c.batch_execute("SELECT chameleon.stop_replica('bg')").unwrap();
}

/// The call returns at once; copy workers (never more than parallel_tables) copy the tables
/// while the workload writes, show_copy follows them; replication then takes over exactly.
fn a_background_copy_under_writes_hands_over_exactly(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_bgcopy";
    tables(s, my, 2, 150_000);
    let pg = s.db("copy_bg");
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(s, my, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let (c, queued) = start_copy(s, my, &pg);
    let returned = t0.elapsed();
    assert_eq!(queued, 5, "items, journal, big1, big2, child");
    let (mut most, mut states, mut progress) = (0, std::collections::BTreeSet::new(), Vec::new());
    let mut watch = connect(&pg);
    loop {
        most = most.max(copy_workers(&mut watch).len());
        for r in watch.query("SELECT state FROM chameleon.show_copy('bg')", &[]).unwrap() {
            states.insert(r.get::<_, String>(0));
        }
        if let Some(p) = one::<Option<String>>(&mut watch, "SELECT copy_progress FROM chameleon.show_status()") {
            progress.push(p);
        }
        if one::<String>(&mut watch, "SELECT status FROM chameleon.show_status()") != "initialising" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "the copy did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c2 = wait_initialised(&pg);
    assert!(states.contains("copying"), "show_copy showed a table being copied: {states:?}");
    assert!(
        progress.iter().any(|p| p.contains("/5 tables, ") && p.contains(" rows/s, ")),
        "show_status showed the copy's progress: {progress:?}"
    );
    let last = one::<Option<String>>(&mut watch, "SELECT copy_progress FROM chameleon.show_status()");
    assert_eq!(last, None, "no progress once the copy is done");
    assert!((1..=2).contains(&most), "copy workers at once: {most}");
    let copied: Vec<(String, String, i64, Option<String>)> = c2
        .query("SELECT table_name, state, rows_copied, copy_point FROM chameleon.show_copy('bg')", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert!(copied.iter().all(|(_, st, _, p)| st == "copied" && p.is_some()), "{copied:?}");
    assert!(copied.iter().any(|(t, _, n, _)| t == "big1" && *n == 150_000), "{copied:?}");
    eprintln!("{pg}: init_replica returned in {returned:.1?}; the copy took {:.1?} with at most {most} copy workers; progress seen {:?}; points {:?}",
        t0.elapsed(), progress.iter().step_by((progress.len() / 4).max(1)).collect::<Vec<_>>(), copied.iter().map(|(t, _, _, p)| format!("{t} {}", p.as_deref().unwrap_or(""))).collect::<Vec<_>>());
    drop(c);
    replicate_and_compare(s, &mut c2, my, 2, stop, writes);
}

/// Copy workers killed with SIGKILL twice and PostgreSQL stopped in immediate mode once, at
/// pseudo-random moments of the copy: the launcher resumes it each time, tables copied before
/// a fault are not copied again, those copied after come from later snapshots (later copy
/// points), and replication ends equal.
fn a_killed_copy_resumes_and_ends_equal(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_bgkill";
    tables(s, my, 5, 200_000);
    let pg = s.db("copy_kill");
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(s, my, stop.clone());
    let (c, _) = start_copy(s, my, &pg);
    drop(c);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("{pg}: fault moments from seed {seed}");
    let mut moments = Moments::new(seed);
    let mut kept = Vec::new();
    let mut faults = 0;
    for n in 0..3 {
        // once n + 1 tables are in and copy workers run (again), a moment into their work
        let t0 = Instant::now();
        let pids = loop {
            assert!(t0.elapsed() < Duration::from_secs(120), "the copy did not go on");
            std::thread::sleep(Duration::from_millis(20));
            // (a connection made while PostgreSQL restarts may break at its first query)
            let Ok(r) = connect_retry(&pg).query_one(
                "SELECT (SELECT count(*) FROM chameleon.show_copy('bg') WHERE state = 'copied'),
                        (SELECT status FROM chameleon.show_status()),
                        ARRAY(SELECT pid FROM pg_stat_activity WHERE backend_type = 'chameleon copy')",
                &[],
            ) else {
                continue;
            };
            let (copied, status, pids): (i64, String, Vec<i32>) = (r.get(0), r.get(1), r.get(2));
            if status != "initialising" {
                break Vec::new(); // (the copy ended before this fault)
            }
            if copied > n && !pids.is_empty() {
                break pids;
            }
        };
        if pids.is_empty() {
            break;
        }
        std::thread::sleep(moments.next_ms(1, 300));
        let Ok(done) = connect_retry(&pg).query("SELECT table_name, copied_at::text FROM chameleon.show_copy('bg') WHERE state = 'copied'", &[]) else {
            continue;
        };
        let done: Vec<(String, String)> = done.iter().map(|r| (r.get(0), r.get(1))).collect();
        if n == 2 {
            pg_ctl(&["-m", "immediate", "stop"]);
            pg_ctl(&["start"]);
        } else if !Command::new("kill").args(["-9", &pids[0].to_string()]).status().unwrap().success() {
            continue; // (that worker had just finished)
        }
        kept.extend(done);
        faults += 1;
    }
    let mut c = wait_initialised(&pg);
    assert!(faults >= 1, "a fault hit the copy");
    assert!(!kept.is_empty(), "tables were in before a fault");
    for (table, at) in &kept {
        let now: String = one(&mut c, &format!("SELECT copied_at::text FROM chameleon.show_copy('bg') WHERE table_name = '{table}'"));
        assert_eq!(&now, at, "{table}, copied before a fault, was kept");
    }
    let points: i64 = one(&mut c, "SELECT count(DISTINCT copy_point) FROM chameleon.show_copy('bg')");
    eprintln!("{pg}: {faults} faults during the copy; {} table copies kept across them; {points} distinct copy points", kept.len());
    replicate_and_compare(s, &mut c, my, 5, stop, writes);
}

/// A running source whose tables are copied by init_replica (waiting), under the workload.
fn running(s: Server, my: &'static str, pg: &str, include: &str) -> (Client, Arc<AtomicBool>, std::thread::JoinHandle<usize>) {
    let mut c = db_with_extension(pg);
    c.execute(
        &format!("SELECT chameleon.add_source('bg', $2, $1, batch_size => 500, include_tables => '{include}')"),
        &[&s.url(my), &my],
    )
    .unwrap();
    c.batch_execute("SELECT chameleon.init_replica('bg'); SELECT chameleon.start_replica('bg')").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(s, my, stop.clone());
    s.streaming(&mut c);
    (c, stop, writes)
}

/// Waits until none of the source's tables waits or is staged (swapped in by the worker).
fn wait_all_copied(c: &mut Client) {
    let t0 = Instant::now();
    loop {
        let left: i64 = one(c, "SELECT count(*) FROM chameleon.show_copy('bg') WHERE state <> 'copied'");
        let status: String = one(c, "SELECT status FROM chameleon.show_status()");
        // ("running (no worker)" for a moment after start_replica)
        assert!(status.starts_with("running"), "{status}: {:?}", c.query_one("SELECT last_error FROM chameleon.show_status()", &[]).unwrap().get::<_, Option<String>>(0));
        if left == 0 {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "the copies were not swapped in");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Rows changed by hand on PostgreSQL (the journal loses half its rows, big1 some values):
/// sync_tables copies both again while items keeps replicating; the workload never stops;
/// the end is equal, with the foreign key from child to big1 back in place.
fn sync_tables_copies_again_while_the_others_replicate(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_sync";
    tables(s, my, 1, 100_000);
    let pg = s.db("copy_sync");
    let (mut c, stop, writes) = running(s, my, &pg, "{}");
    c.batch_execute(&format!(
        "DELETE FROM {my}.journal WHERE n % 2 = 0; UPDATE {my}.big1 SET pad = 'changed by hand' WHERE id <= 500"
    ))
    .unwrap();
    let before: String = one(&mut c, "SELECT copy_point FROM chameleon.show_copy('bg') WHERE table_name = 'items'");
    let queued: i64 = one(&mut c, "SELECT chameleon.sync_tables('bg', ARRAY['journal', 'big1'])");
    assert_eq!(queued, 2);
    let t0 = Instant::now();
    wait_all_copied(&mut c);
    let took = t0.elapsed();
    let after: Vec<(String, Option<String>)> = c
        .query("SELECT table_name, copy_point FROM chameleon.show_copy('bg') ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    eprintln!("{pg}: synced in {took:.1?}; copy points before: items {before}; after: {after:?}");
    replicate_on(s, &mut c, my, stop, writes);
    let (m, p) = s.checksums(&mut c, my, my, "big1", "id", &["id", "pad", "v"], &["id", "pad", "v"]);
    assert_eq!(m, p, "big1");
    let fks: i64 = one(&mut c, &format!("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = '{my}'::regnamespace"));
    assert_eq!(fks, 1, "child's foreign key to big1, made again after the swap");
    let unknown = c.query_one("SELECT chameleon.sync_tables('bg', ARRAY['nope'])", &[]).unwrap_err();
    assert_eq!(sqlstate(&unknown), "42P01");
    c.batch_execute("SELECT chameleon.stop_replica('bg')").unwrap();
}

/// sync_tables on a stopped source: the copy is staged while it is stopped, the old table still
/// in place; start_replica swaps it in before streaming, and the end is equal.
#[test]
fn a_stopped_source_takes_its_synced_copy_when_it_starts() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = MARIADB;
    let my = "it_syncstop";
    tables(s, my, 1, 20_000);
    let pg = s.db("copy_syncstop");
    let (mut c, stop, writes) = running(s, my, &pg, "{}");
    c.batch_execute(&format!("SELECT chameleon.stop_replica('bg'); DELETE FROM {my}.big1 WHERE id % 3 = 0")).unwrap();
    let t0 = Instant::now();
    while one::<i64>(&mut c, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'chameleon replica'") > 0 {
        assert!(t0.elapsed() < Duration::from_secs(30), "the worker did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    c.batch_execute("SELECT chameleon.sync_tables('bg', ARRAY['big1'])").unwrap();
    while one::<String>(&mut c, "SELECT state FROM chameleon.show_copy('bg') WHERE table_name = 'big1'") != "staged" {
        assert!(t0.elapsed() < Duration::from_secs(60), "no staged copy");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kept: i64 = one(&mut c, &format!("SELECT count(*) FROM {my}.big1"));
    assert!(kept < 20_000, "the old table stays in place while the source is stopped ({kept} rows)");
    c.batch_execute("SELECT chameleon.start_replica('bg')").unwrap();
    wait_all_copied(&mut c);
    replicate_on(s, &mut c, my, stop, writes);
    let (m, p) = s.checksums(&mut c, my, my, "big1", "id", &["id", "pad", "v"], &["id", "pad", "v"]);
    assert_eq!(m, p, "big1");
    c.batch_execute("SELECT chameleon.stop_replica('bg')").unwrap();
}

/// A table added to include_tables on a running source is copied while the others replicate,
/// then replicated: rows written before, during and after its copy all arrive once.
fn a_table_added_to_include_tables_is_copied_while_running(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_incl";
    tables(s, my, 1, 50_000);
    let pg = s.db("copy_incl");
    let (mut c, stop, writes) = running(s, my, &pg, "{items,journal}");
    assert_eq!(one::<i64>(&mut c, &format!("SELECT count(*) FROM pg_tables WHERE schemaname = '{my}'")), 2);
    s.run(&format!("INSERT INTO {my}.big1 (pad, v) VALUES ('before', 1)"));
    c.batch_execute("SELECT chameleon.alter_source('bg', include_tables => '{items,journal,big1}')").unwrap();
    s.run(&format!("INSERT INTO {my}.big1 (pad, v) VALUES ('during', 2); UPDATE {my}.big1 SET v = v + 1 WHERE id <= 100"));
    wait_all_copied(&mut c);
    s.run(&format!("INSERT INTO {my}.big1 (pad, v) VALUES ('after', 3); DELETE FROM {my}.big1 WHERE id % 1000 = 7"));
    replicate_on(s, &mut c, my, stop, writes);
    let (m, p) = s.checksums(&mut c, my, my, "big1", "id", &["id", "pad", "v"], &["id", "pad", "v"]);
    assert_eq!(m, p, "big1, copied while running, then replicated");
    c.batch_execute("SELECT chameleon.stop_replica('bg')").unwrap();
}

/// The workload a moment longer, then stopped: items and journal equal, nothing twice.
fn replicate_on(s: Server, c: &mut Client, my: &'static str, stop: Arc<AtomicBool>, writes: std::thread::JoinHandle<usize>) {
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let rounds = writes.join().unwrap();
    live::assert_equal_after(s, c, my, rounds);
}

/// disable_replica during a background copy: the copy workers leave after their table and
/// nothing more is copied; enable_replica: the launcher resumes the copy, the tables done
/// kept; replication then ends equal.
fn disable_pauses_a_copy_and_enable_resumes_it(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_bgpause";
    tables(s, my, 4, 100_000);
    let pg = s.db("copy_pause");
    let stop = Arc::new(AtomicBool::new(false));
    let writes = workload(s, my, stop.clone());
    let (mut c, _) = start_copy(s, my, &pg);
    let copied = "SELECT count(*) FROM chameleon.show_copy('bg') WHERE state = 'copied'";
    let t0 = Instant::now();
    while one::<i64>(&mut c, copied) == 0 {
        assert!(t0.elapsed() < Duration::from_secs(60), "no table was copied");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.batch_execute("SELECT chameleon.disable_replica('bg')").unwrap();
    while !copy_workers(&mut c).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the copy workers did not leave");
        std::thread::sleep(Duration::from_millis(50));
    }
    let paused = one::<i64>(&mut c, copied);
    std::thread::sleep(Duration::from_secs(7)); // (more than a launcher round)
    assert!(copy_workers(&mut c).is_empty(), "a disabled source's copy is not resumed");
    assert_eq!(one::<i64>(&mut c, copied), paused, "nothing copied while disabled");
    assert_eq!(one::<String>(&mut c, "SELECT status FROM chameleon.show_status()"), "initialising");
    let left: i64 = one(&mut c, "SELECT count(*) FROM chameleon.show_copy('bg') WHERE state = 'waiting'");
    eprintln!("{pg}: disabled with {paused} tables copied, {left} waiting");
    assert!(left > 0, "tables were left to copy");
    // a waiting init_replica says the copy is paused, and how to resume it
    let (msg, _, hint) = fails(&mut c, "SELECT chameleon.init_replica('bg')", "55000");
    assert!(msg.contains("paused") && hint.contains("enable_replica('bg')"), "{msg} / {hint}");
    c.batch_execute("SELECT chameleon.enable_replica('bg')").unwrap();
    // ... and once resumed, waits for the copy under way and returns every row it copied
    let rows: i64 = one(&mut c, "SELECT chameleon.init_replica('bg')");
    assert!(rows >= 4 * 100_000, "{rows}");
    let mut c = wait_initialised(&pg);
    replicate_and_compare(s, &mut c, my, 4, stop, writes);
}

/// A large table read in key ranges at once (copy option key_ranges 3, one copy worker) while
/// a writer updates, inserts and deletes rows across all its ranges; the waiting call returns
/// once it is in, and replication from its copy point ends equal.
fn a_large_table_read_in_key_ranges_under_writes_hands_over_exactly(s: Server) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let my = "it_ranges";
    s.run(&format!(
        "DROP DATABASE IF EXISTS {my}; CREATE DATABASE {my};
         CREATE TABLE {my}.big (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(100), v INT);
         INSERT INTO {my}.big (pad, v) SELECT REPEAT('r', 100), a.seq FROM mysql.seq_1_to_300000 a;
         ANALYZE TABLE {my}.big;"
    ));
    let pg = s.db("copy_ranges");
    let mut c = db_with_extension(&pg);
    c.execute(
        "SELECT chameleon.add_source('kr', $2, $1, copy_options => '{\"parallel_tables\": 1, \"key_ranges\": 3}')",
        &[&s.url(my), &my],
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    // every round touches keys in all three ranges
    let writer = std::thread::spawn(move || {
        let mut i = 0;
        while !stop2.load(Ordering::Relaxed) {
            s.run(&format!(
                "UPDATE {my}.big SET v = v + 1 WHERE id % 1000 = {m};
                 INSERT INTO {my}.big (pad, v) VALUES ('new', {i});
                 DELETE FROM {my}.big WHERE id % 997 = {m};",
                m = i % 997
            ));
            i += 1;
        }
        i
    });
    // MySQL shows the range readers at work
    let readers = std::thread::spawn(move || {
        let mut most = 0;
        for _ in 0..400 {
            let n: usize = s
                .run("SELECT COUNT(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND info LIKE 'SELECT%FROM `it_ranges`.`big` WHERE%'")
                .trim()
                .parse()
                .unwrap_or(0);
            most = most.max(n);
            std::thread::sleep(Duration::from_millis(10));
        }
        most
    });
    std::thread::sleep(Duration::from_millis(200));
    let copied: i64 = one(&mut c, "SELECT chameleon.init_replica('kr')");
    assert!(copied > 290_000, "{copied}");
    c.batch_execute("SELECT chameleon.start_replica('kr')").unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert!(rounds > 3, "the writer ran during the copy ({rounds} rounds)");
    s.caught_up(&mut c);
    let (m, p) = s.checksums(&mut c, my, my, "big", "id", &["id", "pad", "v"], &["id", "pad", "v"]);
    assert_eq!(m, p, "big, {rounds} rounds written");
    let most = readers.join().unwrap();
    assert!(most >= 2, "ranges were read at once ({most} readers seen)");
    c.batch_execute("SELECT chameleon.stop_replica('kr')").unwrap();
}
