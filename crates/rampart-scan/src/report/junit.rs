//! JUnit XML: one suite per check family; one test case per finding
//! (failed), and one passing case for a family that ran and found nothing.
//! CI systems show the failures without knowing anything about the scanner.

use std::fmt::Write as _;

use crate::Report;
use crate::finding::Check;

/// Escape text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// Render as JUnit XML.
pub fn junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = report.findings.len();
    let tests: usize = Check::ALL
        .iter()
        .filter(|c| report.checks_run.contains(c))
        .map(|c| {
            report
                .findings
                .iter()
                .filter(|f| f.check == *c)
                .count()
                .max(1)
        })
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"rampart-scan\" tests=\"{tests}\" failures=\"{total}\" time=\"{:.3}\">",
        report.elapsed_ms as f64 / 1000.0
    );
    for check in Check::ALL.iter().filter(|c| report.checks_run.contains(c)) {
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.check == *check)
            .collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            check.id(),
            found.len().max(1),
            found.len()
        );
        if found.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"no findings\"/>",
                check.id()
            );
        }
        for f in found {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">",
                check.id(),
                escape(&format!("{}: {}", f.target, f.title))
            );
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(&f.title),
                f.owasp.code(),
                escape(&format!(
                    "{}\nprobe: {} {} -> {}\ncontrol: {} {} -> {}\nfields: {}\nrepro: {}",
                    f.evidence.why,
                    f.evidence.probe.method,
                    f.evidence.probe.url,
                    f.evidence.probe.status,
                    f.evidence.control.method,
                    f.evidence.control.url,
                    f.evidence.control.status,
                    f.evidence.fields.join(", "),
                    f.curl
                ))
            );
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}
