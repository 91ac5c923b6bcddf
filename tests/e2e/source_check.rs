//! add_source connects to the source and checks what replication needs; each failure is an
//! error that names the fix, and registers nothing. Against the private MariaDB and MySQL 9.7.

use chameleon_e2e::*;

both!(add_source_checks_the_mysql_side);

fn repl_password() -> String {
    std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into())
}

/// Puts binlog_format back however the test ends.
struct RestoreRowFormat(Server);
impl Drop for RestoreRowFormat {
    fn drop(&mut self) {
        self.0.run("SET GLOBAL binlog_format = 'ROW'");
    }
}

fn add(c: &mut Client, name: &str, url: &str, extra: &str) -> Result<i64, Error> {
    c.query_one(
        &format!("SELECT chameleon.add_source('{name}', '{name}', $1{extra})"),
        &[&url],
    )
    .map(|r| r.get(0))
}

fn expect(r: Result<i64, Error>, code: &str, needle: &str) -> postgres::error::DbError {
    let e = r.expect_err("the check must fail");
    let d = e.as_db_error().unwrap_or_else(|| panic!("{e}")).clone();
    assert_eq!(d.code().code(), code, "{d:?}");
    let all = format!(
        "{} {} {}",
        d.message(),
        d.detail().unwrap_or(""),
        d.hint().unwrap_or("")
    );
    assert!(all.contains(needle), "{needle:?} not in {all}");
    d
}

fn add_source_checks_the_mysql_side(s: Server) {
    s.run(&format!(
        "DROP DATABASE IF EXISTS chk_shop; CREATE DATABASE chk_shop;
         CREATE TABLE chk_shop.film (id INT PRIMARY KEY); CREATE TABLE chk_shop.actor (id INT PRIMARY KEY);
         {} GRANT SELECT ON chk_shop.* TO 'chk_limited'@'%';",
        s.recreate_user("chk_limited", "limited_pw")
    ));
    let url = |user: &str, password: &str, db: &str, extra: &str| s.url_as(user, password, db, extra);
    let pw = repl_password();
    let db = s.db("chk");
    db_with_extension(&db);
    let (mut c, notices) = connect_with_notices(&db);

    // a ready source registers, and says what it found
    let id = add(
        &mut c,
        "ok",
        &url("usr_replica", &pw, "chk_shop", "?prefer_socket=false"),
        "",
    )
    .unwrap();
    assert_eq!(id, 1);
    let n = notices.lock().unwrap().join("\n");
    assert!(
        n.contains("binlog ROW with row image FULL, 2 tables in database \"chk_shop\""),
        "{n}"
    );

    let d = expect(
        add(
            &mut c,
            "badpw",
            &url("usr_replica", "wrong_pw_123", "chk_shop", ""),
            "",
        ),
        "28000",
        "password",
    );
    assert!(
        !format!("{d:?}").contains("wrong_pw_123"),
        "the password never shows: {d:?}"
    );
    expect(
        add(
            &mut c,
            "nodb",
            &url("usr_replica", &pw, "no_such_db", ""),
            "",
        ),
        "3D000",
        "database name",
    );
    expect(
        add(
            &mut c,
            "noport",
            "mysql://usr_replica:x@127.0.0.1:1/chk_shop",
            "",
        ),
        "08001",
        "listens",
    );
    let d = expect(
        add(
            &mut c,
            "limited",
            &url("chk_limited", "limited_pw", "chk_shop", ""),
            "",
        ),
        "42501",
        if s.is_mysql() {
            "GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'chk_limited'"
        } else {
            "GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'chk_limited'"
        },
    );
    assert!(d.message().contains("chk_limited"));
    expect(
        add(
            &mut c,
            "notable",
            &url("usr_replica", &pw, "chk_shop", ""),
            ", include_tables => ARRAY['film', 'nope']",
        ),
        "42P01",
        "actor, film",
    );
    {
        // binlog_format is global: this is the only test binary that changes it, and test
        // binaries run one at a time
        let _restore = RestoreRowFormat(s);
        s.run("SET GLOBAL binlog_format = 'MIXED'");
        expect(
            add(
                &mut c,
                "mixed",
                &url("usr_replica", &pw, "chk_shop", ""),
                "",
            ),
            "55000",
            "binlog_format = 'ROW'",
        );
        // init_replica checks again before it copies
        let e = c
            .batch_execute("SELECT chameleon.init_replica('ok')")
            .unwrap_err();
        assert_eq!(sqlstate(&e), "55000");
        assert!(
            one::<Option<String>>(&mut c, "SELECT to_regnamespace('ok')::text").is_none(),
            "nothing copied"
        );
    }
    let registered: i64 = one(&mut c, "SELECT count(*) FROM sch_chameleon.t_sources");
    assert_eq!(registered, 1, "no failed add registered anything");

    // skipping the check registers a source whose server is down
    add(
        &mut c,
        "later",
        "mysql://usr_replica:x@127.0.0.1:1/chk_shop",
        ", check_source => false",
    )
    .unwrap();

    // alter_source checks a new connection too, with the stored password when none is given
    let e = c
        .batch_execute(&format!(
            "SELECT chameleon.alter_source('ok', mysql_conn => '{}')",
            url("usr_replica", "wrong_pw_456", "chk_shop", "")
        ))
        .unwrap_err();
    assert_eq!(sqlstate(&e), "28000");
    c.batch_execute(&format!(
        "SELECT chameleon.alter_source('ok', mysql_conn => '{}')",
        url("usr_replica", "", "chk_shop", "?prefer_socket=false")
            .replace("usr_replica:@", "usr_replica@")
    ))
    .unwrap();
    assert_eq!(
        one::<String>(
            &mut c,
            "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets WHERE i_id_source = 1"
        ),
        pw
    );
}
