//! Raising chameleon-core errors as PostgreSQL errors (SQLSTATE, message, detail, hint).

use chameleon_core::{Error, SqlState};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

fn code(state: SqlState) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    match state {
        SqlState::Reported(c) => PgSqlErrorCode::from(pack(c)),
        SqlState::Internal => ERRCODE_INTERNAL_ERROR,
        SqlState::InvalidParameterValue => ERRCODE_INVALID_PARAMETER_VALUE,
        SqlState::UndefinedObject => ERRCODE_UNDEFINED_OBJECT,
        SqlState::DuplicateObject => ERRCODE_DUPLICATE_OBJECT,
        SqlState::ObjectNotInPrerequisiteState => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        SqlState::FeatureNotSupported => ERRCODE_FEATURE_NOT_SUPPORTED,
        SqlState::NullValueNotAllowed => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        SqlState::ConnectionFailure => ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        SqlState::InvalidAuthorization => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::InsufficientPrivilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        SqlState::InvalidCatalogName => ERRCODE_INVALID_CATALOG_NAME,
        SqlState::UndefinedTable => ERRCODE_UNDEFINED_TABLE,
        SqlState::ConfigurationLimitExceeded => ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
        SqlState::InvalidBinaryRepresentation => ERRCODE_INVALID_BINARY_REPRESENTATION,
        SqlState::SyntaxError => ERRCODE_SYNTAX_ERROR,
    }
}

/// PostgreSQL packs a SQLSTATE's five characters six bits each (MAKE_SQLSTATE).
fn pack(c: [u8; 5]) -> i32 {
    c.iter()
        .rev()
        .fold(0i32, |v, ch| (v << 6) | i32::from(ch.wrapping_sub(b'0') & 0x3F))
}

/// The five characters of a packed SQLSTATE.
pub fn sqlstate(code: PgSqlErrorCode) -> [u8; 5] {
    let mut v = code as i32;
    let mut out = [b'0'; 5];
    for ch in &mut out {
        *ch = (v & 0x3F) as u8 + b'0';
        v >>= 6;
    }
    out
}

/// An ERROR caught in the worker (raised by PostgreSQL, by chameleon, or a panic), as a
/// chameleon error that keeps its SQLSTATE and detail.
pub fn from_caught(c: &pgrx::pg_sys::panic::CaughtError) -> Error {
    use pgrx::pg_sys::panic::CaughtError;
    let r = match c {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r,
        CaughtError::RustPanic { ereport, .. } => ereport,
    };
    let mut e = Error::new(SqlState::Reported(sqlstate(r.sql_error_code())), r.message());
    e.detail = r.detail().map(str::to_string);
    e.hint = r.hint().map(str::to_string);
    e
}

/// A catalogue call that failed: an internal error that says what it was doing.
pub fn catalogue(what: &str) -> impl FnOnce(pgrx::spi::SpiError) -> Error + '_ {
    move |e| {
        Error::new(SqlState::Internal, format!("chameleon catalogue: {what} failed"))
            .detail(e.to_string())
    }
}

/// Raises `e` as an ERROR; the current transaction is aborted, so nothing is half-done.
#[track_caller]
pub fn raise(e: Error) -> ! {
    let mut report = ErrorReport::new(code(e.state), e.message, "chameleon");
    if let Some(d) = e.detail {
        report = report.set_detail(d);
    }
    if let Some(h) = e.hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

pub trait OrRaise<T> {
    #[track_caller]
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Error> {
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}

/// SPI failures are internal errors: report them with the statement's purpose.
impl<T> OrRaise<T> for Result<T, pgrx::spi::SpiError> {
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("chameleon catalogue access failed: {e}");
                ErrorReport::new(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, msg, "chameleon")
                    .report(PgLogLevel::ERROR);
                unreachable!("ERROR does not return")
            }
        }
    }
}

pub fn notice(msg: &str) {
    ereport!(
        PgLogLevel::NOTICE,
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        msg.to_string()
    );
}
