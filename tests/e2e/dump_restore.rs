//! pg_dump carries a replica setup: sources (with their passwords), batches, pending log rows,
//! registered tables, index definitions and discarded rows survive a dump and restore, in both
//! catalogue versions (the release note's backup-before-upgrade step depends on it).

use std::process::Command;

use chameleon_e2e::*;

fn add_state(c: &mut Client) {
    c.batch_execute(
        "INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, v_table_pkey, i_rows_copied)
         VALUES (1, 'film', 'db1', '{film_id}', 1000), (1, 'log', 'db1', '{}', 7);
         INSERT INTO sch_chameleon.t_index_def (i_id_source, v_schema_name, v_table_name, v_index_name, v_kind, t_index_def)
         VALUES (1, 'db1', 'film', 'film_pkey', 'primary', 'ALTER TABLE dest1.film ADD PRIMARY KEY (film_id)');
         INSERT INTO sch_chameleon.t_discarded_rows (i_id_source, i_id_batch, v_schema_name, v_table_name, enm_binlog_event,
                t_binlog_name, i_binlog_position, jsb_event_data, t_sqlstate, t_reason)
         VALUES (2, 2, 'db2', 'orders', 'insert', 'mysql-bin.000001', 4242, '{\"id\": 1}', '22P02', 'invalid input syntax');",
    )
    .unwrap();
}

/// `pre`: what runs in the new database before pg_restore. pg_dump does not record the
/// extension's version: a dump of an older catalogue is restored into a database where the
/// extension was first created at that version (`CREATE EXTENSION chameleon VERSION '1.2'`).
fn dump_and_restore(from: &str, to: &str, pre: &str) {
    let file = std::env::temp_dir().join(format!("chameleon-{from}.dump"));
    let base = [
        "-h".to_string(),
        pg_host(),
        "-p".to_string(),
        pg_port().to_string(),
        "-U".to_string(),
        "postgres".to_string(),
    ];
    let st = Command::new(pg_bin("pg_dump"))
        .args(&base)
        .args(["-Fc", "-f"])
        .arg(&file)
        .arg(from)
        .status()
        .unwrap();
    assert!(st.success(), "pg_dump {from}");
    fresh_db(to).batch_execute(pre).unwrap();
    let out = Command::new(pg_bin("pg_restore"))
        .args(&base)
        .args(["--exit-on-error", "-d", to])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_restore into {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(file).ok();
}

fn check_round_trip(from: &str, to: &str, pre: &str) {
    let mut src = connect(from);
    let data = catalogue_data(&mut src);
    let rows = log_rows_by_batch(&mut src);
    let snap = snapshot(&mut src);
    let version = extversion(&mut src);
    dump_and_restore(from, to, pre);

    let mut dst = connect(to);
    assert_eq!(extversion(&mut dst), version);
    assert_eq!(
        catalogue_data(&mut dst),
        data,
        "every user-state row restored"
    );
    assert_eq!(
        log_rows_by_batch(&mut dst),
        rows,
        "every pending log row restored"
    );
    assert_same_catalogue(
        &format!("{from} vs its restore"),
        &snap,
        &snapshot(&mut dst),
    );
    assert!(
        data.iter().all(|(_, n, _)| *n > 0),
        "the test covered every table: {data:?}"
    );
    // sequences came along: a new source gets a fresh id, new batches and events too
    let id: i64 = one(&mut dst, "SELECT chameleon.add_source('after_restore', 'after_restore', 'mysql://u:p@h/db', check_source => false)");
    assert_eq!(
        id,
        one::<i64>(
            &mut src,
            "SELECT max(i_id_source) + 1 FROM sch_chameleon.t_sources"
        )
    );
    let batch: i64 = one(&mut dst, &format!(
        "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES ({id}, 'f', 4) RETURNING i_id_batch"));
    assert!(
        batch
            > one::<i64>(
                &mut src,
                "SELECT max(i_id_batch) FROM sch_chameleon.t_replica_batch"
            )
    );
    // the password is restored too (the catalogue's owner can read it)
    assert_eq!(
        one::<String>(
            &mut dst,
            "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets WHERE i_id_source = 1"
        ),
        "pw1"
    );
}

#[test]
fn dump_restore_1_2() {
    let mut c = fresh_db("dump12");
    seed_12(&mut c, 3, 12, 50);
    add_state(&mut c);
    check_round_trip(
        "dump12",
        "dump12_restored",
        "CREATE EXTENSION chameleon VERSION '1.2'",
    );
}

#[test]
fn dump_restore_1_3() {
    // pending rows in tables made by the upgrade and by a fresh add_source
    let mut c = fresh_db("dump13");
    seed_12(&mut c, 3, 12, 50);
    add_state(&mut c);
    c.batch_execute("ALTER EXTENSION chameleon UPDATE TO '1.3';
        SELECT chameleon.add_source('src4', 'dest4', 'mysql://usr:pw4@127.0.0.1/db4', check_source => false);
        INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES (4, 'mysql-bin.000002', 4);
        INSERT INTO sch_chameleon.t_log_replica_2_src_4 (i_id_batch, v_table_name, v_schema_name, enm_binlog_event, jsb_event_data)
        SELECT currval('sch_chameleon.t_replica_batch_i_id_batch_seq'), 't', 'db4', 'insert', jsonb_build_object('id', g)
          FROM generate_series(1, 100) g;").unwrap();
    check_round_trip(
        "dump13",
        "dump13_restored",
        "CREATE EXTENSION chameleon VERSION '1.3'",
    );
}

#[test]
fn dump_restore_1_4() {
    // the current version restores into an empty database; the kept table models too
    let mut c = fresh_db("dump14");
    seed_12(&mut c, 3, 12, 50);
    add_state(&mut c);
    c.batch_execute("ALTER EXTENSION chameleon UPDATE;
        INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, v_table_pkey, jsb_columns)
        VALUES (1, 'modelled', 'db1', '{id}', '{\"name\": \"modelled\", \"columns\": []}');").unwrap();
    check_round_trip("dump14", "dump14_restored", "");
}
