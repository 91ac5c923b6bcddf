//! chameleon: MySQL/MariaDB -> PostgreSQL replication as a PostgreSQL extension.
//!
//! The catalogue (schema `sch_chameleon`) comes from `src/catalog/schema.sql`; the SQL API
//! (schema `chameleon`) from the `#[pg_extern]` functions in `src/api`. Together they form the
//! generated script of the current version, 1.4. Older versions and the upgrades between them
//! are frozen scripts in `sql/`. docs/architecture.md maps the modules.

use pgrx::prelude::*;

mod alloc;
mod api;
mod catalog;
mod copy;
mod error;
mod settings;
mod worker;

::pgrx::pg_module_magic!(name, version);

#[global_allocator]
static ALLOC: alloc::Allocator = alloc::Allocator;

extension_sql_file!("catalog/schema.sql", name = "catalogue", bootstrap);

/// The API's schema. catalog/schema.sql creates it (as a member of the extension); this
/// declaration lets `#[pg_extern(schema = "chameleon")]` name it.
#[pg_schema]
mod chameleon {}


#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    alloc::init();
    worker::launcher::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'chameleon'"]
    }
}
