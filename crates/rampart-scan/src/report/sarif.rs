//! SARIF 2.1.0. Results have no source file (the scanner tests a running
//! API), so each carries a logical location: the operation or path. Built
//! with serde_json against the published schema, which a test validates.

use serde_json::{Value, json};

use crate::Report;
use crate::finding::{Check, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The SARIF log of a report.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = Check::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.title(),
                "shortDescription": {"text": c.title()},
                "properties": {"tags": ["security", c.owasp().code()]},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = Check::ALL.iter().position(|c| *c == f.check).unwrap_or(0);
            json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.title, f.evidence.why)},
                "locations": [{
                    "logicalLocations": [{"name": f.target, "kind": "function"}],
                }],
                "properties": {
                    "owasp": f.owasp.code(),
                    "severity": f.severity.as_str(),
                    "fields": f.evidence.fields,
                    "probe": {"method": f.evidence.probe.method, "url": f.evidence.probe.url, "status": f.evidence.probe.status},
                    "control": {"method": f.evidence.control.method, "url": f.evidence.control.url, "status": f.evidence.control.status},
                    "curl": f.curl,
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rampart-scan",
                "informationUri": "https://github.com/rampart-security/rampart",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "properties": {"target": report.target, "requests": report.requests},
            "results": results,
        }],
    })
}
