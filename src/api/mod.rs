//! The SQL API in schema `chameleon`: one module per concern.
//!
//! Signatures are frozen by the released scripts (sql/chameleon--1.2.sql, sql/chameleon--1.3.sql
//! and the generated 1.4 script): change behaviour freely, but a new argument or column is a new
//! version. No catalogue SQL here: src/catalog/ reads and writes sch_chameleon.

mod control;
pub(crate) mod sources;
mod status;
