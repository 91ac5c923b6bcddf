//! A MySQL/MariaDB source seen from chameleon: connecting to it, and checking that it can be
//! replicated (binary log in ROW format with full row images, the privileges the copy and the
//! binlog stream need, the database and listed tables). Each problem is an error that names
//! the fix.

use std::time::Duration;

use mysql::prelude::Queryable;

use crate::conn::MysqlConn;
use crate::error::{Error, Result, SqlState};

/// Client options for a source. URL parameters: `prefer_socket` (default false: a replica
/// talks TCP to the address it was given, never silently to a local socket), `ssl=true`
/// (TLS with the system's roots), `root_cert_path`, `danger_accept_invalid_certs`,
/// `danger_skip_domain_validation` (TLS settings, each implies ssl), `tcp_connect_timeout_ms`
/// (default 10000), `compress` (true, fast, best or 0-9).
pub fn client_opts(c: &MysqlConn) -> Result<mysql::Opts> {
    let bad = |k: &str, v: &str| {
        Error::invalid(format!(
            "invalid value \"{v}\" for connection parameter \"{k}\""
        ))
        .hint("Booleans are true or false; timeouts are milliseconds.")
    };
    let flag = |k: &str| -> Result<Option<bool>> {
        c.param(k)
            .map(|v| v.parse::<bool>().map_err(|_| bad(k, v)))
            .transpose()
    };
    let timeout = match c.param("tcp_connect_timeout_ms") {
        Some(v) => Duration::from_millis(v.parse().map_err(|_| bad("tcp_connect_timeout_ms", v))?),
        None => Duration::from_secs(10),
    };
    let mut b = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(c.host.clone()))
        .tcp_port(c.port)
        .user(Some(c.user.clone()))
        .pass(Some(c.password.clone()))
        .db_name(Some(c.database.clone()))
        .prefer_socket(flag("prefer_socket")?.unwrap_or(false))
        .tcp_connect_timeout(Some(timeout))
        .read_timeout(Some(Duration::from_secs(60)))
        .write_timeout(Some(Duration::from_secs(60)))
        // utf8mb4 on the wire: 4-byte characters arrive intact
        .init(vec!["SET NAMES utf8mb4"]);
    if let Some(v) = c.param("compress") {
        let level = match v {
            "true" => mysql::Compression::default(),
            "fast" => mysql::Compression::fast(),
            "best" => mysql::Compression::best(),
            n => mysql::Compression::new(
                n.parse()
                    .ok()
                    .filter(|l| *l <= 9)
                    .ok_or_else(|| bad("compress", v))?,
            ),
        };
        b = b.compress(Some(level));
    }
    let root = c.param("root_cert_path");
    let accept_invalid = flag("danger_accept_invalid_certs")?;
    let skip_domain = flag("danger_skip_domain_validation")?;
    if flag("ssl")?.unwrap_or(false)
        || root.is_some()
        || accept_invalid.is_some()
        || skip_domain.is_some()
    {
        let mut ssl = mysql::SslOpts::default();
        if let Some(path) = root {
            ssl = ssl.with_root_cert_path(Some(std::path::PathBuf::from(path)));
        }
        ssl = ssl
            .with_danger_accept_invalid_certs(accept_invalid.unwrap_or(false))
            .with_danger_skip_domain_validation(skip_domain.unwrap_or(false));
        b = b.ssl_opts(Some(ssl));
    }
    Ok(b.into())
}

/// Maps a client error to what a DBA can act on. The password never appears: the mysql crate
/// does not print it, and we do not print the options.
pub fn connect_error(c: &MysqlConn, e: mysql::Error) -> Error {
    let at = format!("{}@{}:{}/{}", c.user, c.host, c.port, c.database);
    match e {
        mysql::Error::MySqlError(m) if m.code == 1045 => {
            Error::new(SqlState::InvalidAuthorization, format!("MySQL refused the login of {at}"))
                .detail(m.message)
                .hint("Check the user and password in mysql_conn, and that the user may connect from this host.")
        }
        mysql::Error::MySqlError(m) if m.code == 1049 || m.code == 1044 => {
            Error::new(SqlState::InvalidCatalogName, format!("cannot use MySQL database \"{}\" as {}", c.database, c.user))
                .detail(m.message)
                .hint("Check the database name in mysql_conn and that the user has privileges on it.")
        }
        other => Error::new(SqlState::ConnectionFailure, format!("could not connect to MySQL at {}:{}", c.host, c.port))
            .detail(other.to_string())
            .hint("Check that the server runs and listens on this address and port, and that no firewall blocks it."),
    }
}

