//! Fresh installs and upgrades give the same catalogue (DESIGN §2: "fresh == older + upgrades").

use chameleon_e2e::*;

#[test]
fn fresh_1_3_equals_1_2_plus_upgrade() {
    let mut fresh = fresh_db("cat_fresh13");
    fresh
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.3'")
        .unwrap();
    assert_eq!(extversion(&mut fresh), "1.3");

    let mut upgraded = fresh_db("cat_up13");
    upgraded
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    assert_eq!(extversion(&mut upgraded), "1.2");
    upgraded
        .batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_eq!(extversion(&mut upgraded), "1.3");

    let (a, b) = (snapshot(&mut fresh), snapshot(&mut upgraded));
    assert!(
        a.len() > 150,
        "the snapshot covers the catalogue in detail ({} lines)",
        a.len()
    );
    assert_same_catalogue("fresh 1.3 vs 1.2 + upgrade", &a, &b);

    // and with a source registered before the upgrade on one side, after install on the other:
    // the per-source log tables are alike, down to not being extension members
    let conn = "mysql://usr:pw@127.0.0.1:3306/db";
    fresh
        .execute(
            "SELECT chameleon.add_source('s', 'd', $1, check_source => false)",
            &[&conn],
        )
        .unwrap();
    let mut up2 = fresh_db("cat_up13_src");
    up2.batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    up2.execute(
        "SELECT chameleon.add_source('s', 'd', $1, check_source => false)",
        &[&conn],
    )
    .unwrap();
    up2.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    let (a, b) = (snapshot(&mut fresh), snapshot(&mut up2));
    assert!(a.iter().any(
        |l| l.starts_with("relation sch_chameleon.t_log_replica_2_src_1 ")
            && l.ends_with("member=f comment=")
    ));
    assert_same_catalogue("fresh 1.3 + source vs 1.2 + source + upgrade", &a, &b);
}

/// The current version, 1.6, from scratch and from each older version (1.2 goes through 1.3,
/// 1.4 and 1.5).
#[test]
fn fresh_1_6_equals_every_older_version_plus_upgrades() {
    let mut fresh = fresh_db("cat_fresh16");
    fresh.batch_execute("CREATE EXTENSION chameleon").unwrap();
    assert_eq!(extversion(&mut fresh), "1.6");
    let a = snapshot(&mut fresh);
    assert!(
        a.iter().any(|l| l.contains("jsb_columns"))
            && a.iter().any(|l| l.contains("checks_not_carried"))
            && a.iter().any(|l| l.contains("t_copy_gtid"))
            && a.iter().any(|l| l.contains("show_copy")),
        "the 1.4 column, the 1.5 function and 1.6's are in the snapshot"
    );
    for from in ["1.2", "1.3", "1.4", "1.5"] {
        let mut up = fresh_db(&format!("cat_up16_from{}", from.replace('.', "")));
        up.batch_execute(&format!("CREATE EXTENSION chameleon VERSION '{from}'"))
            .unwrap();
        up.batch_execute("ALTER EXTENSION chameleon UPDATE")
            .unwrap();
        assert_eq!(extversion(&mut up), "1.6");
        assert_same_catalogue(
            &format!("fresh 1.6 vs {from} + upgrades"),
            &a,
            &snapshot(&mut up),
        );
    }
}

/// 1.5's frozen script (sql/chameleon--1.5.sql) equals 1.4 + its upgrade.
#[test]
fn fresh_1_5_equals_1_4_plus_upgrade() {
    let mut fresh = fresh_db("cat_fresh15");
    fresh.batch_execute("CREATE EXTENSION chameleon VERSION '1.5'").unwrap();
    let mut up = fresh_db("cat_up15_from14");
    up.batch_execute("CREATE EXTENSION chameleon VERSION '1.4'; ALTER EXTENSION chameleon UPDATE TO '1.5'")
        .unwrap();
    assert_eq!((extversion(&mut fresh), extversion(&mut up)), ("1.5".into(), "1.5".into()));
    assert_same_catalogue("fresh 1.5 vs 1.4 + upgrade", &snapshot(&mut fresh), &snapshot(&mut up));
}

