//! The MySQL servers an end-to-end test replicates from, behind one interface so that a suite
//! runs on each: MariaDB 10.11 and Oracle MySQL 9.7 (GTIDs on, caching_sha2_password,
//! binlog_row_metadata MINIMAL). `both!` makes one test per server of a function taking a
//! `Server`.

use std::collections::HashSet;
use std::sync::Mutex;

use postgres::Client;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    MariaDb,
    MySql,
}

/// One of the servers `scripts/env` starts.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    pub flavour: Flavour,
    socket_var: &'static str,
    port_var: &'static str,
    default_port: &'static str,
}

pub const MARIADB: Server = Server {
    flavour: Flavour::MariaDb,
    socket_var: "CHAMELEON_MYSOCK",
    port_var: "CHAMELEON_MYPORT",
    default_port: "33069",
};

pub const MYSQL97: Server = Server {
    flavour: Flavour::MySql,
    socket_var: "CHAMELEON_MY97SOCK",
    port_var: "CHAMELEON_MY97PORT",
    default_port: "33079",
};

/// The number tables made on MySQL so far (MariaDB has its `seq` engine).
static SEQ_TABLES: Mutex<Option<HashSet<(u64, u64)>>> = Mutex::new(None);

impl Server {
    pub fn is_mysql(&self) -> bool {
        self.flavour == Flavour::MySql
    }

    /// `name` made distinct per server, for PostgreSQL databases that tests of both servers
    /// create side by side.
    pub fn db(&self, name: &str) -> String {
        match self.flavour {
            Flavour::MariaDb => name.to_string(),
            Flavour::MySql => format!("{name}_my"),
        }
    }

    /// Runs SQL as root through the server's socket; the tab-separated rows without headers.
    /// MariaDB's number tables `mysql.seq_A_to_B` may be used on either server: on MySQL they
    /// name real tables of database `it_seq`, made on first use.
    pub fn run(&self, sql: &str) -> String {
        let sql = match self.flavour {
            Flavour::MariaDb => sql.to_string(),
            Flavour::MySql => self.with_seq_tables(sql),
        };
        crate::run_sql(self.socket_var, &sql)
    }

