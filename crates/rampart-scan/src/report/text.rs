//! The human report: each finding with its evidence and reproduction, then
//! a summary table of checks and counts.

use std::fmt::Write as _;

use crate::Report;
use crate::exchange::Exchange;
use crate::finding::Check;

fn line(e: &Exchange) -> String {
    let who = match &e.auth {
        crate::exchange::Auth::None => "no credentials".to_string(),
        crate::exchange::Auth::Identity { name, .. } => format!("as {name}"),
        crate::exchange::Auth::Forged { .. } => "forged token".to_string(),
    };
    format!("{} {} ({who}) -> {}", e.method, e.url, e.status)
}

/// Render as text.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "rampart scan: {} at {}", report.api, report.target);
    if !report.allow_writes {
        let _ = writeln!(
            out,
            "(read-only scan: mass assignment, BOLA write and method override need --allow-writes)"
        );
    }
    if report.budget_spent {
        let _ = writeln!(
            out,
            "(the request budget ran out: later checks are incomplete; raise --max-requests)"
        );
    }
    let _ = writeln!(out);
    for (n, f) in report.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. [{}] {} {} — {}",
            n + 1,
            f.severity.as_str().to_ascii_uppercase(),
            f.owasp.code(),
            f.rule,
            f.title
        );
        let _ = writeln!(out, "   probe:   {}", line(&f.evidence.probe));
        let _ = writeln!(out, "   control: {}", line(&f.evidence.control));
        for s in &f.evidence.steps {
            let _ = writeln!(out, "   then:    {}", line(s));
        }
        if !f.evidence.fields.is_empty() {
            let _ = writeln!(out, "   fields:  {}", f.evidence.fields.join(", "));
        }
        let _ = writeln!(out, "   why:     {}", f.evidence.why);
        let _ = writeln!(out, "   repro:   {}", f.curl);
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{:<22} {:<10} {:>8}", "check", "owasp", "findings");
    let _ = writeln!(out, "{}", "-".repeat(42));
    for check in Check::ALL {
        let ran = report.checks_run.contains(&check);
        let count = report.findings.iter().filter(|f| f.check == check).count();
        let shown = if ran {
            count.to_string()
        } else {
            "not run".to_string()
        };
        let _ = writeln!(
            out,
            "{:<22} {:<10} {:>8}",
            check.id().trim_start_matches("scan."),
            check.owasp().code(),
            shown
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(42));
    let _ = writeln!(
        out,
        "{} finding{}, {} requests, {:.1}s",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        report.requests,
        report.elapsed_ms as f64 / 1000.0
    );
    out
}