pub fn connect(c: &MysqlConn) -> Result<mysql::Conn> {
    mysql::Conn::new(client_opts(c)?).map_err(|e| connect_error(c, e))
}

fn query_error(what: &str, e: mysql::Error) -> Error {
    Error::new(
        SqlState::ConnectionFailure,
        format!("MySQL failed while {what}"),
    )
    .detail(e.to_string())
}

/// What chameleon needs to know about a source server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    pub version: String,
    pub log_bin: bool,
    pub binlog_format: String,
    pub binlog_row_image: String,
    /// MariaDB 10.5+ and MySQL 8: NO_LOG/MINIMAL/FULL; None where the server has no such setting
    pub binlog_row_metadata: Option<String>,
    /// SHOW GRANTS of the connected user
    pub grants: Vec<String>,
    /// base tables of the source database
    pub tables: Vec<String>,
    /// information_schema's row estimate of each (InnoDB's is rough; a background copy takes
    /// the largest tables first)
    pub row_estimates: Vec<Option<i64>>,
}

impl ServerFacts {
    pub fn is_mariadb(&self) -> bool {
        is_mariadb_version(&self.version)
    }
}

/// Whether a server's `VERSION()` is MariaDB's ("10.11.14-MariaDB-log").
pub fn is_mariadb_version(version: &str) -> bool {
    version.to_ascii_lowercase().contains("mariadb")
}

pub fn gather_facts(conn: &mut mysql::Conn, database: &str) -> Result<ServerFacts> {
    let row: Option<(String, String, String, String)> = conn
        .query_first(
            "SELECT @@version, CAST(@@log_bin AS CHAR), @@binlog_format, @@binlog_row_image",
        )
        .map_err(|e| query_error("reading server settings", e))?;
    let (version, log_bin, binlog_format, binlog_row_image) = row.unwrap_or_default();
    let binlog_row_metadata: Option<String> = conn
        .query_first("SELECT @@binlog_row_metadata")
        .ok()
        .flatten();
    let grants: Vec<String> = conn
        .query("SHOW GRANTS")
        .map_err(|e| query_error("reading the user's grants", e))?;
    let listed: Vec<(String, Option<i64>)> = conn
        .exec(
            "SELECT table_name, CAST(table_rows AS SIGNED) FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
            (database,),
        )
        .map_err(|e| query_error("listing tables", e))?;
    let (tables, row_estimates) = listed.into_iter().unzip();
    Ok(ServerFacts {
        version,
        log_bin: matches!(log_bin.as_str(), "1" | "ON"),
        binlog_format,
        binlog_row_image,
        binlog_row_metadata,
        grants,
        tables,
        row_estimates,
    })
}

/// One `GRANT ... ON scope TO ...` line, reduced to its privileges and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    privileges: Vec<String>,
    /// `*.*` or `db.*` (unquoted), or `db.table`
    scope: String,
}

fn parse_grant(line: &str) -> Option<Grant> {
    let rest = line.strip_prefix("GRANT ")?;
    let on = rest.find(" ON ")?;
    let privileges = rest[..on]
        .split(',')
        .map(|p| {
            p.trim()
                .split('(')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase()
        })
        .collect();
    let after = &rest[on + 4..];
    let scope = after
        .split(" TO ")
        .next()?
        .trim()
        .replace('`', "")
        .replace("\\_", "_");
    Some(Grant { privileges, scope })
}

fn has(grants: &[Grant], privilege: &str, database: &str) -> bool {
    grants.iter().any(|g| {
        let in_scope = g.scope == "*.*" || g.scope == format!("{database}.*");
        in_scope
            && g.privileges
                .iter()
                .any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL")
    })
}

/// The privileges replication needs, each with why.
pub fn missing_privileges(facts: &ServerFacts, database: &str) -> Vec<&'static str> {
    let grants: Vec<Grant> = facts.grants.iter().filter_map(|l| parse_grant(l)).collect();
    let mut missing = Vec::new();
    if !has(&grants, "SELECT", database) {
        missing.push("SELECT"); // the copy
    }
    if !has(&grants, "RELOAD", database) {
        missing.push("RELOAD"); // FLUSH TABLES WITH READ LOCK for a consistent snapshot
    }
    if !has(&grants, "REPLICATION SLAVE", database) {
        missing.push("REPLICATION SLAVE"); // the binlog stream
    }
    // SHOW MASTER STATUS: MariaDB 10.5+ calls it BINLOG MONITOR, older servers REPLICATION CLIENT
    if !has(&grants, "BINLOG MONITOR", database) && !has(&grants, "REPLICATION CLIENT", database) {
        missing.push(if facts.is_mariadb() {
            "BINLOG MONITOR"
        } else {
            "REPLICATION CLIENT"
        });
    }
    missing
}