/// The downgrade to 1.5 refuses while a background copy has tables waiting.
#[test]
fn downgrade_waits_for_a_background_copy() {
    let mut c = fresh_db("cat_down16_waiting");
    c.batch_execute(
        "CREATE EXTENSION chameleon;
         SELECT chameleon.add_source('w', 'w_dest', 'mysql://u:p@127.0.0.1:1/db', check_source => false);
         INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, enm_copy_state)
         SELECT i_id_source, 't', 'db', 'waiting' FROM sch_chameleon.t_sources",
    )
    .unwrap();
    let e = c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.5'").unwrap_err();
    assert_eq!(sqlstate(&e), "55000", "{e:?}");
    assert_eq!(extversion(&mut c), "1.6");
    c.batch_execute(
        "DROP ROLE IF EXISTS cat_monitor; CREATE ROLE cat_monitor;
         GRANT EXECUTE ON FUNCTION chameleon.show_status() TO cat_monitor;
         UPDATE sch_chameleon.t_replica_tables SET enm_copy_state = 'copied'; ALTER EXTENSION chameleon UPDATE TO '1.5'",
    )
    .unwrap();
    assert_eq!(extversion(&mut c), "1.5");
    let granted = "SELECT has_function_privilege('cat_monitor', 'chameleon.show_status()', 'EXECUTE')";
    assert!(one::<bool>(&mut c, granted), "a grant on show_status() survives the downgrade (the function is made again)");
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.6'").unwrap();
    assert!(one::<bool>(&mut c, granted), "and the upgrade");
    assert_eq!(one::<i64>(&mut c, "SELECT count(*) FROM pg_class WHERE relname = 'chameleon_show_status_grants'"), 0);
    c.batch_execute("DROP EXTENSION chameleon CASCADE; DROP ROLE cat_monitor").unwrap();
}

/// 1.4's frozen script (sql/chameleon--1.4.sql) equals 1.3 + its upgrade.
#[test]
fn fresh_1_4_equals_1_3_plus_upgrade() {
    let mut fresh = fresh_db("cat_fresh14");
    fresh.batch_execute("CREATE EXTENSION chameleon VERSION '1.4'").unwrap();
    let mut up = fresh_db("cat_up14_from13");
    up.batch_execute("CREATE EXTENSION chameleon VERSION '1.3'; ALTER EXTENSION chameleon UPDATE TO '1.4'")
        .unwrap();
    assert_eq!((extversion(&mut fresh), extversion(&mut up)), ("1.4".into(), "1.4".into()));
    assert_same_catalogue("fresh 1.4 vs 1.3 + upgrade", &snapshot(&mut fresh), &snapshot(&mut up));
}

#[test]
fn round_trip_gives_back_the_same_catalogues() {
    let mut fresh12 = fresh_db("cat_fresh12");
    fresh12
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    let mut fresh13 = fresh_db("cat_fresh13b");
    fresh13
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.3'")
        .unwrap();
    let mut fresh14 = fresh_db("cat_fresh14b");
    fresh14
        .batch_execute("CREATE EXTENSION chameleon VERSION '1.4'")
        .unwrap();
    let mut fresh15 = fresh_db("cat_fresh15b");
    fresh15.batch_execute("CREATE EXTENSION chameleon VERSION '1.5'").unwrap();
    let mut fresh16 = fresh_db("cat_fresh16b");
    fresh16.batch_execute("CREATE EXTENSION chameleon").unwrap();

    let mut rt = fresh_db("cat_roundtrip");
    rt.batch_execute("CREATE EXTENSION chameleon").unwrap();
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.5'")
        .unwrap();
    assert_same_catalogue("fresh 1.5 vs 1.6 downgraded", &snapshot(&mut fresh15), &snapshot(&mut rt));
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.4'")
        .unwrap();
    assert_same_catalogue(
        "fresh 1.4 vs 1.6 -> 1.5 -> 1.4",
        &snapshot(&mut fresh14),
        &snapshot(&mut rt),
    );
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_same_catalogue(
        "fresh 1.3 vs 1.6 -> 1.4 -> 1.3",
        &snapshot(&mut fresh13),
        &snapshot(&mut rt),
    );
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.2'")
        .unwrap();
    assert_same_catalogue(
        "fresh 1.2 vs 1.6 -> 1.3 -> 1.2",
        &snapshot(&mut fresh12),
        &snapshot(&mut rt),
    );
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3'")
        .unwrap();
    assert_same_catalogue(
        "fresh 1.3 vs 1.6 -> 1.2 -> 1.3",
        &snapshot(&mut fresh13),
        &snapshot(&mut rt),
    );
    rt.batch_execute("ALTER EXTENSION chameleon UPDATE")
        .unwrap();
    assert_same_catalogue(
        "fresh 1.6 vs 1.6 -> 1.2 -> 1.6",
        &snapshot(&mut fresh16),
        &snapshot(&mut rt),
    );
}

