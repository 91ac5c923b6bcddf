//! t_replica_tables and t_index_def: the replicated tables, their keys, the copy's figures,
//! the model of each kept with the resume position (1.4), and what the copy or a schema change
//! created for them.

use std::collections::HashMap;

use chameleon_core::ddl::PostLoad;
use chameleon_core::schema_change::Registration;
use chameleon_core::snapshot::TableDef;
use chameleon_core::Result;
use pgrx::prelude::*;
use pgrx::JsonB;

use super::query_opt;
use crate::error::{catalogue, OrRaise};

/// Did init_replica register tables for this source (its copy is in the destination)?
pub fn has_copy(id: i64) -> bool {
    query_opt::<bool>(
        "SELECT EXISTS (SELECT 1 FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1)",
        &[id.into()],
    )
    .unwrap_or(false)
}

/// What the copy made of one table: its rows, the values it changed on their way.
pub struct Copied<'a> {
    pub def: &'a TableDef,
    pub rows: u64,
    pub changed: u64,
}

/// The copy's tables with their figures and models, and what was made for them (keys,
/// indexes, foreign keys), replacing what an earlier copy registered.
pub fn record_copy(id: i64, db: &str, tables: &[Copied], made: &[(String, PostLoad)]) {
    for sql in [
        "DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
        "DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1",
    ] {
        Spi::run_with_args(sql, &[id.into()]).or_raise();
    }
    let models = super::keeps_table_models();
    for t in tables {
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_replica_tables
                (i_id_source, v_table_name, v_schema_name, v_table_pkey, i_rows_copied, i_zero_dates, ts_copied)
             VALUES ($1, $2, $3, $4::varchar[], $5, $6, clock_timestamp())",
            &[id.into(), t.def.name.as_str().into(), db.into(), t.def.primary_key().into(),
              (t.rows as i64).into(), (t.changed as i64).into()],
        )
        .or_raise();
        if models {
            // the table as the snapshot has it: where replication starts
            keep_model(id, db, t.def).or_raise();
        }
    }
    record_all_made(id, db, made);
}

/// A table a copy worker copied: its model (as its copy point has it) and what was made for it.
pub fn record_table(id: i64, db: &str, def: &TableDef, made: &[(String, PostLoad)]) {
    keep_model(id, db, def).or_raise();
    for (table, p) in made {
        record_made(id, db, table, p).or_raise();
    }
}

/// A table's recorded keys, indexes and foreign keys are gone (it is replaced).
pub fn forget_definitions(id: i64, db: &str, table: &str) {
    Spi::run_with_args(
        "DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[id.into(), db.into(), table.into()],
    )
    .or_raise();
}

/// What was made across tables once all are in (foreign keys).
pub fn record_all_made(id: i64, db: &str, made: &[(String, PostLoad)]) {
    for (table, p) in made {
        record_made(id, db, table, p).or_raise();
    }
}

/// One key, index or foreign key made for `table` (checks and sequences are not recorded).
fn record_made(id: i64, db: &str, table: &str, p: &PostLoad) -> Result<()> {
    if !p.kind.is_recorded() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO sch_chameleon.t_index_def (i_id_source, v_schema_name, v_table_name, v_index_name, v_kind, t_index_def)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[id.into(), db.into(), table.into(), p.name.as_str().into(), p.kind.as_str().into(), p.sql.as_str().into()],
    )
    .map_err(catalogue("recording an index definition"))
}

/// The table's MySQL shape at the resume position (1.4).
fn keep_model(id: i64, db: &str, def: &TableDef) -> Result<()> {
    let model = serde_json::to_value(def).unwrap_or_default();
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables SET jsb_columns = $4 WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[id.into(), db.into(), def.name.as_str().into(), JsonB(model).into()],
    )
    .map_err(catalogue("keeping a table's model"))
}

