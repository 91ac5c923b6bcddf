//! add_source, alter_source, drop_source: registering MySQL sources in the catalogue.

use chameleon_core::conn::MysqlConn;
use chameleon_core::state::{plan, Verb};
use chameleon_core::{names, options, Error, SqlState};
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::catalog::{self, Layout};
use crate::error::{notice, raise, OrRaise};

fn validate_options(
    batch_size: Option<i32>,
    include_tables: Option<&[String]>,
    exclude_tables: Option<&[String]>,
    type_overrides: Option<&JsonB>,
    copy_options: Option<&JsonB>,
    on_error: Option<&str>,
    server_id: Option<i64>,
) {
    batch_size
        .map(options::validate_batch_size)
        .transpose()
        .or_raise();
    include_tables
        .map(|t| options::validate_table_list("include_tables", t))
        .transpose()
        .or_raise();
    exclude_tables
        .map(|t| options::validate_table_list("exclude_tables", t))
        .transpose()
        .or_raise();
    type_overrides
        .map(|j| options::validate_type_overrides(&j.0))
        .transpose()
        .or_raise();
    copy_options
        .map(|j| options::validate_copy_options(&j.0))
        .transpose()
        .or_raise();
    on_error.map(options::OnError::parse).transpose().or_raise();
    server_id
        .map(options::validate_server_id)
        .transpose()
        .or_raise();
}

fn query_opt_i64(sql: &str) -> i64 {
    catalog::query_opt::<i64>(sql, &[]).unwrap_or_default()
}

/// add_source and alter_source are not STRICT (they have optional arguments): a NULL where a
/// value is required is reported by name.
fn required<'a>(func: &str, arg: &str, v: Option<&'a str>) -> &'a str {
    v.unwrap_or_else(|| {
        raise(
            Error::new(
                SqlState::NullValueNotAllowed,
                format!("{func}: {arg} must not be NULL"),
            )
            .hint(format!("Give {arg} a value.")),
        )
    })
}

/// Connects to the source and checks what replication needs (binlog format and row image,
/// privileges, the listed tables); reports what it found.
fn check_mysql(conn: &MysqlConn, include_tables: &[String]) {
    let facts = chameleon_core::source::check(conn, include_tables).or_raise();
    notice(&format!(
        "connected to {} at {}:{}: binlog {} with row image {}, {} tables in database \"{}\"",
        facts.version,
        conn.host,
        conn.port,
        facts.binlog_format,
        facts.binlog_row_image,
        facts.tables.len(),
        conn.database
    ));
    if let Some(meta) = facts
        .binlog_row_metadata
        .as_deref()
        .filter(|m| !m.eq_ignore_ascii_case("FULL"))
    {
        notice(&format!(
            "binlog_row_metadata is {meta}: the replica will take column names and signedness from its catalogue; FULL is more robust (SET GLOBAL binlog_row_metadata = 'FULL')"
        ));
    }
}

fn check_unique(column: &str, value: &str, what: &str) {
    let taken = catalog::query_opt::<String>(
        &format!("SELECT t_source FROM sch_chameleon.t_sources WHERE {column} = $1"),
        &[value.into()],
    );
    if let Some(owner) = taken {
        raise(
            Error::new(
                SqlState::DuplicateObject,
                format!("{what} \"{value}\" is already used by source \"{owner}\""),
            )
            .hint("Pick another name, or SELECT chameleon.drop_source(...) first."),
        );
    }
}

