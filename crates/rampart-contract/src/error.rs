//! Errors of loading and compiling a contract.
//!
//! Every error names the file it concerns, and where we know them the JSON
//! pointer inside the document and the line. `rampart check` prints them as
//! `file:line: cause` so an operator can jump straight to the problem.

use std::fmt;
use std::path::PathBuf;

/// One problem found while loading or compiling an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Line (1-based) when the parser reported one.
    pub line: Option<usize>,
    /// Column (1-based) when the parser reported one.
    pub column: Option<usize>,
    /// JSON pointer of the offending node, when known (e.g. `/paths/~1riders/get`).
    pub pointer: Option<String>,
    /// What is wrong.
    pub kind: ContractErrorKind,
}

/// The cause of a [`ContractError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The file is larger than the loader accepts.
    #[error("file is {size} bytes, over the {limit}-byte limit for OpenAPI documents")]
    TooLarge {
        /// Actual size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// YAML or JSON syntax error.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// The document is not OpenAPI 3.0 or 3.1.
    #[error("unsupported document: {0}")]
    Unsupported(String),
    /// A `$ref` whose target does not exist.
    #[error("broken $ref \"{reference}\": {reason}")]
    BrokenRef {
        /// The reference as written.
        reference: String,
        /// Why it cannot be resolved.
        reason: String,
    },
    /// A `$ref` to a remote URL: the loader never fetches over the network.
    #[error("remote $ref \"{0}\" is not allowed: bundle the document locally")]
    RemoteRef(String),
    /// A structural problem in the document (wrong type, missing field).
    #[error("{0}")]
    Invalid(String),
    /// A schema that the JSON Schema compiler rejected.
    #[error("invalid schema: {0}")]
    Schema(String),
    /// Two operations whose routes cannot be told apart.
    #[error("route conflict: {0}")]
    RouteConflict(String),
}

impl ContractError {
    /// An error about `file` with no position.
    pub fn new(file: impl Into<PathBuf>, kind: ContractErrorKind) -> Self {
        ContractError {
            file: file.into(),
            line: None,
            column: None,
            pointer: None,
            kind,
        }
    }

    /// The same error located at a JSON pointer.
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.kind)?;
        if let Some(p) = &self.pointer {
            write!(f, " (at {})", if p.is_empty() { "/" } else { p })?;
        }
        Ok(())
    }
}

impl std::error::Error for ContractError {}

/// All problems found in one load. A loader collects every error it can
/// instead of stopping at the first, so one `rampart check` run shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractErrors(pub Vec<ContractError>);

impl fmt::Display for ContractErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ContractErrors {}

impl From<ContractError> for ContractErrors {
    fn from(e: ContractError) -> Self {
        ContractErrors(vec![e])
    }
}
