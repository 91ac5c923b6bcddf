//! t_discarded_rows: rows and statements set aside, with their SQLSTATE and reason
//! (show_errors lists them).

use chameleon_core::event::EventKind;
use chameleon_core::Result;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value as Json;

use crate::error::catalogue;

/// A row or a statement that could not be applied.
pub struct SetAside<'a> {
    pub source: i64,
    pub batch: i64,
    pub schema: Option<&'a str>,
    /// empty: the statement named no replicated table
    pub table: &'a str,
    pub kind: EventKind,
    pub data: Json,
    /// an update's before image
    pub identity: Option<Json>,
    /// a statement's MySQL text
    pub query: Option<&'a str>,
    pub file: Option<&'a str>,
    pub pos: Option<i64>,
    pub sqlstate: &'a str,
    pub reason: &'a str,
}

pub fn set_aside(r: SetAside) -> Result<()> {
    Spi::run_with_args(
        "INSERT INTO sch_chameleon.t_discarded_rows (i_id_source, i_id_batch, v_schema_name, v_table_name, enm_binlog_event,
                t_binlog_name, i_binlog_position, jsb_event_data, jsb_event_update, t_query, t_sqlstate, t_reason)
         VALUES ($1, $2, $3, nullif($4, ''), $5::sch_chameleon.en_binlog_event, $6, $7, $8, $9, $10, $11, $12)",
        &[
            r.source.into(),
            r.batch.into(),
            r.schema.into(),
            r.table.into(),
            r.kind.as_str().into(),
            r.file.into(),
            r.pos.into(),
            JsonB(r.data).into(),
            r.identity.map(JsonB).into(),
            r.query.into(),
            r.sqlstate.into(),
            r.reason.into(),
        ],
    )
    .map_err(catalogue("setting a row aside"))
}
