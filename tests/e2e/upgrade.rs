//! The 1.2 -> 1.3 catalogue migration of the release note, on catalogues holding pending
//! batches: every row reaches its own source's log table, nothing is lost or duplicated, and
//! a refused, cancelled or killed upgrade leaves a working 1.2.

use std::time::{Duration, Instant};

use chameleon_e2e::*;

const SOURCES: i64 = 3;
const BATCHES: i64 = 60;
const ROWS_PER_BATCH: i64 = 500; // 30,000 pending rows

fn rows_in_only(c: &mut Client, table: &str) -> i64 {
    one(
        c,
        &format!("SELECT count(*) FROM ONLY sch_chameleon.{table}"),
    )
}

#[test]
fn stateful_upgrade_moves_every_row_into_its_sources_table() {
    let mut c = fresh_db("upg_stateful");
    seed_12(&mut c, SOURCES, BATCHES, ROWS_PER_BATCH);
    let before = log_rows_by_batch(&mut c);
    assert_eq!(
        before.iter().map(|b| b.2).sum::<i64>(),
        BATCHES * ROWS_PER_BATCH
    );
    // the 1.2 situation of the release note: both shared tables hold rows of every source
    for t in ["t_log_replica_1", "t_log_replica_2"] {
        let sources: i64 = one(&mut c, &format!(
            "SELECT count(DISTINCT b.i_id_source) FROM ONLY sch_chameleon.{t} l JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)"));
        assert_eq!(sources, SOURCES, "{t} holds rows of every source");
    }
    drop(c);

    let (mut c, notices) = connect_with_notices("upg_stateful");
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_eq!(extversion(&mut c), "1.3");
    assert_eq!(
        one::<String>(&mut c, "SELECT t_version FROM sch_chameleon.v_version"),
        "1.3"
    );

    // counts and checksums per source and per batch are unchanged
    assert_eq!(log_rows_by_batch(&mut c), before);
    // every row sits in its own source's first table; the second rests empty
    for s in 1..=SOURCES {
        let mine: i64 = before.iter().filter(|b| b.0 == s).map(|b| b.2).sum();
        assert_eq!(
            rows_in_only(&mut c, &format!("t_log_replica_1_src_{s}")),
            mine
        );
        assert_eq!(rows_in_only(&mut c, &format!("t_log_replica_2_src_{s}")), 0);
        let strangers: i64 = one(
            &mut c,
            &format!(
                "SELECT count(*) FROM ONLY sch_chameleon.t_log_replica_1_src_{s} l
               JOIN sch_chameleon.t_replica_batch b USING (i_id_batch) WHERE b.i_id_source <> {s}"
            ),
        );
        assert_eq!(strangers, 0, "source {s}'s table holds only its rows");
    }
    // the old layout is gone
    for t in ["t_log_replica_1", "t_log_replica_2"] {
        assert!(one::<Option<String>>(
            &mut c,
            &format!("SELECT to_regclass('sch_chameleon.{t}')::text")
        )
        .is_none());
    }
    assert!(!one::<bool>(&mut c, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_replica_batch'::regclass AND attname = 'v_log_table' AND NOT attisdropped)"));
    // progress was reported, one NOTICE per source
    let n = notices.lock().unwrap().clone();
    for s in 1..=SOURCES {
        assert!(
            n.iter()
                .any(|m| m.contains(&format!("source \"src{s}\"")) && m.contains("rows moved")),
            "{n:?}"
        );
    }
    // new sources keep working after the upgrade, ids do not collide
    c.batch_execute(
        "SELECT chameleon.add_source('late', 'late', 'mysql://u:p@h/db', check_source => false)",
    )
    .unwrap();
    assert_eq!(
        one::<String>(
            &mut c,
            "SELECT v_log_table::text FROM sch_chameleon.t_sources WHERE t_source = 'late'"
        ),
        format!(
            "{{t_log_replica_1_src_{0},t_log_replica_2_src_{0}}}",
            SOURCES + 1
        )
    );
}

#[test]
fn upgrade_is_refused_while_a_source_is_busy() {
    let mut c = fresh_db("upg_guard");
    seed_12(&mut c, SOURCES, 12, 100);
    let snap = snapshot(&mut c);
    let rows = log_rows_by_batch(&mut c);
    for busy in ["running", "initialising", "error"] {
        c.batch_execute(&format!(
            "UPDATE sch_chameleon.t_sources SET enm_status = '{busy}' WHERE t_source = 'src2'"
        ))
        .unwrap();
        let e = c
            .batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
            .unwrap_err();
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "55000", "{busy}: {db:?}");
        assert!(
            db.detail()
                .unwrap_or("")
                .contains(&format!("src2 ({busy})")),
            "{db:?}"
        );
        assert!(db.hint().unwrap_or("").contains("stop_replica"), "{db:?}");
        assert_eq!(extversion(&mut c), "1.2");
        c.batch_execute(
            "UPDATE sch_chameleon.t_sources SET enm_status = 'stopped' WHERE t_source = 'src2'",
        )
        .unwrap();
        assert_same_catalogue(
            &format!("1.2 after a refused upgrade ({busy})"),
            &snap,
            &snapshot(&mut c),
        );
        assert_eq!(log_rows_by_batch(&mut c), rows);
    }
    // once stopped, it goes through
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_eq!(log_rows_by_batch(&mut c), rows);
}

#[test]
fn cancelled_upgrade_leaves_a_working_1_2() {
    let mut c = fresh_db("upg_cancel");
    seed_12(&mut c, SOURCES, 60, 1500); // 90,000 rows: the copy takes a while
    let snap = snapshot(&mut c);
    let rows = log_rows_by_batch(&mut c);
    drop(c);
    // statement_timeout cancels the upgrade at ever later points; each time 1.2 must be intact
    let mut cancelled_mid_copy = 0;
    let mut cancelled = 0;
    // (a fine sweep: on a loaded machine the copies between sources are short)
    for ms in [1, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1200, 1600] {
        let (mut c, notices) = connect_with_notices("upg_cancel");
        c.batch_execute(&format!("SET statement_timeout = {ms}"))
            .unwrap();
        match c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'") {
            Ok(()) => break,
            Err(e) => {
                assert_eq!(sqlstate(&e), "57014", "cancelled, not failed: {e}");
                cancelled += 1;
                let moved = notices
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|m| m.contains("rows moved"))
                    .count();
                if moved > 0 && moved < SOURCES as usize {
                    cancelled_mid_copy += 1; // some sources moved, others not yet
                }
            }
        }
        c.batch_execute("RESET statement_timeout").unwrap();
        assert_eq!(extversion(&mut c), "1.2", "after a cancel at {ms} ms");
        assert_same_catalogue(
            &format!("1.2 after a cancel at {ms} ms"),
            &snap,
            &snapshot(&mut c),
        );
        assert_eq!(log_rows_by_batch(&mut c), rows, "after a cancel at {ms} ms");
        // the 1.2 catalogue still works: a source can be added and dropped
        c.batch_execute("SELECT chameleon.add_source('probe', 'probe', 'mysql://u:p@h/db', check_source => false); SELECT chameleon.drop_source('probe')").unwrap();
    }
    assert!(cancelled >= 2, "the sweep cancelled {cancelled} upgrades");
    assert!(
        cancelled_mid_copy >= 1,
        "no cancel landed between two sources' copies"
    );
    let mut c = connect("upg_cancel");
    if extversion(&mut c) == "1.2" {
        c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
            .unwrap();
    }
    assert_eq!(log_rows_by_batch(&mut c), rows);
}

