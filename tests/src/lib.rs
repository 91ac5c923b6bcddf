//! Helpers for chameleon's end-to-end tests. The servers are started by `scripts/env`; these
//! tests find them through CHAMELEON_PGHOST (socket directory) and CHAMELEON_PGPORT, which
//! `scripts/test` exports.

use std::sync::{Arc, Mutex};

pub use postgres::{Client, Error, NoTls};

pub mod compare;
pub mod live;
mod server;
pub use server::{Flavour, Server, MARIADB, MYSQL97};

pub fn pg_host() -> String {
    std::env::var("CHAMELEON_PGHOST").expect("CHAMELEON_PGHOST: run the tests through scripts/test")
}
pub fn pg_port() -> u16 {
    std::env::var("CHAMELEON_PGPORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(54329)
}
pub fn pg_bin(tool: &str) -> String {
    format!(
        "{}/{tool}",
        std::env::var("PGBIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into())
    )
}

fn config(db: &str, user: &str) -> postgres::Config {
    let mut c = postgres::Config::new();
    c.host_path(pg_host()).port(pg_port()).user(user).dbname(db);
    c
}

pub fn connect(db: &str) -> Client {
    connect_as(db, "postgres")
}

pub fn connect_as(db: &str, user: &str) -> Client {
    config(db, user)
        .connect(NoTls)
        .unwrap_or_else(|e| panic!("connect to {db} as {user}: {e}"))
}

/// A connection that records the NOTICEs the server sends.
pub fn connect_with_notices(db: &str) -> (Client, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let client = config(db, "postgres")
        .notice_callback(move |n| sink.lock().unwrap().push(n.message().to_string()))
        .connect(NoTls)
        .expect("connect");
    (client, seen)
}

/// Drops and creates database `name`; each test uses databases of its own.
pub fn fresh_db(name: &str) -> Client {
    fresh_db_at(pg_port(), name)
}

/// `fresh_db` on the cluster at `port` (connections retried while it restarts).
pub fn fresh_db_at(port: u16, name: &str) -> Client {
    drop_db_at(port, name);
    live::connect_retry_at(port, "postgres")
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .unwrap();
    live::connect_retry_at(port, name)
}

/// Drops database `name` on the cluster at `port` (its sessions ended with it).
pub fn drop_db_at(port: u16, name: &str) {
    live::connect_retry_at(port, "postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .unwrap();
}

/// A fresh database `name` with the extension at its default version.
pub fn db_with_extension(name: &str) -> Client {
    let mut c = fresh_db(name);
    c.batch_execute("CREATE EXTENSION chameleon").unwrap();
    c
}

pub fn one<T: for<'a> postgres::types::FromSql<'a>>(c: &mut Client, sql: &str) -> T {
    c.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)))
        .get(0)
}

/// A server error with its SQLSTATE, message, detail and hint (postgres' Display says "db error").
pub fn describe(e: &Error) -> String {
    match e.as_db_error() {
        Some(d) => format!(
            "{} {} (detail: {}; hint: {})",
            d.code().code(),
            d.message(),
            d.detail().unwrap_or(""),
            d.hint().unwrap_or("")
        ),
        None => e.to_string(),
    }
}

/// SQLSTATE of a failed statement.
/// The error of `sql`, which must fail with `code`; returns (message, detail, hint).
pub fn fails(c: &mut Client, sql: &str, code: &str) -> (String, String, String) {
    let e = c.batch_execute(sql).expect_err(sql);
    let d = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    assert_eq!(d.code().code(), code, "{sql}: {d:?}");
    (
        d.message().to_string(),
        d.detail().unwrap_or("").to_string(),
        d.hint().unwrap_or("").to_string(),
    )
}

pub fn sqlstate(e: &Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_string())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

/// Everything about the catalogue that a fresh install and an upgraded one must share, as
/// sorted text lines: relations, columns in order, types, defaults, constraints, indexes,
/// sequences, functions (full definition), enums, views, privileges, extension membership
/// and pg_dump configuration. OIDs and database names are left out.
pub const SNAPSHOT_SQL: &str = r#"
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'chameleon'),
nsp AS (SELECT oid, nspname FROM pg_namespace WHERE nspname IN ('chameleon', 'sch_chameleon')),
member AS (SELECT classid, objid FROM pg_depend, ext WHERE refclassid = 'pg_extension'::regclass
             AND refobjid = ext.oid AND deptype = 'e')
