//! Real-world schemas (issue 15): the install and upgrade SQL of ten open-source applications
//! (tests/fixtures/realworld, sources and licences in its README), each run in the order the
//! application runs it on MariaDB and on MySQL 9.7 while a source replicates the database; the
//! destination must then equal a fresh init_replica copy of the same database (schema facts,
//! rows, the table models kept with the position), no statement stopped or unknown, and every
//! table hold the server's row count.

use chameleon_e2e::compare::{kept_models, rows, shape};
use chameleon_e2e::*;

/// For each application: `fn app(s: Server)` replicating tests/fixtures/realworld/app.sql, and
/// its test on each server.
macro_rules! applications {
    ($($app:ident),* $(,)?) => {
        $(
            fn $app(s: Server) {
                replicate(s, stringify!($app), include_bytes!(concat!("../fixtures/realworld/", stringify!($app), ".sql")));
            }
        )*
        both!($($app),*);
    };
}

applications!(zencart, icinga2, roundcube, kamailio, opensips, cacti, friendica, cubecart, openfire, osticket);

/// The schema statements of a script (its lines that open one), for the count.
fn schema_statements(script: &str) -> usize {
    script
        .lines()
        .map(|l| l.trim_start().to_ascii_uppercase())
        .filter(|l| ["CREATE TABLE", "ALTER TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX", "DROP TABLE", "RENAME TABLE", "DROP INDEX"]
            .iter()
            .any(|k| l.starts_with(k)))
        .count()
}

fn replicate(s: Server, app: &str, script: &[u8]) {
    let db = format!("rw_{app}");
    s.run(&format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db} CHARACTER SET utf8mb4;"));
    let mut c = db_with_extension(&s.db(&format!("rw_{app}")));
    c.execute("SELECT chameleon.add_source($1, $2, $3)", &[&app, &db, &s.url(&db)])
        .unwrap();
    c.batch_execute(&format!(
        "SELECT chameleon.init_replica('{app}'); SELECT chameleon.start_replica('{app}')"
    ))
    .unwrap();
    s.streaming(&mut c);

    // the lenient mode these applications' installers set (zero dates, TEXT defaults), text
    // in UTF-8 as their clients send it
    let mut all = format!("USE {db}; SET NAMES utf8mb4; SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';\n").into_bytes();
    all.extend_from_slice(script);
    s.run_script(&all);
    s.caught_up(&mut c);
    let errors: Vec<String> = c
        .query("SELECT format('%s %s: %s', event, query, reason) FROM chameleon.show_errors()", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let ddl: i64 = one(&mut c, "SELECT coalesce(sum(i_ddl), 0)::bigint FROM sch_chameleon.t_replica_batch");

    let mut r = db_with_extension(&s.db(&format!("rw_{app}_ref")));
    r.execute("SELECT chameleon.add_source($1, $2, $3)", &[&app, &db, &s.url(&db)])
        .unwrap();
    r.batch_execute(&format!("SELECT chameleon.init_replica('{app}')"))
        .unwrap();
    let (replicated, reference) = (shape(&mut c, &db), shape(&mut r, &db));
    let missing: Vec<&String> = reference.iter().filter(|f| !replicated.contains(f)).collect();
    let extra: Vec<&String> = replicated.iter().filter(|f| !reference.contains(f)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{app}: missing in the replica: {missing:#?}\nnot in a fresh copy: {extra:#?}"
    );
    let (here, fresh) = (rows(&mut c, &db), rows(&mut r, &db));
    assert_eq!(here, fresh, "{app}: rows");
    assert_eq!(kept_models(&mut c), kept_models(&mut r), "{app}: kept models");
    for line in &fresh {
        let (table, rest) = line.split_once(": ").unwrap();
        let n: i64 = rest.split(' ').next().unwrap().parse().unwrap();
        let my: i64 = s.run(&format!("SELECT COUNT(*) FROM {db}.`{table}`")).parse().unwrap();
        assert_eq!(n, my, "{app}: {table}");
    }
    let statements = schema_statements(&String::from_utf8_lossy(script));
    assert!(ddl > 0 && reference.len() > 50, "{app}: {ddl} schema changes, {} facts", reference.len());
    eprintln!(
        "{app}: {statements} schema statements run, {ddl} schema changes replayed, {} tables, {} facts equal a fresh copy's",
        fresh.len(),
        reference.len()
    );
    c.batch_execute(&format!("SELECT chameleon.stop_replica('{app}')")).unwrap();
}
