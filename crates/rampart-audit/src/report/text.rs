//! The text report: grouped by OWASP category, then by location, with the
//! fix for each rule once per category. Styling is ANSI; the CLI writes it
//! through `anstream`, which strips it when stdout is not a terminal (or
//! `--color never`, `NO_COLOR`).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::SpecReport;
use crate::catalog::{self, CATEGORIES, Severity};
use crate::finding::Finding;
use crate::locate::display_path;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn severity_style(s: Severity) -> Style {
    let c = match s {
        Severity::Critical => AnsiColor::Magenta,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::White,
    };
    let st = Style::new().fg_color(Some(c.into()));
    if s >= Severity::High { st.bold() } else { st }
}

fn score_style(score: u8) -> Style {
    let c = match score {
        90..=100 => AnsiColor::Green,
        60..=89 => AnsiColor::Yellow,
        _ => AnsiColor::Red,
    };
    Style::new().fg_color(Some(c.into())).bold()
}

fn where_(f: &Finding) -> String {
    match &f.location {
        Some(l) => format!("{}:{}:{}", display_path(&l.file), l.line, l.column),
        None => "(no position)".into(),
    }
}

/// Render the text report (with ANSI styling).
pub fn render(reports: &[SpecReport]) -> String {
    let mut out = String::new();
    for (i, spec) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        spec_report(&mut out, spec);
    }
    out
}

fn spec_report(out: &mut String, spec: &SpecReport) {
    let _ = writeln!(
        out,
        "{BOLD}{}{BOLD:#}  {} {} · OpenAPI {} · {} operations",
        display_path(&spec.path),
        spec.title,
        spec.version,
        spec.openapi,
        spec.operations
    );
    let s = score_style(spec.score.overall);
    let _ = write!(out, "score {s}{}/100{s:#}  ", spec.score.overall);
    let cats: Vec<String> = spec
        .score
        .categories
        .iter()
        .map(|c| {
            let st = score_style(c.score);
            format!("{} {st}{}{st:#}", c.id.trim_end_matches(":2023"), c.score)
        })
        .collect();
    let _ = writeln!(out, "{}", cats.join(" · "));
    for (id, name) in CATEGORIES {
        let in_cat: Vec<&Finding> = spec
            .findings
            .iter()
            .filter(|f| f.rule.owasp() == *id)
            .collect();
        if in_cat.is_empty() {
            continue;
        }
        let score = spec
            .score
            .categories
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.score);
        let _ = writeln!(
            out,
            "\n{BOLD}{id} {name}{BOLD:#}  {DIM}score {}, {} finding{}{DIM:#}",
            score.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            in_cat.len(),
            if in_cat.len() == 1 { "" } else { "s" }
        );
        let mut last = String::new();
        for f in &in_cat {
            let w = where_(f);
            if w != last {
                let ptr = f
                    .location
                    .as_ref()
                    .map(|l| l.pointer.as_str())
                    .unwrap_or(&f.pointer);
                let _ = writeln!(out, "  {w}  {DIM}{ptr}{DIM:#}");
                last = w;
            }
            let st = severity_style(f.severity);
            let _ = writeln!(
                out,
                "    {st}{:<8}{st:#} {} {DIM}{}{DIM:#}",
                f.severity.as_str(),
                f.message,
                f.rule.id()
            );
        }
        let mut rules: Vec<&'static str> = in_cat.iter().map(|f| f.rule.id()).collect();
        rules.dedup();
        rules.sort_unstable();
        rules.dedup();
        let _ = writeln!(out, "  {BOLD}fix{BOLD:#}");
        for id in rules {
            if let Some(r) = catalog::lookup(id) {
                let _ = writeln!(out, "    {DIM}{id}{DIM:#}  {}", r.fix);
            }
        }
    }
    let count = |s: Severity| spec.findings.iter().filter(|f| f.severity == s).count();
    let parts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .filter(|s| count(*s) > 0)
    .map(|s| format!("{} {}", count(s), s.as_str()))
    .collect();
    let _ = writeln!(
        out,
        "\n{BOLD}{} finding{}{BOLD:#}{}{}",
        spec.findings.len(),
        if spec.findings.len() == 1 { "" } else { "s" },
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        },
        if spec.suppressed.is_empty() {
            String::new()
        } else {
            format!(", {} suppressed by x-rampart-ignore", spec.suppressed.len())
        }
    );
}