/// What a schema change taught about tables: t_replica_tables and t_index_def follow.
pub fn register(id: i64, db: &str, regs: &[Registration], keeps_models: bool) -> Result<()> {
    let by_name = |sql: &str, table: &str, what: &str| {
        Spi::run_with_args(sql, &[id.into(), db.into(), table.into()]).map_err(catalogue(what))
    };
    for r in regs {
        let (table, renamed_from) = match r {
            Registration::Gone { table, .. } => {
                by_name("DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3", table, "forgetting index definitions")?;
                by_name("DELETE FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3", table, "unregistering a table")?;
                continue;
            }
            Registration::Table {
                table,
                renamed_from,
                ..
            } => (table, renamed_from),
        };
        for t in std::iter::once(table).chain(renamed_from) {
            by_name("DELETE FROM sch_chameleon.t_index_def WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3", t, "forgetting index definitions")?;
        }
        let Registration::Table {
            pkey, defs, model, ..
        } = r
        else {
            continue;
        };
        if let Some(from) = renamed_from {
            // the copy's figures stay with the table under its new name
            Spi::run_with_args(
                "UPDATE sch_chameleon.t_replica_tables SET v_table_name = $4
                  WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
                &[id.into(), db.into(), from.as_str().into(), table.as_str().into()],
            )
            .map_err(catalogue("renaming a table"))?;
        }
        Spi::run_with_args(
            "INSERT INTO sch_chameleon.t_replica_tables (i_id_source, v_table_name, v_schema_name, v_table_pkey)
             VALUES ($1, $3, $2, $4::varchar[])
             ON CONFLICT (i_id_source, v_schema_name, v_table_name) DO UPDATE SET v_table_pkey = EXCLUDED.v_table_pkey",
            &[id.into(), db.into(), table.as_str().into(), pkey.clone().into()],
        )
        .map_err(catalogue("registering a table"))?;
        if keeps_models {
            keep_model(id, db, model)?;
        }
        for d in defs {
            record_made(id, db, table, d)?;
        }
    }
    Ok(())
}

/// A statement could not be replicated: the table's kept model no longer says what MySQL has,
/// so the next start reads it from MySQL (after the operator's fix, MySQL's shape is the right
/// one at the resume position).
pub fn forget_model(id: i64, db: &str, table: &str) -> Result<()> {
    Spi::run_with_args(
        "UPDATE sch_chameleon.t_replica_tables SET jsb_columns = NULL WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
        &[id.into(), db.into(), table.into()],
    )
    .map_err(catalogue("forgetting a table's model"))
}

/// Values changed on their way, counted per table with the position that covers them (1.4).
pub fn count_changed_values(id: i64, db: &str, changed: &[(String, u64)]) -> Result<()> {
    for (table, n) in changed {
        Spi::run_with_args(
            "UPDATE sch_chameleon.t_replica_tables SET i_values_changed = i_values_changed + $4
              WHERE i_id_source = $1 AND v_schema_name = $2 AND v_table_name = $3",
            &[id.into(), db.into(), table.as_str().into(), (*n as i64).into()],
        )
        .map_err(catalogue("counting changed values"))?;
    }
    Ok(())
}

/// Each registered table with its kept model (None: not kept yet, or unreadable). A table
/// queued for its first copy (1.6: newly included) is not replicated yet and not listed.
pub fn kept_models(id: i64, db: &str) -> Result<Vec<(String, Option<TableDef>)>> {
    let sql = if super::copies::keeps_copy_points() {
        "SELECT v_table_name::text, jsb_columns FROM sch_chameleon.t_replica_tables
          WHERE i_id_source = $1 AND v_schema_name = $2 AND (enm_copy_state = 'copied' OR jsb_columns IS NOT NULL)
          ORDER BY 1"
    } else {
        "SELECT v_table_name::text, jsb_columns FROM sch_chameleon.t_replica_tables
          WHERE i_id_source = $1 AND v_schema_name = $2 ORDER BY 1"
    };
    Spi::connect(|c| {
        c.select(
            sql,
            None,
            &[id.into(), db.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<JsonB>(2)?
                    .and_then(|j| serde_json::from_value::<TableDef>(j.0).ok()),
            ))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
    })
    .map_err(catalogue("reading the kept table models"))
}

/// The models kept of the source's tables (those it has).
pub fn models(id: i64, db: &str) -> Vec<TableDef> {
    kept_models(id, db).or_raise().into_iter().filter_map(|(_, d)| d).collect()
}

/// Each registered table's primary key.
pub fn keys(id: i64) -> Result<HashMap<String, Vec<String>>> {
    Spi::connect(|c| {
        c.select(
            "SELECT v_table_name::text, v_table_pkey::text[] FROM sch_chameleon.t_replica_tables WHERE i_id_source = $1",
            None,
            &[id.into()],
        )?
        .map(|r| {
            Ok::<_, pgrx::spi::SpiError>((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<Vec<String>>(2)?.unwrap_or_default(),
            ))
        })
        .collect::<std::result::Result<HashMap<_, _>, _>>()
    })
    .map_err(catalogue("reading the tables' keys"))
}
