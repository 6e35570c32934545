//! `rampart audit`: formats, CI gates and exit codes, rule config,
//! suppressions and `--explain`, through the real binary.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn rampart(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("audit")
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("run rampart")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One unauthenticated DELETE on an integer id (high), an email returned without annotation (high).
const SPEC: &str = "openapi: 3.1.0
info: {title: riders, version: '1'}
servers: [{url: 'https://api.example.com', description: production, x-internal: false}]
paths:
  /riders/{id}:
    get:
      operationId: getRider
      security: [{bearer: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Rider'}
    delete:
      operationId: deleteRider
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
      responses: {'204': {description: gone}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Rider:
      type: object
      properties:
        email: {type: string, format: email, maxLength: 254}
";

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap()
}

fn rules(v: &Value, key: &str) -> Vec<String> {
    v["specs"][0][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn json_report_has_rules_positions_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let out = rampart(dir.path(), &["--format", "json", "api.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let spec = &v["specs"][0];
    assert_eq!(spec["file"], "api.yaml");
    let write = spec["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "audit.auth.write-unprotected")
        .unwrap();
    assert_eq!(write["pointer"], "/paths/~1riders~1{id}/delete");
    assert_eq!(
        (write["line"].as_u64(), write["column"].as_u64()),
        (Some(17), Some(5))
    );
    assert_eq!(write["owasp"], "API2:2023");
    assert_eq!(write["severity"], "high");
    let pii = spec["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "audit.pii.unannotated-response")
        .unwrap();
    assert_eq!(pii["pointer"], "/components/schemas/Rider/properties/email");
    assert_eq!(pii["line"], 29);
    let overall = spec["score"]["overall"].as_u64().unwrap();
    assert!(overall < 100 && overall > 50, "{overall}");
    // Deterministic: the same input gives the same bytes.
    assert_eq!(
        stdout(&out),
        stdout(&rampart(dir.path(), &["--format", "json", "api.yaml"]))
    );
}

#[test]
fn gates_set_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let high = rampart(dir.path(), &["--fail-on", "high", "api.yaml"]);
    assert_eq!(high.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&high.stderr).contains("--fail-on"));
    assert_eq!(
        rampart(dir.path(), &["--fail-on", "critical", "api.yaml"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        rampart(dir.path(), &["--fail-below", "100", "api.yaml"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        rampart(dir.path(), &["--fail-below", "0", "api.yaml"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        rampart(dir.path(), &["--fail-below", "101", "api.yaml"])
            .status
            .code(),
        Some(2)
    );
    let missing = rampart(dir.path(), &["api.yaml", "nope.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stdout(&missing).contains("api.yaml"),
        "the loadable spec is still reported"
    );
}

#[test]
fn rule_config_disables_and_regrades() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    write(
        dir.path(),
        "rules.yaml",
        "rules:\n  audit.auth.write-unprotected: off\n  audit.pii.unannotated-response: critical\n",
    );
    let out = rampart(
        dir.path(),
        &["--format", "json", "--rules", "rules.yaml", "api.yaml"],
    );
    let v = json(&out);
    let found = rules(&v, "findings");
    assert!(!found.contains(&"audit.auth.write-unprotected".to_string()));
    let pii = v["specs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "audit.pii.unannotated-response")
        .unwrap();
    assert_eq!(pii["severity"], "critical");
    write(
        dir.path(),
        "bad.yaml",
        "rules:\n  audit.no-such-rule: off\n",
    );
    let bad = rampart(dir.path(), &["--rules", "bad.yaml", "api.yaml"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("audit.no-such-rule"));
}

#[test]
fn x_rampart_ignore_suppresses_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SPEC.replace(
        "      operationId: deleteRider\n",
        "      operationId: deleteRider\n      x-rampart-ignore: {audit.auth.write-unprotected: behind the VPN}\n",
    );
    write(dir.path(), "api.yaml", &spec);
    let v = json(&rampart(dir.path(), &["--format", "json", "api.yaml"]));
    assert!(!rules(&v, "findings").contains(&"audit.auth.write-unprotected".to_string()));
    let s = &v["specs"][0]["suppressed"][0];
    assert_eq!(s["rule"], "audit.auth.write-unprotected");
    assert_eq!(s["reason"], "behind the VPN");
    // Suppressed findings do not trip the gates.
    let only = rampart(
        dir.path(),
        &["--fail-on", "high", "--rules", "/dev/null", "api.yaml"],
    );
    assert_eq!(only.status.code(), Some(1), "the PII finding is still high");
}

#[test]
fn text_is_grouped_and_colored_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let plain = stdout(&rampart(dir.path(), &["api.yaml"]));
    assert!(
        !plain.contains('\u{1b}'),
        "no escapes when stdout is not a terminal"
    );
    let api2 = plain.find("API2:2023 Broken Authentication").unwrap();
    let api3 = plain
        .find("API3:2023 Broken Object Property Level Authorization")
        .unwrap();
    assert!(api2 < api3, "{plain}");
    assert!(plain.contains("api.yaml:17:5"), "{plain}");
    let colored = stdout(&rampart(dir.path(), &["--color", "always", "api.yaml"]));
    assert!(colored.contains('\u{1b}'));
}

#[test]
fn explain_and_list_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = rampart(dir.path(), &["--explain", "audit.pii.unannotated-response"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("Peloton") && text.contains("Fix") && text.contains("Example"),
        "{text}"
    );
    let spectral = stdout(&rampart(
        dir.path(),
        &["--explain", "owasp:api4:2023-string-limit"],
    ));
    assert!(
        spectral.starts_with("audit.limit.string-max-length"),
        "{spectral}"
    );
    assert_eq!(
        rampart(dir.path(), &["--explain", "nope"]).status.code(),
        Some(2)
    );
    let list = stdout(&rampart(dir.path(), &["--list-rules"]));
    assert!(list.lines().count() >= 36, "{list}");
}

#[test]
fn sarif_uses_relative_uris() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    write(dir.path(), "specs/api.yaml", SPEC);
    let out = rampart(
        dir.path(),
        &["--format", "sarif", "-o", "out.sarif", "specs/api.yaml"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(v["version"], "2.1.0");
    let uri =
        &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "specs/api.yaml");
}