SELECT line FROM (
  SELECT format('schema %s acl=%s member=%s', n.nspname, n2.nspacl,
                EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_namespace'::regclass AND m.objid = n.oid)) AS line
    FROM nsp n JOIN pg_namespace n2 ON n2.oid = n.oid
  UNION ALL
  SELECT format('relation %s.%s kind=%s persistence=%s options=%s acl=%s parents=%s member=%s comment=%s',
                n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions, c.relacl,
                (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid),
                EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid),
                obj_description(c.oid, 'pg_class'))
    FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
  UNION ALL
  SELECT format('column %s.%s #%s %s %s notnull=%s default=%s identity=%s local=%s inhcount=%s acl=%s',
                n.nspname, c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                a.attidentity, a.attislocal, a.attinhcount, a.attacl)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN nsp n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'p')
  UNION ALL
  SELECT format('constraint %s.%s %s %s', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN nsp n ON n.oid = c.relnamespace
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN nsp n ON n.oid = c.relnamespace
  UNION ALL
  SELECT format('sequence %s.%s type=%s start=%s inc=%s min=%s max=%s cycle=%s owned_by=%s',
                n.nspname, c.relname, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
                (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'))
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN nsp n ON n.oid = c.relnamespace
  UNION ALL
  SELECT format('function %s acl=%s member=%s', pg_get_functiondef(p.oid), p.proacl,
                EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid))
    FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
  UNION ALL
  SELECT format('type %s.%s kind=%s labels=%s member=%s', n.nspname, t.typname, t.typtype,
                (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid))
    FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'c', 'b') AND t.typrelid = 0
  UNION ALL
  SELECT format('view %s.%s %s', n.nspname, c.relname, pg_get_viewdef(c.oid))
    FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace WHERE c.relkind = 'v'
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN nsp n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal
  UNION ALL
  SELECT format('config_dump %s condition=%s', x.cfg::regclass, x.cond)
    FROM ext, unnest(ext.extconfig, ext.extcondition) AS x(cfg, cond)
) s ORDER BY line
"#;

pub fn snapshot(c: &mut Client) -> Vec<String> {
    c.query(SNAPSHOT_SQL, &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// Asserts two snapshots are equal, printing only the lines that differ.
pub fn assert_same_catalogue(what: &str, a: &[String], b: &[String]) {
    let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
    let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty() && a.len() == b.len(),
        "{what}: catalogues differ\n--- only in the first ({}):\n{}\n--- only in the second ({}):\n{}",
        only_a.len(),
        only_a.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
        only_b.len(),
        only_b.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
    );
}

/// A 1.2 catalogue with `sources` sources and `batches` pending batches holding
/// `rows_per_batch` rows each. Batches go round-robin over the sources (so sources are
/// interleaved) and every source flips between t_log_replica_1 and _2 on each of its batches,
/// as 1.2 does: both shared tables hold rows of every source.
pub fn seed_12(c: &mut Client, sources: i64, batches: i64, rows_per_batch: i64) {
    c.batch_execute("CREATE EXTENSION chameleon VERSION '1.2'")
        .unwrap();
    for s in 1..=sources {
        c.execute(
            "SELECT chameleon.add_source($1, $2, $3, check_source => false)",
            &[
                &format!("src{s}"),
                &format!("dest{s}"),
                &format!("mysql://usr:pw{s}@127.0.0.1:3306/db{s}"),
            ],
        )
        .unwrap();
    }
    c.batch_execute(&format!(
        "UPDATE sch_chameleon.t_sources SET enm_status = 'stopped', t_binlog_name = 'mysql-bin.000001', i_binlog_position = 4;
         INSERT INTO sch_chameleon.t_replica_batch (i_id_source, t_binlog_name, i_binlog_position, b_started, b_processed, v_log_table)
         SELECT (b - 1) % {sources} + 1, 'mysql-bin.000001', 1000 * b, true, true,
                CASE WHEN ((b - 1) / {sources}) % 2 = 0 THEN 't_log_replica_1' ELSE 't_log_replica_2' END
           FROM generate_series(1, {batches}) b ORDER BY b;"
    ))
    .unwrap();
    for table in ["t_log_replica_1", "t_log_replica_2"] {
        c.batch_execute(&format!(
            "INSERT INTO sch_chameleon.{table} (i_id_batch, v_table_name, v_schema_name, enm_binlog_event,
                    t_binlog_name, i_binlog_position, ts_event_datetime, jsb_event_data, jsb_event_update)
             SELECT b.i_id_batch, 'tbl_' || (r % 7), 'db' || b.i_id_source,
                    (ARRAY['insert','update','delete'])[r % 3 + 1]::sch_chameleon.en_binlog_event,
                    b.t_binlog_name, b.i_binlog_position + r, timestamptz '2026-01-01' + r * interval '1 ms',
                    jsonb_build_object('id', r, 'batch', b.i_id_batch, 'txt', md5(r::text) || ' 🦎'), jsonb_build_object('id', r)
               FROM sch_chameleon.t_replica_batch b, generate_series(1, {rows_per_batch}) r
              WHERE b.v_log_table = '{table}' ORDER BY b.i_id_batch, r"
        ))
        .unwrap();
    }
}

