//! The private MariaDB is what replication will need: ROW binlog with full images and
//! metadata, utf8mb4, and a replication user with the privileges of DESIGN §4.

use chameleon_e2e::mariadb;

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
