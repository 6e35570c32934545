//! SARIF 2.1.0, shaped for GitHub code scanning: every rule with a
//! non-empty description and `security-severity`, relative artifact URIs,
//! 1-based line and column (columns in Unicode code points, declared with
//! `columnKind`), a stable fingerprint per rule and location, and
//! `x-rampart-ignore` suppressions as in-source suppressions.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::SpecReport;
use crate::catalog::{self, Severity};
use crate::finding::Finding;
use crate::locate::{display_path, uri_reference};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    column_kind: &'static str,
    artifacts: Vec<Artifact>,
    results: Vec<ResultItem>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Descriptor>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    precision: &'static str,
}

#[derive(Serialize)]
struct Artifact {
    location: ArtifactLocation,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultItem {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
struct ResultProperties {
    owasp: &'static str,
    severity: &'static str,
}

/// The SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// `audit.auth.http-basic` -> `AuthHttpBasic`.
fn pascal(id: &str) -> String {
    id.trim_start_matches("audit.")
        .split(['.', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn descriptor(r: &catalog::AuditRule) -> Descriptor {
    let category = format!("{} {}", r.owasp(), catalog::category_name(r.owasp()));
    Descriptor {
        id: r.id(),
        name: pascal(r.id()),
        short_description: Text {
            text: r.rule.title.to_string(),
        },
        full_description: Text {
            text: r.rationale.to_string(),
        },
        help: Help {
            text: format!("{}\n\nFix: {}", r.rationale, r.fix),
            markdown: format!(
                "**{category}**\n\n{}\n\nExample:\n\n```yaml\n{}\n```\n\n**Fix:** {}",
                r.rationale, r.example, r.fix
            ),
        },
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: RuleProperties {
            tags: vec![
                "security".into(),
                "openapi".into(),
                format!("owasp-{}", r.owasp().to_ascii_lowercase()),
            ],
            security_severity: r.severity.security_severity(),
            precision: "medium",
        },
    }
}

/// Render one SARIF log with one run covering every spec.
pub fn render(reports: &[SpecReport]) -> String {
    let mut artifacts: Vec<String> = Vec::new();
    let mut artifact = |uri: String| -> usize {
        match artifacts.iter().position(|a| *a == uri) {
            Some(i) => i,
            None => {
                artifacts.push(uri);
                artifacts.len() - 1
            }
        }
    };
    let mut results = Vec::new();
    for spec in reports {
        let root = uri_reference(&display_path(&spec.path));
        let all = spec
            .findings
            .iter()
            .chain(&spec.suppressed)
            .collect::<Vec<&Finding>>();
        for f in all {
            let (uri, region, logical) = match &f.location {
                Some(l) => (
                    uri_reference(&display_path(&l.file)),
                    Some(Region {
                        start_line: l.line,
                        start_column: l.column,
                    }),
                    l.pointer.clone(),
                ),
                None => (root.clone(), None, f.pointer.clone()),
            };
            let index = artifact(uri.clone());
            let rule_index = catalog::ALL
                .iter()
                .position(|r| r.id() == f.rule.id())
                .unwrap_or_default();
            results.push(ResultItem {
                rule_id: f.rule.id(),
                rule_index,
                level: level(f.severity),
                message: Text {
                    text: f.message.clone(),
                },
                locations: vec![Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation {
                            uri: uri.clone(),
                            index: Some(index),
                        },
                        region,
                    },
                    logical_locations: vec![LogicalLocation {
                        fully_qualified_name: logical,
                        kind: "object",
                    }],
                }],
                partial_fingerprints: BTreeMap::from([(
                    "rampartLocation/v1",
                    format!("{}:{uri}#{}", f.rule.id(), f.pointer),
                )]),
                suppressions: f
                    .suppressed
                    .as_ref()
                    .map(|reason| {
                        vec![Suppression {
                            kind: "inSource",
                            justification: if reason.is_empty() {
                                "x-rampart-ignore".into()
                            } else {
                                reason.clone()
                            },
                        }]
                    })
                    .unwrap_or_default(),
                properties: ResultProperties {
                    owasp: f.rule.owasp(),
                    severity: f.severity.as_str(),
                },
            });
        }
    }
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "rampart",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://github.com/rampart-security/rampart",
                    rules: catalog::ALL.iter().map(descriptor).collect(),
                },
            },
            column_kind: "unicodeCodePoints",
            artifacts: artifacts
                .into_iter()
                .map(|uri| Artifact {
                    location: ArtifactLocation { uri, index: None },
                })
                .collect(),
            results,
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(super::pascal("audit.auth.http-basic"), "AuthHttpBasic");
    }
}