/// Per source and batch: the number of log rows and a checksum of their canonical text
/// (every column but the table they sit in), in event order. Equal before and after a
/// migration means no row was lost, duplicated or changed, whatever table holds it now.
pub fn log_rows_by_batch(c: &mut Client) -> Vec<(i64, i64, i64, String)> {
    c.query(
        "SELECT b.i_id_source, l.i_id_batch, count(*),
                md5(string_agg(concat_ws('|', l.i_id_event, l.v_table_name, l.v_schema_name, l.enm_binlog_event,
                    l.t_binlog_name, l.i_binlog_position, l.ts_event_datetime, l.jsb_event_data, l.jsb_event_update, l.t_query),
                    E'\n' ORDER BY l.i_id_event))
           FROM sch_chameleon.t_log_replica l JOIN sch_chameleon.t_replica_batch b USING (i_id_batch)
          GROUP BY 1, 2 ORDER BY 1, 2",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// A checksum of every row of the catalogue's user-state tables (log rows included).
pub fn catalogue_data(c: &mut Client) -> Vec<(String, i64, String)> {
    let tables = [
        "t_sources",
        "t_source_secrets",
        "t_replica_batch",
        "t_log_replica",
        "t_replica_tables",
        "t_index_def",
        "t_discarded_rows",
    ];
    tables
        .iter()
        .map(|t| {
            let r = c
                .query_one(
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '')
                           FROM (SELECT * FROM sch_chameleon.{t}) x"
                    ),
                    &[],
                )
                .unwrap();
            (t.to_string(), r.get(0), r.get(1))
        })
        .collect()
}

/// Runs SQL on the private MariaDB as root (through its socket); returns the tab-separated
/// rows without headers.
pub fn mariadb(sql: &str) -> String {
    run_sql("CHAMELEON_MYSOCK", sql)
}

/// Runs SQL as root on the server whose socket the variable `socket_var` names (the mariadb
/// client speaks to MariaDB and MySQL alike); the tab-separated rows without headers.
pub(crate) fn run_sql(socket_var: &str, sql: &str) -> String {
    let sock = std::env::var(socket_var)
        .unwrap_or_else(|_| panic!("{socket_var}: run through scripts/test"));
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "--default-character-set=utf8mb4", "-S", &sock, "-uroot", "-N", "-B", "-e", sql])
        .output()
        .expect("mariadb client");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

/// Runs SQL on the private Oracle MySQL 9.7 as root (through its socket, with the mariadb
/// client, which speaks to it); returns the tab-separated rows without headers.
pub fn mysql97(sql: &str) -> String {
    run_sql("CHAMELEON_MY97SOCK", sql)
}

/// The client's batch output writes a newline inside a value as `\n`: MySQL prints a GTID set
/// of several servers with one after each comma.
pub fn unescape_newlines(text: &str) -> String {
    text.replace("\\n", "\n")
}

/// Runs SQL on the MySQL 9.7 replica (it follows `mysql97` by GTID auto-position).
pub fn mysql97r(sql: &str) -> String {
    run_sql("CHAMELEON_MY97RSOCK", sql)
}

/// The URL of database `db` on the MySQL 9.7 replica.
pub fn mysql97r_url(db: &str) -> String {
    let port = std::env::var("CHAMELEON_MY97RPORT").unwrap_or_else(|_| "33089".into());
    let pw = std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into());
    format!("mysql://usr_replica:{pw}@127.0.0.1:{port}/{db}")
}

