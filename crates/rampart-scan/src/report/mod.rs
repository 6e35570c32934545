//! Report formats: text (with a summary table), JSON, SARIF 2.1.0 and
//! JUnit XML. Each renders the same sorted findings, so the formats agree.

mod junit;
mod sarif;
mod text;

use crate::Report;

pub use junit::junit;
pub use sarif::sarif;
pub use text::text;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings with evidence and a summary table.
    Text,
    /// The whole report as JSON.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML: one test case per check and operation, failures for findings.
    Junit,
}

/// Render a report.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Sarif => serde_json::to_string_pretty(&sarif(report)).unwrap_or_default(),
        Format::Junit => junit(report),
    }
}
