//! The crate's one error type.

use std::path::PathBuf;

use crate::state::State;

/// What can go wrong tracking, validating or patching a disclosure.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database was written by a newer Rampart.
    #[error("the disclosure schema is at version {found}; this Rampart supports up to {supported}")]
    SchemaTooNew {
        /// Version found.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The PostgreSQL schema name is not a plain identifier.
    #[error("invalid PostgreSQL schema name `{0}`")]
    InvalidSchema(String),
    /// The PostgreSQL URL's environment variable is not set.
    #[error("environment variable {0} (the PostgreSQL URL) is not set")]
    MissingUrl(String),
    /// No report has this id.
    #[error("no report #{0}")]
    NotFound(i64),
    /// The transition is not allowed from the report's state.
    #[error("report #{id} is {from}: it cannot be {action} (allowed from {allowed})")]
    IllegalTransition {
        /// The report.
        id: i64,
        /// Its current state.
        from: State,
        /// What was attempted (`triaged`, `verified`, ...).
        action: &'static str,
        /// States the action is allowed from.
        allowed: String,
    },
    /// The action's data is not acceptable (unknown operation, failed
    /// evidence, ...).
    #[error("{0}")]
    Invalid(String),
    /// Another change to the report won the race; re-read and retry.
    #[error("report #{0} changed concurrently; retry")]
    Conflict(i64),
    /// The open-report cap is reached.
    #[error("too many open reports ({0}); new reports are refused until some are closed")]
    Full(u64),
    /// A stored row does not decode (written by hand or corrupted).
    #[error("report #{id}: stored {field} does not decode: {reason}")]
    Corrupt {
        /// The report.
        id: i64,
        /// The column.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A virtual patch or the configuration does not validate.
    #[error("{0}")]
    Patch(String),
    /// The configuration does not load.
    #[error("{0}")]
    Config(String),
    /// The webhook could not be set up.
    #[error("webhook: {0}")]
    Webhook(String),
}

impl DisclosureError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DisclosureError::Io {
            path: path.into(),
            source,
        }
    }
}