/// Registers a MySQL/MariaDB database as a source; returns its id.
#[allow(clippy::too_many_arguments)]
#[pg_extern(schema = "chameleon")]
fn add_source(
    source: Option<&str>,
    dest_schema: Option<&str>,
    mysql_conn: Option<&str>,
    server_id: default!(Option<i64>, "NULL"),
    batch_size: default!(i32, 10000),
    batch_retention: default!(Interval, "'7 days'"),
    include_tables: default!(Vec<String>, "'{}'"),
    exclude_tables: default!(Vec<String>, "'{}'"),
    type_overrides: default!(JsonB, "'{}'"),
    copy_options: default!(JsonB, "'{}'"),
    on_error: default!(&str, "'stop'"),
    check_source: default!(bool, true),
) -> i64 {
    let source = required("add_source", "source", source);
    let dest_schema = required("add_source", "dest_schema", dest_schema);
    let mysql_conn = required("add_source", "mysql_conn", mysql_conn);
    names::validate_source_name(source).or_raise();
    names::validate_dest_schema(dest_schema).or_raise();
    let conn = MysqlConn::parse(mysql_conn).or_raise();
    validate_options(
        Some(batch_size),
        Some(&include_tables),
        Some(&exclude_tables),
        Some(&type_overrides),
        Some(&copy_options),
        Some(on_error),
        server_id,
    );
    // names first (cheap), then the network check outside any lock, then the names again
    // under the lock, so the INSERT sees the catalogue the checks saw
    check_unique("t_source", source, "source name");
    check_unique("t_dest_schema", dest_schema, "destination schema");
    if check_source {
        check_mysql(&conn, &include_tables);
    }
    Spi::run("LOCK TABLE sch_chameleon.t_sources IN SHARE ROW EXCLUSIVE MODE").or_raise();
    check_unique("t_source", source, "source name");
    check_unique("t_dest_schema", dest_schema, "destination schema");

    let id = Spi::get_one::<i64>("SELECT nextval('sch_chameleon.t_sources_i_id_source_seq')")
        .or_raise()
        .expect("nextval returns a value");
    let server_id = server_id.unwrap_or_else(|| {
        let system = query_opt_i64("SELECT system_identifier FROM pg_control_system()");
        // SAFETY: a plain read of a backend global
        options::default_server_id(system, unsafe { pg_sys::MyDatabaseId }.to_u32(), id)
    });
    // 1.3: the source's own pair of log tables (release note: "log tables per source")
    let per_source = catalog::layout() == Layout::PerSource;
    let (log_col, log_val) = if per_source {
        (", v_log_table", ", $13::varchar[]")
    } else {
        ("", "")
    };
    let mut args: Vec<pgrx::datum::DatumWithOid> = vec![
        id.into(),
        source.into(),
        dest_schema.into(),
        conn.redacted_url().into(),
        server_id.into(),
        batch_size.into(),
        batch_retention.into(),
        include_tables.into(),
        exclude_tables.into(),
        type_overrides.into(),
        copy_options.into(),
        on_error.into(),
    ];
    if per_source {
        args.push(names::log_table_pair(id).to_vec().into());
    }
    Spi::run_with_args(
        &format!(
            "INSERT INTO sch_chameleon.t_sources
                (i_id_source, t_source, t_dest_schema, t_mysql_url, i_server_id, i_batch_size,
                 iv_batch_retention, t_include_tables, t_exclude_tables, jsb_type_overrides,
                 jsb_copy_options, t_on_error{log_col})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12{log_val})"
        ),
        &args,
    )
    .or_raise();
    Spi::run_with_args(
        "INSERT INTO sch_chameleon.t_source_secrets (i_id_source, t_mysql_password) VALUES ($1, $2)",
        &[id.into(), conn.password.as_str().into()],
    )
    .or_raise();
    if per_source {
        Spi::run("SELECT sch_chameleon.fn_refresh_parts()").or_raise();
    }
    notice(&format!(
        "source \"{source}\" registered (id {id}, server_id {server_id}): next, SELECT chameleon.init_replica('{source}')"
    ));
    id
}