/// Everything that keeps `facts` from being replicated; empty means ready.
pub fn problems(facts: &ServerFacts, c: &MysqlConn, include_tables: &[String]) -> Vec<Error> {
    let mut out = Vec::new();
    let not_ready = |m: String| Error::new(SqlState::ObjectNotInPrerequisiteState, m);
    if !facts.log_bin {
        out.push(not_ready("binary logging is off on the MySQL server".into()).hint(
            "Start the server with log_bin enabled (log-bin = mysql-bin in my.cnf, or --log-bin) and binlog_format = ROW.",
        ));
    }
    if !facts.binlog_format.eq_ignore_ascii_case("ROW") {
        out.push(not_ready(format!("binlog_format is {}, not ROW", facts.binlog_format)).hint(
            "SET GLOBAL binlog_format = 'ROW'; and binlog_format = ROW in my.cnf so it survives a restart (sessions started before keep their format).",
        ));
    }
    if !facts.binlog_row_image.eq_ignore_ascii_case("FULL") {
        out.push(not_ready(format!("binlog_row_image is {}, not FULL", facts.binlog_row_image)).hint(
            "SET GLOBAL binlog_row_image = 'FULL'; and binlog_row_image = FULL in my.cnf: updates and deletes need whole rows.",
        ));
    }
    let missing = missing_privileges(facts, &c.database);
    if !missing.is_empty() {
        out.push(
            Error::new(
                SqlState::InsufficientPrivilege,
                format!(
                    "MySQL user \"{}\" lacks privileges replication needs: {}",
                    c.user,
                    missing.join(", ")
                ),
            )
            .detail(format!("SHOW GRANTS: {}", facts.grants.join("; ")))
            .hint(format!(
                "GRANT {} ON *.* TO '{}'@'%';",
                missing.join(", "),
                c.user
            )),
        );
    }
    let unknown: Vec<&String> = include_tables
        .iter()
        .filter(|t| !facts.tables.contains(t))
        .collect();
    if !unknown.is_empty() {
        let some: Vec<&str> = facts.tables.iter().take(20).map(|s| s.as_str()).collect();
        out.push(
            Error::new(
                SqlState::UndefinedTable,
                format!(
                    "include_tables names tables that database \"{}\" does not have: {}",
                    c.database,
                    unknown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .hint(format!(
                "Tables there: {}{}",
                some.join(", "),
                if facts.tables.len() > 20 { ", ..." } else { "" }
            )),
        );
    }
    out
}

/// Several problems become one error: the first one's SQLSTATE and message, all of them in
/// the detail and hint, so a DBA fixes everything in one go.
pub fn combine(mut errors: Vec<Error>) -> Option<Error> {
    match errors.len() {
        0 => None,
        1 => errors.pop(),
        n => {
            let first = errors[0].clone();
            let detail = errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let hint = errors
                .iter()
                .filter_map(|e| e.hint.as_deref())
                .collect::<Vec<_>>()
                .join(" ");
            Some(
                Error::new(
                    first.state,
                    format!("{} (and {} more problems)", first.message, n - 1),
                )
                .detail(detail)
                .hint(hint),
            )
        }
    }
}

/// Whether the server still has `position`: its file among SHOW BINARY LOGS and the offset
/// within that file's size. A binlog purged past the position (or a reset server) is an
/// error that says to copy again; replication never skips ahead.
pub fn position_problem(binlogs: &[(String, u64)], file: &str, pos: u64) -> Option<Error> {
    let fix = "The binlog was purged past the stored position (or the server was reset): copy the source again with init_replica.";
    match binlogs.iter().find(|(name, _)| name == file) {
        None => Some(
            Error::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!("binlog position {file}:{pos} is not on the server"),
            )
            .detail(match (binlogs.first(), binlogs.last()) {
                (Some(a), Some(b)) => format!("The server has binlogs {} to {}.", a.0, b.0),
                _ => "The server lists no binlogs.".to_string(),
            })
            .hint(fix),
        ),
        Some((_, size)) if pos > *size => Some(
            Error::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!("binlog position {file}:{pos} is past the end of that file ({size} bytes)"),
            )
            .hint(fix),
        ),
        Some(_) => None,
    }
}