#[test]
fn killed_upgrade_leaves_a_working_1_2() {
    let mut c = fresh_db("upg_kill");
    seed_12(&mut c, SOURCES, 30, 300);
    let snap = snapshot(&mut c);
    let rows = log_rows_by_batch(&mut c);
    // A reader keeps t_log_replica_2 open: the upgrade copies everything, then waits to drop it.
    let mut reader = connect("upg_kill");
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM ONLY sch_chameleon.t_log_replica_2")
        .unwrap();

    let (mut up, notices) = connect_with_notices("upg_kill");
    let pid: i32 = one(&mut up, "SELECT pg_backend_pid()");
    let upgrade =
        std::thread::spawn(move || up.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'"));
    let t0 = Instant::now();
    loop {
        let waiting: bool = one(&mut c, &format!(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {pid} AND wait_event_type = 'Lock')"));
        if waiting {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the upgrade never reached the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let moved = notices
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains("rows moved"))
        .count();
    assert_eq!(
        moved, SOURCES as usize,
        "killed after every source's rows were copied"
    );
    assert!(one::<bool>(
        &mut c,
        &format!("SELECT pg_terminate_backend({pid})")
    ));
    let res = upgrade.join().unwrap();
    assert!(res.is_err(), "the killed upgrade reports an error");
    reader.batch_execute("ROLLBACK").unwrap();

    assert_eq!(extversion(&mut c), "1.2");
    assert_same_catalogue("1.2 after a killed upgrade", &snap, &snapshot(&mut c));
    assert_eq!(log_rows_by_batch(&mut c), rows);
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_eq!(log_rows_by_batch(&mut c), rows);
}

#[test]
fn round_trip_keeps_every_pending_row() {
    let mut c = fresh_db("upg_roundtrip");
    seed_12(&mut c, SOURCES, 30, 200);
    let rows = log_rows_by_batch(&mut c);
    for (step, to) in ["1.3", "1.2", "1.3"].into_iter().enumerate() {
        c.batch_execute(&format!("ALTER EXTENSION chameleon UPDATE TO '{to}'"))
            .unwrap();
        assert_eq!(extversion(&mut c), to);
        assert_eq!(log_rows_by_batch(&mut c), rows, "step {step} to {to}");
    }
    // 1.3 after the round trip: per-source tables again, every row in its source's pair
    for s in 1..=SOURCES {
        let mine: i64 = rows.iter().filter(|b| b.0 == s).map(|b| b.2).sum();
        assert_eq!(
            rows_in_only(&mut c, &format!("t_log_replica_1_src_{s}")),
            mine
        );
    }
    let mut fresh = fresh_db("upg_roundtrip_ref");
    fresh
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.3'")
        .unwrap();
    for s in 1..=SOURCES {
        fresh
            .execute(
                "SELECT chameleon.add_source($1, $2, $3, check_source => false)",
                &[&format!("src{s}"), &format!("dest{s}"), &"mysql://u:p@h/db"],
            )
            .unwrap();
    }
    assert_same_catalogue(
        "fresh 1.3 with 3 sources vs round-tripped",
        &snapshot(&mut fresh),
        &snapshot(&mut c),
    );
}
