//! Report formats: text for people, JSON for scripts, SARIF for code scanning.
//! All three list findings in the same sorted order.

pub mod json;
pub mod sarif;
pub mod text;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped by OWASP category and location; colored on a terminal.
    Text,
    /// One JSON document with every spec's findings and scores.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}
