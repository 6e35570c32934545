//! `rampart check` reports every problem with file, line and cause, and
//! `rampart config-schema` prints the published schema.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_CONFIG")
        .output()
        .expect("run rampart")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

const SPEC: &str = "openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    Thing: {type: object, properties: {id: {type: integer}}}
";

#[test]
fn a_valid_config_checks_ok() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "apis:\n  - name: things\n    spec: ./api.yaml\n    upstream: http://127.0.0.1:9\n",
    );
    let out = rampart(&["check", "--config", &cfg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok (1 API, 1 operations)"), "{stdout}");
}

#[test]
fn config_errors_name_file_line_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "listen: 127.0.0.1:8080\napis:\n  - name: things\n    spec: ./api.yaml\n    upstrem: http://127.0.0.1:9\n",
    );
    let out = rampart(&["check", "--config", &cfg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("rampart.yaml:5:"), "{stderr}");
    assert!(stderr.contains("upstrem"), "{stderr}");
}

#[test]
fn a_missing_spec_is_reported_at_the_config_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "apis:\n  - name: things\n    spec: ./nope.yaml\n    upstream: http://127.0.0.1:9\n",
    );
    let out = rampart(&["check", "--config", &cfg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("rampart.yaml:3:"), "{stderr}");
    assert!(stderr.contains("file not found"), "{stderr}");
}

#[test]
fn spec_errors_are_all_reported_with_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let broken = SPEC.replace("#/components/schemas/Thing", "#/components/schemas/Thingy")
        + "    Other: {$ref: './missing.yaml#/X'}\n";
    write(dir.path(), "api.yaml", &broken);
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "apis:\n  - name: things\n    spec: ./api.yaml\n    upstream: http://127.0.0.1:9\n    operations:\n      getThing: {mode: monitor}\n",
    );
    let out = rampart(&["check", "--config", &cfg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("broken $ref \"#/components/schemas/Thingy\": \"Thingy\" does not exist under /components/schemas"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(stderr.contains("2 errors"), "{stderr}");
}

#[test]
fn an_unknown_operation_override_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "apis:\n  - name: things\n    spec: ./api.yaml\n    upstream: http://127.0.0.1:9\n    operations:\n      getThnig: {mode: monitor}\n",
    );
    let out = rampart(&["check", "--config", &cfg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no operation \"getThnig\""), "{stderr}");
    assert!(stderr.contains("rampart.yaml:6"), "{stderr}");
}

#[test]
fn config_schema_is_the_published_one() {
    let out = rampart(&["config-schema"]);
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/config.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, published);
}

#[test]
fn api_key_hash_reads_stdin_and_prints_the_sha256() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["api-key", "hash"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"rk_test\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sha256:777cf8e9cb1c2ec1e749af726b07ef9d2391d25f63efb94e0110df191ac9ead9"
    );
}

#[test]
fn policy_schema_lists_the_specs_operations_as_actions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let cfg = write(
        dir.path(),
        "rampart.yaml",
        "apis:\n  - name: things\n    spec: ./api.yaml\n    upstream: http://127.0.0.1:9\n",
    );
    let out = rampart(&["policy-schema", "--config", &cfg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions = schema[""]["actions"].as_object().unwrap();
    assert!(actions.contains_key("getThing") && actions.contains_key("fullView"));
}

#[test]
fn an_expired_security_txt_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", SPEC);
    let base = "listen: 127.0.0.1:8080\napis:\n  - {name: t, spec: ./api.yaml, upstream: \"http://127.0.0.1:1\"}\n";
    let expired = write(
        dir.path(),
        "expired.yaml",
        &format!(
            "{base}disclosure:\n  security_txt:\n    contact: [\"mailto:sec@example.com\"]\n    expires: \"2020-01-01T00:00:00Z\"\n"
        ),
    );
    let out = rampart(&["check", "--config", &expired]);
    assert!(out.status.success(), "an expiry is a warning, not an error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: disclosure.security_txt"), "{err}");
    assert!(err.contains("expired"), "{err}");
    let fresh = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(100 * 86_400),
    );
    let valid = write(
        dir.path(),
        "valid.yaml",
        &format!(
            "{base}disclosure:\n  security_txt:\n    contact: [\"mailto:sec@example.com\"]\n    expires: \"{fresh}\"\n"
        ),
    );
    let out = rampart(&["check", "--config", &valid]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}