#[test]
fn each_version_has_its_layout() {
    let mut c12 = fresh_db("cat_layout12");
    c12.batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    assert_eq!(
        one::<String>(&mut c12, "SELECT t_version FROM sch_chameleon.v_version"),
        "1.2"
    );
    for rel in ["t_log_replica_1", "t_log_replica_2"] {
        let parent: String = one(&mut c12, &format!(
            "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'sch_chameleon.{rel}'::regclass"));
        assert_eq!(parent, "sch_chameleon.t_log_replica");
    }
    assert!(one::<bool>(&mut c12, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_replica_batch'::regclass AND attname = 'v_log_table')"));
    assert!(one::<Option<String>>(
        &mut c12,
        "SELECT to_regprocedure('sch_chameleon.fn_refresh_parts()')::text"
    )
    .is_none());

    let mut c13 = fresh_db("cat_layout13");
    c13.batch_execute("CREATE EXTENSION chameleon VERSION '1.3'")
        .unwrap();
    assert_eq!(
        one::<String>(&mut c13, "SELECT t_version FROM sch_chameleon.v_version"),
        "1.3"
    );
    assert!(one::<Option<String>>(
        &mut c13,
        "SELECT to_regclass('sch_chameleon.t_log_replica_1')::text"
    )
    .is_none());
    assert_eq!(one::<String>(&mut c13, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_sources'::regclass AND attname = 'v_log_table'"), "character varying[]");
    assert!(!one::<bool>(&mut c13, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sch_chameleon.t_replica_batch'::regclass AND attname = 'v_log_table' AND NOT attisdropped)"));
    // the enums and their order are the contract
    assert_eq!(one::<String>(&mut c13, "SELECT string_agg(e::text, ',') FROM unnest(enum_range(NULL::sch_chameleon.en_src_status)) e"),
               "ready,initialising,initialised,stopped,running,error");
    assert_eq!(one::<String>(&mut c13, "SELECT string_agg(e::text, ',') FROM unnest(enum_range(NULL::sch_chameleon.en_binlog_event)) e"),
               "delete,update,insert,ddl");
    // the root log table refuses rows of its own
    let e = c13.batch_execute("INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES (1, 'x', 4)").unwrap_err();
    assert_eq!(sqlstate(&e), "23503", "a batch needs its source");

    // 1.3: add_source fills v_log_table and creates the pair; drop_source drops it
    c13.batch_execute(
        "SELECT chameleon.add_source('s', 'd', 'mysql://u:p@h/db', check_source => false)",
    )
    .unwrap();
    assert_eq!(
        one::<String>(
            &mut c13,
            "SELECT v_log_table::text FROM sch_chameleon.t_sources"
        ),
        "{t_log_replica_1_src_1,t_log_replica_2_src_1}"
    );
    assert!(one::<Option<String>>(
        &mut c13,
        "SELECT to_regclass('sch_chameleon.t_log_replica_2_src_1')::text"
    )
    .is_some());
    c13.batch_execute("INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES (1, 'x', 4)").unwrap();
    let e = c13.batch_execute("INSERT INTO sch_chameleon.t_log_replica (i_id_batch, v_table_name, v_schema_name, enm_binlog_event) VALUES (1, 't', 's', 'insert')").unwrap_err();
    assert_eq!(sqlstate(&e), "23514", "the root holds no rows");
    c13.batch_execute("SELECT chameleon.drop_source('s')")
        .unwrap();
    assert!(one::<Option<String>>(
        &mut c13,
        "SELECT to_regclass('sch_chameleon.t_log_replica_1_src_1')::text"
    )
    .is_none());
    assert_eq!(
        one::<i64>(
            &mut c13,
            "SELECT count(*) FROM sch_chameleon.t_replica_batch"
        ),
        0,
        "batches go with their source"
    );
}
