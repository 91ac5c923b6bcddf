//! In-database tests (`cargo pgrx test`): the generated 1.5 catalogue and API, inside one
//! transaction per test. Cross-version, dump and privilege tests live in tests/e2e.
// `cargo pgrx test` calls the tests in SQL schema "tests": the module must be inline.
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap().unwrap()
    }

    fn add(name: &str) -> i64 {
        Spi::get_one_with_args::<i64>(
            "SELECT chameleon.add_source($1, $1, 'mysql://usr:pw@127.0.0.1:3306/db', check_source => false)",
            &[name.into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn version_is_1_6() {
        assert_eq!(
            Spi::get_one::<String>("SELECT t_version FROM sch_chameleon.v_version")
                .unwrap()
                .as_deref(),
            Some("1.6")
        );
        assert_eq!(
            count("SELECT count(*) FROM pg_proc WHERE proname = 'fn_refresh_parts'"),
            1
        );
    }

    #[pg_test]
    fn add_source_makes_the_pair_the_core_names() {
        let id = add("shop");
        let expected = chameleon_core::names::log_table_pair(id);
        let stored =
            Spi::get_one::<Vec<String>>("SELECT v_log_table::text[] FROM sch_chameleon.t_sources")
                .unwrap()
                .unwrap();
        assert_eq!(stored, expected.to_vec());
        for t in &expected {
            let parent = Spi::get_one::<String>(&format!(
                "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'sch_chameleon.{t}'::regclass"
            ))
            .unwrap();
            assert_eq!(parent.as_deref(), Some("sch_chameleon.t_log_replica"));
        }
    }

    #[pg_test]
    fn fn_refresh_parts_recreates_missing_tables_only() {
        let id = add("shop");
        let [first, second] = chameleon_core::names::log_table_pair(id);
        Spi::run(&format!(
            "INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position) VALUES ({id}, 'f', 4);
             INSERT INTO sch_chameleon.{first} (i_id_batch, v_table_name, v_schema_name, enm_binlog_event)
             SELECT currval('sch_chameleon.t_replica_batch_i_id_batch_seq'), 't', 's', 'insert';
             DROP TABLE sch_chameleon.{second};
             SELECT sch_chameleon.fn_refresh_parts();"
        ))
        .unwrap();
        assert_eq!(
            count(&format!("SELECT count(*) FROM sch_chameleon.{second}")),
            0,
            "recreated"
        );
        assert_eq!(
            count(&format!("SELECT count(*) FROM sch_chameleon.{first}")),
            1,
            "the existing table kept its row"
        );
    }

    #[pg_test]
    fn show_status_has_one_row_per_source_and_no_password() {
        add("shop");
        add("blog");
        assert_eq!(count("SELECT count(*) FROM chameleon.show_status()"), 2);
        assert_eq!(
            count("SELECT count(*) FROM chameleon.show_status() s WHERE s::text LIKE '%pw%'"),
            0
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM chameleon.show_status() WHERE status = 'ready' AND enabled"
            ),
            2
        );
    }

    #[pg_test]
    fn stop_and_disable_move_a_running_source() {
        add("shop");
        Spi::run("UPDATE sch_chameleon.t_sources SET enm_status = 'running'").unwrap();
        Spi::run("SELECT chameleon.stop_replica('shop')").unwrap();
        assert_eq!(
            Spi::get_one::<String>("SELECT status FROM chameleon.show_status()")
                .unwrap()
                .as_deref(),
            Some("stopped")
        );
        Spi::run("UPDATE sch_chameleon.t_sources SET enm_status = 'running'; SELECT chameleon.disable_replica('shop')").unwrap();
        assert_eq!(
            Spi::get_two::<String, bool>("SELECT status, enabled FROM chameleon.show_status()")
                .unwrap(),
            (Some("stopped".into()), Some(false))
        );
    }

    #[pg_test(error = "sync_replica is disabled in chameleon 1.3")]
    fn sync_replica_is_disabled() {
        add("shop");
        Spi::run("SELECT chameleon.sync_replica('shop')").unwrap();
    }

    #[pg_test(error = "source \"nope\" does not exist")]
    fn unknown_source_is_an_error() {
        Spi::run("SELECT chameleon.stop_replica('nope')").unwrap();
    }
}
