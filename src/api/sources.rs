//! add_source, alter_source, drop_source: registering MySQL sources in the catalogue.

use chameleon_core::conn::MysqlConn;
use chameleon_core::state::{plan, Verb};
use chameleon_core::{names, options, Error, SqlState};
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::catalog::{self, sources::SourceChanges, sources::Unique};
use crate::error::{notice, raise, OrRaise};

/// The settings add_source and alter_source take, each checked when given.
fn checked(s: SourceChanges) -> SourceChanges {
    let checks = [
        s.batch_size.map(options::validate_batch_size),
        s.include
            .as_deref()
            .map(|t| options::validate_table_list("include_tables", t)),
        s.exclude
            .as_deref()
            .map(|t| options::validate_table_list("exclude_tables", t)),
        s.type_overrides
            .as_ref()
            .map(|j| options::validate_type_overrides(&j.0)),
        s.copy_options
            .as_ref()
            .map(|j| options::validate_copy_options(&j.0)),
        s.on_error
            .as_deref()
            .map(|o| options::OnError::parse(o).map(|_| ())),
        s.server_id.map(options::validate_server_id),
    ];
    for c in checks.into_iter().flatten() {
        c.or_raise();
    }
    s
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

fn check_unique(what: Unique, value: &str) {
    let label = match what {
        Unique::Name => "source name",
        Unique::DestSchema => "destination schema",
    };
    if let Some(owner) = catalog::sources::source_using(what, value) {
        raise(
            Error::new(
                SqlState::DuplicateObject,
                format!("{label} \"{value}\" is already used by source \"{owner}\""),
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
    let mut settings = checked(SourceChanges {
        conn: Some(MysqlConn::parse(mysql_conn).or_raise()),
        server_id,
        batch_size: Some(batch_size),
        batch_retention: Some(batch_retention),
        include: Some(include_tables),
        exclude: Some(exclude_tables),
        type_overrides: Some(type_overrides),
        copy_options: Some(copy_options),
        on_error: Some(on_error.to_string()),
        replay_paused: None,
    });
    // names first (cheap), then the network check outside any lock, then the names again
    // under the lock, so the INSERT sees the catalogue the checks saw
    check_unique(Unique::Name, source);
    check_unique(Unique::DestSchema, dest_schema);
    if let Some(conn) = settings.conn.as_ref().filter(|_| check_source) {
        check_mysql(conn, settings.include.as_deref().unwrap_or_default());
    }
    catalog::sources::lock_for_registration();
    check_unique(Unique::Name, source);
    check_unique(Unique::DestSchema, dest_schema);

    let id = catalog::sources::next_source_id();
    let server_id = server_id.unwrap_or_else(|| {
        let system = catalog::query_opt::<i64>("SELECT system_identifier FROM pg_control_system()", &[])
            .unwrap_or_default();
        options::default_server_id(system, crate::worker::database_id(), id)
    });
    settings.server_id = Some(server_id);
    catalog::sources::insert_source(id, source, dest_schema, settings);
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
    let settings = checked(SourceChanges {
        conn: mysql_conn.map(MysqlConn::parse).transpose().or_raise(),
        server_id,
        batch_size,
        batch_retention,
        include: include_tables,
        exclude: exclude_tables,
        type_overrides,
        copy_options,
        on_error: on_error.map(str::to_string),
        replay_paused,
    });
    if check_source && (settings.conn.is_some() || settings.include.is_some()) {
        // what the source will be after this call: new URL (or the stored one), the password
        // given or kept, the new include list (or the stored one)
        let (stored, stored_include) = catalog::sources::stored_connection(src.id);
        let mut target = settings.conn.clone().unwrap_or_else(|| stored.clone());
        if target.password.is_empty() {
            target.password = stored.password;
        }
        check_mysql(&target, settings.include.as_deref().unwrap_or(&stored_include));
    }
    let include_changed = settings.include.is_some() || settings.exclude.is_some();
    catalog::sources::update_source(src.id, settings);
    // tables the lists now select on a source with a copy: copied while it replicates (1.6)
    if include_changed && check_source && catalog::copies::keeps_copy_points() {
        crate::copy::queue_new_tables(src.id);
    }
}

/// Removes a source from the catalogue with its batches and log tables. The destination
/// schema and its data stay: drop it yourself if you no longer need it.
#[pg_extern(schema = "chameleon")]
fn drop_source(source: &str) {
    let src = catalog::lock_source(source);
    plan(source, Verb::Drop, src.state).or_raise();
    catalog::sources::remove_source(&src);
    crate::copy::drop_staging(src.id);
    notice(&format!(
        "source \"{source}\" dropped; schema \"{}\" and its data were left in place",
        src.dest_schema
    ));
}
