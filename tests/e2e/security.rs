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
        "SELECT chameleon.stop_replica('shop')",
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