/// With GTIDs on: whether the server still has every transaction after `gtid` (a MySQL GTID
/// set), i.e. its purged set is within it (an error otherwise); the stream is then asked for by
/// set, so the file and offset (perhaps another server's) do not matter. False: GTIDs off.
fn gtid_position_ok(conn: &mut mysql::Conn, gtid: &str) -> Result<bool> {
    let row: Option<(String, String, String)> = conn
        .query_first("SELECT @@global.gtid_mode, @@global.gtid_purged, @@global.gtid_executed")
        .map_err(|e| query_error("reading gtid_mode, gtid_purged and gtid_executed", e))?;
    let Some((_, purged, executed)) = row.filter(|(mode, ..)| mode == "ON") else {
        return Ok(false);
    };
    let have = crate::gtid::GtidSet::parse(gtid)?;
    let purged = crate::gtid::GtidSet::parse(&purged)?;
    let executed = crate::gtid::GtidSet::parse(&executed)?;
    if !have.includes(&purged) {
        return Err(Error::new(
            SqlState::ObjectNotInPrerequisiteState,
            "the server purged binlogs with transactions the source has not replicated",
        )
        .detail(format!("The source replicated {have}; the server purged {purged}."))
        .hint("Copy the source again with init_replica."));
    }
    // a server behind the source (a lagging replica after a failover, another topology):
    // what it sends next would skip or repeat transactions
    if !executed.includes(&have) {
        return Err(Error::new(
            SqlState::ObjectNotInPrerequisiteState,
            "the server has not executed transactions the source already replicated",
        )
        .detail(format!("The source replicated {have}; the server executed {executed}."))
        .hint("Point the source at a server of its replication topology that has caught up (alter_source), or copy the source again with init_replica."));
    }
    Ok(true)
}

/// Reads SHOW BINARY LOGS and checks `position` against it (see `position_problem`); with
/// a MySQL GTID set and GTIDs on, checks the GTID sets instead: the server still has every
/// transaction after the set (none purged) and has executed all of it.
pub fn check_position(c: &MysqlConn, file: &str, pos: u64, gtid: Option<&str>) -> Result<()> {
    let mut conn = connect(c)?;
    if let Some(set) = gtid.filter(|g| crate::gtid::is_mysql_set(g)) {
        if gtid_position_ok(&mut conn, set)? {
            return Ok(());
        }
    }
    let logs: Vec<(String, u64)> = conn
        .query_map("SHOW BINARY LOGS", |row: mysql::Row| {
            (
                row.get::<String, _>(0).unwrap_or_default(),
                row.get::<u64, _>(1).unwrap_or_default(),
            )
        })
        .map_err(|e| query_error("listing the binlogs (SHOW BINARY LOGS)", e))?;
    position_problem(&logs, file, pos).map_or(Ok(()), Err)
}

