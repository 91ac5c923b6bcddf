//! The private MariaDB is what replication will need: ROW binlog with full images and
//! metadata, utf8mb4, and a replication user with the privileges of DESIGN §4.

use std::process::Command;

fn mariadb(sql: &str) -> String {
    let sock =
        std::env::var("CHAMELEON_MYSOCK").expect("CHAMELEON_MYSOCK: run through scripts/test");
    let out = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--default-character-set=utf8mb4",
            "-S",
            &sock,
            "-uroot",
            "-N",
            "-B",
            "-e",
            sql,
        ])
        .output()
        .expect("mariadb client");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn mariadb_writes_a_full_row_binlog() {
    assert_eq!(
        mariadb("SELECT CONCAT_WS(',', @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@character_set_server)"),
        "ON,ROW,FULL,FULL,utf8mb4"
    );
    assert!(
        mariadb("SELECT VERSION()").starts_with("10.11"),
        "MariaDB 10.11"
    );
    let grants = mariadb("SHOW GRANTS FOR 'usr_replica'@'%'");
    for p in [
        "REPLICATION SLAVE",
        "BINLOG MONITOR",
        "RELOAD",
        "LOCK TABLES",
        "SELECT",
    ] {
        assert!(grants.contains(p), "usr_replica lacks {p}: {grants}");
    }
}