/// Changes a source's connection or options. NULL leaves a setting as it is. A URL without
/// a password keeps the stored password.
#[allow(clippy::too_many_arguments)]
#[pg_extern(schema = "chameleon")]
fn alter_source(
    source: Option<&str>,
    mysql_conn: default!(Option<&str>, "NULL"),
    server_id: default!(Option<i64>, "NULL"),
    batch_size: default!(Option<i32>, "NULL"),
    batch_retention: default!(Option<Interval>, "NULL"),
    include_tables: default!(Option<Vec<String>>, "NULL"),
    exclude_tables: default!(Option<Vec<String>>, "NULL"),
    type_overrides: default!(Option<JsonB>, "NULL"),
    copy_options: default!(Option<JsonB>, "NULL"),
    on_error: default!(Option<&str>, "NULL"),
    replay_paused: default!(Option<bool>, "NULL"),
    check_source: default!(bool, true),
) {
    let src = catalog::lock_source(required("alter_source", "source", source));
    let conn = mysql_conn.map(MysqlConn::parse).transpose().or_raise();
    validate_options(
        batch_size,
        include_tables.as_deref(),
        exclude_tables.as_deref(),
        type_overrides.as_ref(),
        copy_options.as_ref(),
        on_error,
        server_id,
    );
    if check_source && (conn.is_some() || include_tables.is_some()) {
        // what the source will be after this call: new URL (or the stored one), the password
        // given or kept, the new include list (or the stored one)
        let stored = catalog::query_opt::<String>(
            "SELECT t_mysql_url FROM sch_chameleon.t_sources WHERE i_id_source = $1",
            &[src.id.into()],
        )
        .unwrap_or_default();
        let mut target = conn
            .clone()
            .unwrap_or_else(|| MysqlConn::parse(&stored).or_raise());
        if target.password.is_empty() {
            target.password = catalog::query_opt::<String>(
                "SELECT t_mysql_password FROM sch_chameleon.t_source_secrets WHERE i_id_source = $1",
                &[src.id.into()],
            )
            .unwrap_or_default();
        }
        let include = match &include_tables {
            Some(t) => t.clone(),
            None => catalog::query_opt::<Vec<String>>(
                "SELECT t_include_tables FROM sch_chameleon.t_sources WHERE i_id_source = $1",
                &[src.id.into()],
            )
            .unwrap_or_default(),
        };
        check_mysql(&target, &include);
    }
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_sources SET
            t_mysql_url        = coalesce($2, t_mysql_url),
            i_server_id        = coalesce($3, i_server_id),
            i_batch_size       = coalesce($4, i_batch_size),
            iv_batch_retention = coalesce($5, iv_batch_retention),
            t_include_tables   = coalesce($6, t_include_tables),
            t_exclude_tables   = coalesce($7, t_exclude_tables),
            jsb_type_overrides = coalesce($8, jsb_type_overrides),
            jsb_copy_options   = coalesce($9, jsb_copy_options),
            t_on_error         = coalesce($10, t_on_error),
            b_replay_paused    = coalesce($11, b_replay_paused)
          WHERE i_id_source = $1",
        &[
            src.id.into(),
            conn.as_ref().map(|c| c.redacted_url()).into(),
            server_id.into(),
            batch_size.into(),
            batch_retention.into(),
            include_tables.into(),
            exclude_tables.into(),
            type_overrides.into(),
            copy_options.into(),
            on_error.into(),
            replay_paused.into(),
        ],
    )
    .or_raise();
    if let Some(c) = conn.filter(|c| !c.password.is_empty()) {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_source_secrets SET t_mysql_password = $2 WHERE i_id_source = $1",
            &[src.id.into(), c.password.as_str().into()],
        )
        .or_raise();
    }
}

/// Removes a source from the catalogue with its batches and log tables. The destination
/// schema and its data stay: drop it yourself if you no longer need it.
#[pg_extern(schema = "chameleon")]
fn drop_source(source: &str) {
    let src = catalog::lock_source(source);
    plan(source, Verb::Drop, src.state).or_raise();
    remove_source(&src);
    notice(&format!(
        "source \"{source}\" dropped; schema \"{}\" and its data were left in place",
        src.dest_schema
    ));
}

/// Removes a source from the catalogue: its log tables (1.3) and every row about it.
pub(crate) fn remove_source(src: &catalog::Source) {
    if catalog::layout() == Layout::PerSource {
        let tables = catalog::query_opt::<Vec<String>>(
            "SELECT v_log_table::text[] FROM sch_chameleon.t_sources WHERE i_id_source = $1",
            &[src.id.into()],
        )
        .unwrap_or_default();
        for t in tables {
            Spi::run(&format!(
                "DROP TABLE IF EXISTS sch_chameleon.{}",
                spi::quote_identifier(&t)
            ))
            .or_raise();
        }
    }
    // batches, log rows (1.2), secrets, tables, index definitions and discarded rows cascade
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_sources WHERE i_id_source = $1",
        &[src.id.into()],
    )
    .or_raise();
}