    /// Runs an SQL script (DELIMITER and all) as root through the client's standard input: for
    /// scripts too long for a command line.
    pub fn run_script(&self, script: &[u8]) {
        use std::io::Write;
        let sock = std::env::var(self.socket_var).unwrap_or_else(|_| panic!("{}: run through scripts/test", self.socket_var));
        let mut child = std::process::Command::new("mariadb")
            // (binary: a script may hold binary literals, NUL bytes included, which a text
            // character set would read as characters; UTF-8 text arrives as its bytes)
            .args(["--no-defaults", "--default-character-set=binary", "--binary-mode", "-S", &sock, "-uroot"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("mariadb client");
        child.stdin.take().expect("stdin").write_all(script).expect("the script");
        let out = child.wait_with_output().expect("mariadb client");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// `sql` with each `mysql.seq_A_to_B` replaced by `it_seq.seq_A_to_B`, which exists.
    fn with_seq_tables(&self, sql: &str) -> String {
        const NAME: &str = "mysql.seq_";
        let mut out = String::with_capacity(sql.len());
        let mut rest = sql;
        while let Some(at) = rest.find(NAME) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + NAME.len()..];
            let len = tail
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '_' || ch.is_ascii_alphabetic()))
                .unwrap_or(tail.len());
            let range = &tail[..len];
            let (a, b) = range
                .split_once("_to_")
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .unwrap_or_else(|| panic!("a number table mysql.seq_{range}"));
            self.make_seq_table(a, b);
            out.push_str(&format!("it_seq.seq_{a}_to_{b}"));
            rest = &tail[len..];
        }
        out.push_str(rest);
        out
    }

    fn make_seq_table(&self, a: u64, b: u64) {
        let mut made = SEQ_TABLES.lock().unwrap_or_else(|e| e.into_inner());
        if made.get_or_insert_with(HashSet::new).contains(&(a, b)) {
            return;
        }
        crate::run_sql(
            self.socket_var,
            &format!(
                "CREATE DATABASE IF NOT EXISTS it_seq;
                 CREATE TABLE IF NOT EXISTS it_seq.seq_{a}_to_{b} (seq BIGINT UNSIGNED PRIMARY KEY);
                 SET SESSION cte_max_recursion_depth = 100000000;
                 INSERT IGNORE INTO it_seq.seq_{a}_to_{b}
                   WITH RECURSIVE s(seq) AS (SELECT {a} UNION ALL SELECT seq + 1 FROM s WHERE seq < {b}) SELECT seq FROM s;"
            ),
        );
        made.as_mut().unwrap().insert((a, b));
    }

    /// The URL of database `db` for the replication user, over TCP.
    pub fn url(&self, db: &str) -> String {
        let pw = std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into());
        self.url_as("usr_replica", &pw, db, "")
    }

    /// The URL of database `db` for `user` (`extra`: a query string or nothing).
    pub fn url_as(&self, user: &str, password: &str, db: &str, extra: &str) -> String {
        let port = std::env::var(self.port_var).unwrap_or_else(|_| self.default_port.into());
        format!("mysql://{user}:{password}@127.0.0.1:{port}/{db}{extra}")
    }

    /// The server's current binlog file and position.
    pub fn position(&self) -> (String, i64) {
        let status = match self.flavour {
            Flavour::MariaDb => self.run("SHOW MASTER STATUS"),
            Flavour::MySql => self.run("SHOW BINARY LOG STATUS"),
        };
        let mut f = status.split('\t');
        (f.next().unwrap().to_string(), f.next().unwrap().parse().unwrap())
    }

    /// Waits until every source of `c` has stored and replayed everything up to the server's
    /// current position; fails at once if a source stops in error.
    pub fn caught_up(&self, c: &mut Client) {
        crate::caught_up_at(c, self.position());
    }

    /// Waits until the source's worker streams (a write on another database moves the
    /// position it must reach).
    pub fn streaming(&self, c: &mut Client) {
        self.run("CREATE DATABASE IF NOT EXISTS it_marker; CREATE TABLE IF NOT EXISTS it_marker.m (id INT); INSERT INTO it_marker.m VALUES (1);");
        self.caught_up(c);
    }

    /// Row count and a checksum of canonical row text of one table on both sides: MySQL
    /// expressions and PostgreSQL expressions that render each column the same way. `key`
    /// orders the rows: a column, or several separated by commas (a keyless table: all of them).
    #[allow(clippy::too_many_arguments)]
    pub fn checksums(
        &self,
        pg: &mut Client,
        mysql_db: &str,
        pg_schema: &str,
        table: &str,
        key: &str,
        my_cols: &[&str],
        pg_cols: &[&str],
    ) -> ((i64, String), (i64, String)) {
        let my_order = key
            .split(',')
            .map(|k| format!("`{}`", k.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        // MySQL sorts NULLs first
        let pg_order = key
            .split(',')
            .map(|k| format!("\"{}\" NULLS FIRST", k.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let my = self.run(&format!(
            "SET SESSION group_concat_max_len = 1073741824, time_zone = '+00:00';
             SELECT COUNT(*), COALESCE(SHA2(GROUP_CONCAT(CONCAT_WS('|', {}) ORDER BY {my_order} SEPARATOR '\n'), 256), '') FROM `{mysql_db}`.`{table}`",
            my_cols.iter().map(|c| format!("COALESCE({c}, 'NULL')")).collect::<Vec<_>>().join(", ")
        ));
        let mut it = my.split('\t');
        let my_count: i64 = it.next().unwrap_or("0").parse().unwrap();
        let my_sum = it.next().unwrap_or("").to_string();
        pg.batch_execute("SET TimeZone = 'UTC'").unwrap();
        let r = pg
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(encode(sha256(convert_to(string_agg(concat_ws('|', {}), E'\\n' ORDER BY {pg_order}), 'UTF8')), 'hex'), '') FROM \"{pg_schema}\".\"{table}\"",
                    pg_cols.iter().map(|c| format!("coalesce(({c})::text, 'NULL')")).collect::<Vec<_>>().join(", ")
                ),
                &[],
            )
            .unwrap();
        ((my_count, my_sum), (r.get(0), r.get(1)))
    }

    /// DROP + CREATE USER (MariaDB's CREATE OR REPLACE USER does not exist on MySQL).
    pub fn recreate_user(&self, user: &str, password: &str) -> String {
        format!("DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';")
    }
}

/// One test per server for each named `fn(Server)`: `name::mariadb` and `name::mysql`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn mariadb() {
                    super::$name($crate::MARIADB)
                }
                #[test]
                fn mysql() {
                    super::$name($crate::MYSQL97)
                }
            }
        )*
    };
}
