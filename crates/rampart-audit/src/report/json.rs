//! The JSON report: a stable, typed shape for scripts and dashboards.

use serde::Serialize;

use crate::SpecReport;
use crate::finding::Finding;
use crate::locate::display_path;
use crate::score::Score;

#[derive(Serialize)]
struct Report<'a> {
    tool: &'static str,
    version: &'static str,
    specs: Vec<Spec<'a>>,
}

#[derive(Serialize)]
struct Spec<'a> {
    file: String,
    title: &'a str,
    version: &'a str,
    openapi: &'a str,
    operations: usize,
    score: &'a Score,
    findings: Vec<Item<'a>>,
    suppressed: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Item<'a> {
    rule: &'static str,
    owasp: &'static str,
    severity: &'static str,
    message: &'a str,
    /// Pointer in the bundled document.
    pointer: &'a str,
    file: Option<String>,
    /// Pointer inside `file` (differs from `pointer` for referenced files).
    file_pointer: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    fix: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn item(f: &Finding) -> Item<'_> {
    Item {
        rule: f.rule.id(),
        owasp: f.rule.owasp(),
        severity: f.severity.as_str(),
        message: &f.message,
        pointer: &f.pointer,
        file: f.location.as_ref().map(|l| display_path(&l.file)),
        file_pointer: f.location.as_ref().map(|l| l.pointer.as_str()),
        line: f.location.as_ref().map(|l| l.line),
        column: f.location.as_ref().map(|l| l.column),
        fix: f.rule.fix,
        reason: f.suppressed.as_deref(),
    }
}

/// Render the JSON report.
pub fn render(reports: &[SpecReport]) -> String {
    let r = Report {
        tool: "rampart",
        version: env!("CARGO_PKG_VERSION"),
        specs: reports
            .iter()
            .map(|s| Spec {
                file: display_path(&s.path),
                title: &s.title,
                version: &s.version,
                openapi: &s.openapi,
                operations: s.operations,
                score: &s.score,
                findings: s.findings.iter().map(item).collect(),
                suppressed: s.suppressed.iter().map(item).collect(),
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&r).unwrap_or_default();
    out.push('\n');
    out
}
