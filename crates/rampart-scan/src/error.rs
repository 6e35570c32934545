//! Why a scan could not run (findings are not errors).

use std::path::PathBuf;

/// Errors that stop a scan before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The spec did not load.
    #[error("{path}: the spec does not load:\n{errors}")]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// What the contract crate reported (file, line, pointer, cause).
        errors: String,
    },
    /// An `--identity` argument is malformed.
    #[error("--identity {name}: {cause}")]
    Identity {
        /// The identity's name as given.
        name: String,
        /// What is wrong.
        cause: String,
    },
    /// A login recipe failed.
    #[error("identity {name}: login through {operation} failed: {cause}")]
    Login {
        /// The identity.
        name: String,
        /// The login operation.
        operation: String,
        /// What went wrong.
        cause: String,
    },
    /// The target URL is not usable.
    #[error("--target {0}: not an http or https URL")]
    Target(String),
    /// A `--seed-id` argument is malformed.
    #[error("--seed-id {0}: expected PARAM=VALUE")]
    Seed(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The canary listener for SSRF could not start.
    #[error("cannot start the SSRF canary listener on loopback: {0}")]
    Canary(std::io::Error),
    /// A report or patch could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A config to patch could not be read or merged.
    #[error("{path}: {cause}")]
    Patch {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: String,
    },
}