/// Waits until the MySQL 9.7 replica has applied everything the first server executed.
pub fn replica_caught_up() {
    let t0 = std::time::Instant::now();
    let want = chameleon_core::gtid::GtidSet::parse(&mysql97_position().2).unwrap();
    loop {
        let have = chameleon_core::gtid::GtidSet::parse(&unescape_newlines(&mysql97r("SELECT @@global.gtid_executed"))).unwrap();
        if have.includes(&want) {
            return;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(60), "the replica lags: {have} < {want}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The URL of database `db` on the private MySQL 9.7 for the replication user
/// (caching_sha2_password over TCP).
pub fn mysql97_url(db: &str) -> String {
    MYSQL97.url(db)
}

/// MySQL 9.7's current binlog file, position and executed GTID set.
pub fn mysql97_position() -> (String, i64, String) {
    let s = mysql97("SHOW BINARY LOG STATUS");
    let f: Vec<&str> = s.split('\t').collect();
    (
        f[0].to_string(),
        f[1].parse().unwrap(),
        f.get(4).map(|g| unescape_newlines(g)).unwrap_or_default(),
    )
}

/// The URL of database `db` on the private MariaDB for the replication user.
pub fn mysql_url(db: &str) -> String {
    MARIADB.url(db)
}

/// MySQL's current binlog file and position.
pub fn master_position() -> (String, i64) {
    MARIADB.position()
}

/// Waits until every source has stored and replayed everything up to MySQL's current
/// position; fails at once if a source stops in error.
pub fn caught_up(c: &mut Client) {
    MARIADB.caught_up(c)
}

/// Waits until every source has stored and replayed everything up to MySQL 9.7's current
/// position (the sources of such a test replicate from it).
pub fn caught_up_mysql97(c: &mut Client) {
    MYSQL97.caught_up(c)
}

/// Waits until every source has stored and replayed everything up to (file, pos).
pub fn caught_up_at(c: &mut Client, (file, pos): (String, i64)) {
    let t0 = std::time::Instant::now();
    loop {
        let mut done = true;
        for r in c.query("SELECT binlog_file, binlog_position, batches_pending, status, last_error, source FROM chameleon.show_status()", &[]).unwrap() {
            let (f, p, pending): (Option<String>, Option<i64>, i64) = (r.get(0), r.get(1), r.get(2));
            let status: String = r.get(3);
            let source: String = r.get(5);
            // "running (no worker)" is normal for a moment after a start or a crash
            assert!(status.starts_with("running"), "{source}: status {status}: {:?}", r.get::<_, Option<String>>(4));
            let at_end = f.as_deref() == Some(file.as_str()) && p.unwrap_or(0) >= pos && pending == 0;
            assert!(at_end || t0.elapsed() < std::time::Duration::from_secs(120),
                    "{source} not caught up with {file}:{pos}: at {f:?}:{p:?}, {pending} pending");
            done &= at_end;
        }
        if done {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits until the source's worker streams: it has read the tables' shape, which a starting
/// worker takes at its resume position. A write on another database moves its position.
pub fn streaming(c: &mut Client) {
    MARIADB.streaming(c)
}

/// Waits until the (only) source has a worker (`present`) or none.
pub fn wait_for_worker(c: &mut Client, present: bool) {
    let t0 = std::time::Instant::now();
    while one::<Option<i32>>(c, "SELECT worker_pid FROM chameleon.show_status()").is_some()
        != present
    {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "the worker did not {}",
            if present { "start" } else { "stop" }
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn extversion(c: &mut Client) -> String {
    one(
        c,
        "SELECT extversion FROM pg_extension WHERE extname = 'chameleon'",
    )
}

/// A TCP relay to the private MariaDB whose link can be cut: while cut, every relayed
/// connection is closed and new ones are closed as soon as they arrive (what a network outage
/// looks like to the worker), without privileges or firewall rules.
pub struct Relay {
    pub port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    pub fn start() -> Relay {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let target: u16 = std::env::var("CHAMELEON_MYPORT")
            .unwrap_or_else(|_| "33069".into())
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                };
                let mut list = o.lock().unwrap();
                list.extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay { port, cut, open }
    }

    /// Cuts the link: open connections are closed, new ones refused until `restore`.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// The URL of database `db` through the relay.
    pub fn url(&self, db: &str) -> String {
        let pw = std::env::var("CHAMELEON_MYSQL_PASSWORD").unwrap_or_else(|_| "replica_pw".into());
        format!(
            "mysql://usr_replica:{pw}@127.0.0.1:{}/{db}?prefer_socket=false",
            self.port
        )
    }
}

/// A small deterministic pseudo-random sequence (no crate needed): moments of faults.
pub struct Moments(u64);

impl Moments {
    pub fn new(seed: u64) -> Moments {
        Moments(seed | 1)
    }
    /// A duration in [lo, hi) milliseconds.
    pub fn next_ms(&mut self, lo: u64, hi: u64) -> std::time::Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        std::time::Duration::from_millis(lo + self.0 % (hi - lo))
    }
}

/// CHAMELEON_SOAK=1: the long mode of the fault suite (scripts/soak); otherwise the short one.
pub fn soak() -> bool {
    std::env::var("CHAMELEON_SOAK").is_ok_and(|v| v == "1")
}