/// Connects, gathers the facts and checks them.
pub fn check(c: &MysqlConn, include_tables: &[String]) -> Result<ServerFacts> {
    let mut conn = connect(c)?;
    let facts = gather_facts(&mut conn, &c.database)?;
    match combine(problems(&facts, c, include_tables)) {
        Some(e) => Err(e),
        None => Ok(facts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(grants: &[&str]) -> ServerFacts {
        ServerFacts {
            version: "10.11.14-MariaDB-log".into(),
            log_bin: true,
            binlog_format: "ROW".into(),
            binlog_row_image: "FULL".into(),
            binlog_row_metadata: Some("FULL".into()),
            grants: grants.iter().map(|s| s.to_string()).collect(),
            tables: vec!["film".into(), "actor".into()],
            row_estimates: vec![None, None],
        }
    }
    fn conn() -> MysqlConn {
        MysqlConn::parse("mysql://usr_replica:pw@127.0.0.1:3306/sakila").unwrap()
    }

    #[test]
    fn a_ready_server_has_no_problems() {
        let f = facts(&["GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `usr_replica`@`%` IDENTIFIED BY PASSWORD '*AB'"]);
        assert!(problems(&f, &conn(), &["film".into()]).is_empty());
        let all = facts(&["GRANT ALL PRIVILEGES ON *.* TO `usr_replica`@`%`"]);
        assert!(missing_privileges(&all, "sakila").is_empty());
    }

    #[test]
    fn privileges_on_the_database_and_globally() {
        let f = facts(&[
            "GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `usr_replica`@`%`",
            "GRANT SELECT ON `sakila`.* TO `usr_replica`@`%`",
        ]);
        assert!(missing_privileges(&f, "sakila").is_empty());
        assert_eq!(missing_privileges(&f, "other"), vec!["SELECT"]);
        // a table-level or column-level grant does not cover the database
        let f = facts(&[
            "GRANT SELECT (id) ON `sakila`.`film` TO `u`@`%`",
            "GRANT USAGE ON *.* TO `u`@`%`",
        ]);
        assert_eq!(
            missing_privileges(&f, "sakila"),
            vec!["SELECT", "RELOAD", "REPLICATION SLAVE", "BINLOG MONITOR"]
        );
        // underscores escaped by SHOW GRANTS
        let f = facts(&[
            "GRANT SELECT ON `my\\_db`.* TO `u`@`%`",
            "GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`",
        ]);
        assert!(missing_privileges(&f, "my_db").is_empty());
    }

    #[test]
    fn each_problem_names_its_fix() {
        let mut f = facts(&["GRANT SELECT ON *.* TO `usr_replica`@`%`"]);
        f.log_bin = false;
        f.binlog_format = "MIXED".into();
        f.binlog_row_image = "MINIMAL".into();
        let p = problems(&f, &conn(), &["film".into(), "nope".into()]);
        let states: Vec<_> = p.iter().map(|e| e.state.code()).collect();
        assert_eq!(states, vec!["55000", "55000", "55000", "42501", "42P01"]);
        assert!(p[1]
            .hint
            .as_deref()
            .unwrap()
            .contains("binlog_format = 'ROW'"));
        assert!(p[3]
            .message
            .contains("RELOAD, REPLICATION SLAVE, BINLOG MONITOR"));
        assert!(p[3].hint.as_deref().unwrap().starts_with(
            "GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'usr_replica'"
        ));
        assert!(p[4].message.contains("nope") && p[4].hint.as_deref().unwrap().contains("actor"));
        let all = combine(p).unwrap();
        assert_eq!(all.state.code(), "55000");
        assert!(all.message.contains("4 more problems"));
        assert!(all.detail.unwrap().contains("binlog_row_image is MINIMAL"));
        assert!(combine(vec![]).is_none());
    }

    #[test]
    fn client_options_from_the_url() {
        let c = MysqlConn::parse(
            "mysql://u:p@db.example:3307/shop?ssl=true&compress=fast&tcp_connect_timeout_ms=2500",
        )
        .unwrap();
        let o = client_opts(&c).unwrap();
        assert_eq!(o.get_ip_or_hostname(), "db.example");
        assert_eq!(o.get_tcp_port(), 3307);
        assert!(!o.get_prefer_socket(), "a replica talks TCP unless asked");
        assert!(o.get_ssl_opts().is_some());
        assert_eq!(
            o.get_tcp_connect_timeout(),
            Some(Duration::from_millis(2500))
        );
        let plain = client_opts(&MysqlConn::parse("mysql://u:p@h/shop").unwrap()).unwrap();
        assert!(plain.get_ssl_opts().is_none());
        for bad in [
            "ssl=yes",
            "compress=11",
            "tcp_connect_timeout_ms=soon",
            "prefer_socket=1",
        ] {
            let c = MysqlConn::parse(&format!("mysql://u:p@h/shop?{bad}")).unwrap();
            assert!(client_opts(&c).is_err(), "{bad}");
        }
    }

    #[test]
    fn unreachable_server_is_a_connection_failure() {
        // port 1 on loopback: nothing listens, the refusal is immediate
        let c = MysqlConn::parse("mysql://u:secret_pw@127.0.0.1:1/shop").unwrap();
        let e = connect(&c).expect_err("no server there");
        assert_eq!(e.state, SqlState::ConnectionFailure);
        assert!(!format!("{e:?}").contains("secret_pw"), "{e:?}");
    }

    #[test]
    fn a_position_must_be_on_the_server() {
        let logs = vec![
            ("mysql-bin.000003".to_string(), 5000u64),
            ("mysql-bin.000004".to_string(), 320),
        ];
        assert!(position_problem(&logs, "mysql-bin.000004", 320).is_none());
        assert!(position_problem(&logs, "mysql-bin.000003", 4).is_none());
        let purged = position_problem(&logs, "mysql-bin.000001", 4).unwrap();
        assert_eq!(purged.state, SqlState::ObjectNotInPrerequisiteState);
        assert!(purged
            .detail
            .as_deref()
            .unwrap()
            .contains("mysql-bin.000003 to mysql-bin.000004"));
        assert!(purged.hint.as_deref().unwrap().contains("init_replica"));
        assert!(position_problem(&logs, "mysql-bin.000004", 9999)
            .unwrap()
            .message
            .contains("past the end"));
    }
}
