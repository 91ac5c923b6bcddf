//! Typed errors with what PostgreSQL needs to report them well.

/// The SQLSTATE classes chameleon raises. The extension maps them to PostgreSQL codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// 22023 invalid_parameter_value
    InvalidParameterValue,
    /// 42704 undefined_object
    UndefinedObject,
    /// 42710 duplicate_object
    DuplicateObject,
    /// 55000 object_not_in_prerequisite_state
    ObjectNotInPrerequisiteState,
    /// 0A000 feature_not_supported
    FeatureNotSupported,
    /// 22004 null_value_not_allowed
    NullValueNotAllowed,
    /// 08001 sqlclient_unable_to_establish_sqlconnection
    ConnectionFailure,
    /// 28000 invalid_authorization_specification
    InvalidAuthorization,
    /// 42501 insufficient_privilege
    InsufficientPrivilege,
    /// 3D000 invalid_catalog_name (the MySQL database does not exist)
    InvalidCatalogName,
    /// 42P01 undefined_table
    UndefinedTable,
    /// 22P03 invalid_binary_representation (a binlog event that cannot be decoded)
    InvalidBinaryRepresentation,
    /// 53400 configuration_limit_exceeded
    ConfigurationLimitExceeded,
    /// 42601 syntax_error (a MySQL statement the parser does not read)
    SyntaxError,
    /// XX000 internal_error (the catalogue could not be read or written)
    Internal,
    /// a SQLSTATE PostgreSQL reported (an ERROR caught in the worker), kept as it was
    Reported([u8; 5]),
}

impl SqlState {
    pub fn code(&self) -> &str {
        match self {
            SqlState::InvalidParameterValue => "22023",
            SqlState::UndefinedObject => "42704",
            SqlState::DuplicateObject => "42710",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::NullValueNotAllowed => "22004",
            SqlState::ConnectionFailure => "08001",
            SqlState::InvalidAuthorization => "28000",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::InvalidCatalogName => "3D000",
            SqlState::UndefinedTable => "42P01",
            SqlState::ConfigurationLimitExceeded => "53400",
            SqlState::InvalidBinaryRepresentation => "22P03",
            SqlState::SyntaxError => "42601",
            SqlState::Internal => "XX000",
            SqlState::Reported(c) => std::str::from_utf8(c).unwrap_or("XX000"),
        }
    }
}

/// An error a DBA can act on: what happened, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Error {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(SqlState::InvalidParameterValue, message)
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// An error as it is stored (a schema change's event data) and read back by replay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredError {
    pub sqlstate: String,
    pub message: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
}

impl From<&Error> for StoredError {
    fn from(e: &Error) -> Self {
        StoredError {
            sqlstate: e.state.code().to_string(),
            message: e.message.clone(),
            detail: e.detail.clone(),
            hint: e.hint.clone(),
        }
    }
}

impl StoredError {
    /// The message with its detail, as show_errors and the log say it.
    pub fn reason(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} ({d})", self.message),
            None => self.message.clone(),
        }
    }
}

impl Error {
    /// The message with its detail, as show_status and the log say it.
    pub fn reason(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} ({d})", self.message),
            None => self.message.clone(),
        }
    }

    /// The reason and what to do about it: a stopped source's last_error, where the DBA reads
    /// it (no client sees the worker's error with its hint).
    pub fn report(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} Fix: {h}", self.reason()),
            None => self.reason(),
        }
    }
}
