//! What each mistake reports: file, line, column and cause, one line each.

use std::path::Path;

use super::{FILE, load_errors, single_error};
use crate::load_str;

/// A valid `apis` section, to which each test adds one mistake.
const API: &str = "apis: [{name: a, spec: a.yaml, upstream: \"http://127.0.0.1:1\"}]\n";

#[test]
fn an_unknown_field_names_the_field_its_line_and_the_likely_fix() {
    let text = "\
apis:
  - name: riders
    spec: riders.yaml
    upstrem: http://127.0.0.1:3000
";
    let errors = load_str(text, Path::new(FILE)).expect_err("unknown field");
    assert_eq!(
        errors.to_string(),
        "/etc/rampart/rampart.yaml:4:5: unknown field `upstrem`, expected one of \
         name, spec, upstream, base_path, mode, operations, max_concurrent_requests (did you mean `upstream`?)"
    );
}

#[test]
fn an_unknown_top_level_section() {
    let text = format!("{API}admni:\n  listen: 127.0.0.1:9090\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(2), Some(1)));
    assert!(
        message.starts_with("unknown field `admni`, expected one of listen, tls, mode, apis,"),
        "{message}"
    );
}

#[test]
fn a_wrong_type() {
    let text = format!("{API}limits:\n  max_headers: lots\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(3), Some(16)));
    assert_eq!(
        message,
        "limits.max_headers: invalid value, expected a non-negative whole number"
    );
}

#[test]
fn a_negative_limit() {
    let text = format!("{API}limits:\n  max_request_body_bytes: -1\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(3), Some(27)));
    assert_eq!(
        message,
        "limits.max_request_body_bytes: invalid value, expected a non-negative whole number"
    );
}

#[test]
fn a_listen_address_that_is_not_ip_and_port() {
    let text = format!("listen: localhost:8080\n{API}");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(1), Some(9)));
    assert!(message.starts_with("listen: "), "{message}");
    assert!(message.contains("socket address"), "{message}");
}

#[test]
fn an_unknown_mode() {
    let text = format!("{API}mode: block\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(2), Some(7)));
    assert_eq!(
        message,
        "mode: unknown value `block`, expected one of enforce, monitor, off"
    );
}

#[test]
fn a_misspelled_enum_value_gets_a_suggestion() {
    let text = format!("{API}contract:\n  undeclared_headers: alow\n");
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(3));
    assert_eq!(
        message,
        "contract.undeclared_headers: unknown value `alow`, expected one of reject, allow \
         (did you mean `allow`?)"
    );
}

#[test]
fn yaml_syntax_errors() {
    let cases = [
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: \"http://h\nlimits: {}\n",
            (4, 15),
            "unclosed quote",
        ),
        (
            "apis:\n  - name: a\n   spec: a.yaml\n",
            (3, 4),
            "while parsing a block collection, did not find expected '-' indicator",
        ),
        (
            "apis:\n\t- name: a\n",
            (2, 2),
            "tabs disallowed within this context (block indentation)",
        ),
    ];
    for (text, (line, column), message) in cases {
        assert_eq!(
            single_error(text),
            (Some(line), Some(column), message.to_owned()),
            "for:\n{text}"
        );
    }
}

/// A syntax error is reported as such, not as the structural symptom
/// ("missing field `spec`") a streaming deserializer would see first.
#[test]
fn a_syntax_error_wins_over_its_symptoms() {
    let text = "apis:\n  - name: a\n   spec: a.yaml\n   upstream: http://h\n";
    let (line, _, message) = single_error(text);
    assert_eq!(line, Some(3));
    assert!(message.contains("did not find expected '-'"), "{message}");
}

#[test]
fn a_missing_required_field() {
    let text = "apis:\n  - name: a\n    spec: a.yaml\n";
    let (line, _, message) = single_error(text);
    assert_eq!(line, Some(2));
    assert_eq!(message, "apis[0]: missing field `upstream`");
}

#[test]
fn a_missing_apis_section() {
    let (line, column, message) = single_error("mode: off\nlisten: 127.0.0.1:8080\n");
    assert_eq!((line, column), (Some(1), Some(1)));
    assert_eq!(message, "missing field `apis`");
}

#[test]
fn tls_needs_both_cert_and_key() {
    let text = format!("{API}tls:\n  cert: cert.pem\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(2), Some(1)));
    assert_eq!(message, "tls: missing field `key`");
}

#[test]
fn a_duplicate_key() {
    let text = format!("{API}mode: off\nmode: monitor\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(3), Some(1)));
    assert_eq!(message, "duplicate key `mode`");
}

#[test]
fn an_unknown_tag() {
    let text = "apis: [{name: a, spec: !env SPEC, upstream: \"http://h\"}]\n";
    let (line, _, message) = single_error(text);
    assert_eq!(line, Some(1));
    assert!(message.contains("!env"), "{message}");
}

#[test]
fn an_empty_file() {
    for text in ["", "\n  \n", "# nothing yet\n"] {
        let errors = load_str(text, Path::new(FILE)).expect_err("empty");
        assert_eq!(
            errors.to_string(),
            "/etc/rampart/rampart.yaml: the file is empty; at least `apis` is required"
        );
    }
}

#[test]
fn a_document_that_is_not_a_mapping() {
    let (line, _, message) = single_error("- apis\n");
    assert_eq!(line, Some(1));
    assert_eq!(message, "expected a mapping (`key: value` entries)");
}

#[test]
fn an_empty_security_log_path() {
    let text = format!("{API}log:\n  security: ''\n");
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(3));
    assert!(message.starts_with("log.security: "), "{message}");
    assert!(
        message.contains("`stdout`, `stderr` or a file path"),
        "{message}"
    );
}

/// Each semantic mistake, alone in an otherwise valid file: `(text, line,
/// column, message)`.
#[test]
fn each_semantic_error_is_located() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("apis: []\n", 1, 1, "apis: at least one API is required"),
        (
            "apis:\n  - {name: Riders, spec: a.yaml, upstream: \"http://h\"}\n",
            2,
            12,
            "apis[0].name: invalid API name `Riders`: use 1 to 64 characters from a-z, 0-9, `_` and `-`",
        ),
        (
            "apis:\n  - name: a\n    spec: \"\"\n    upstream: http://h\n",
            3,
            11,
            "apis[0].spec: must be the path of an OpenAPI document",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: ftp://files.internal\n",
            4,
            15,
            "apis[0].upstream: invalid upstream URL `ftp://files.internal`: scheme `ftp` is not supported, use http or https",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://bob:secret@h\n",
            4,
            15,
            "apis[0].upstream: invalid upstream URL `http://bob:secret@h`: user info (`user:password@`) is not allowed; credentials do not belong in the config",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://h/?x=1\n",
            4,
            15,
            "apis[0].upstream: invalid upstream URL `http://h/?x=1`: a query (`?...`) is not allowed",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: \"http://h/#x\"\n",
            4,
            15,
            "apis[0].upstream: invalid upstream URL `http://h/#x`: a fragment (`#...`) is not allowed",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: 127.0.0.1:3000\n",
            4,
            15,
            "apis[0].upstream: invalid upstream URL `127.0.0.1:3000`: the scheme is missing, use http:// or https://",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://h\n    base_path: /api/\n",
            5,
            16,
            "apis[0].base_path: invalid base path `/api/`: must not end with `/`",
        ),
        (
            "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://h\n    base_path: api\n",
            5,
            16,
            "apis[0].base_path: invalid base path `api`: must start with `/`",
        ),
        (
            "apis:\n  - {name: a, spec: a.yaml, upstream: \"http://h\"}\n  - {name: a, spec: b.yaml, upstream: \"http://h\"}\n",
            3,
            12,
            "apis[1].name: duplicate API name `a`, already used by apis[0] at line 2",
        ),
        (
            "tls:\n  cert: \"\"\n  key: key.pem\napis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\n",
            2,
            9,
            "tls.cert: must be the path of a PEM certificate file",
        ),
        (
            "tls: {cert: cert.pem, key: ''}\napis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\n",
            1,
            28,
            "tls.key: must be the path of a PEM private key file",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\nlimits:\n  max_request_body_bytes: 0\n",
            3,
            27,
            "limits.max_request_body_bytes: must be greater than 0 (there is no unlimited)",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\nlimits:\n  upstream_timeout_ms: 0\n",
            3,
            24,
            "limits.upstream_timeout_ms: must be greater than 0 (there is no unlimited)",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\nlimits:\n  max_header_list_bytes: 4096\n",
            3,
            26,
            "limits.max_header_list_bytes: must be at least 8192 (the HTTP server's smallest read buffer), got 4096",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\nlimits:\n  max_json_depth: 5000\n",
            3,
            19,
            "limits.max_json_depth: must be at most 1024, got 5000",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\ncontract:\n  allowed_headers:\n    - x-ok\n    - \"x bad\"\n",
            5,
            7,
            "contract.allowed_headers[1]: invalid header name `x bad`: use letters, digits and !#$%&'*+-.^_`|~",
        ),
        (
            "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\nlog:\n  level: \"\"\n",
            3,
            10,
            "log.level: must be a log filter such as `info` or `info,rampart_gateway=debug`",
        ),
    ];
    for (text, line, column, message) in cases {
        let (got_line, got_column, got_message) = single_error(text);
        assert_eq!(
            (got_line, got_column, got_message.as_str()),
            (Some(*line), Some(*column), *message),
            "for:\n{text}"
        );
    }
}

#[test]
fn all_semantic_errors_are_reported_at_once_in_file_order() {
    let text = "\
tls: {cert: '', key: key.pem}
apis:
  - name: Riders
    spec: riders.yaml
    upstream: ftp://riders
  - name: Riders
    spec: ''
    upstream: http://ok
    base_path: v1/
limits:
  max_headers: 0
  max_json_depth: 2000
contract:
  allowed_headers: [x-ok, 'bad header']
";
    let errors = load_errors(text);
    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let f = FILE;
    assert_eq!(
        got,
        vec![
            format!("{f}:1:13: tls.cert: must be the path of a PEM certificate file"),
            format!(
                "{f}:3:11: apis[0].name: invalid API name `Riders`: use 1 to 64 characters from a-z, 0-9, `_` and `-`"
            ),
            format!(
                "{f}:5:15: apis[0].upstream: invalid upstream URL `ftp://riders`: scheme `ftp` is not supported, use http or https"
            ),
            format!(
                "{f}:6:11: apis[1].name: invalid API name `Riders`: use 1 to 64 characters from a-z, 0-9, `_` and `-`"
            ),
            format!(
                "{f}:6:11: apis[1].name: duplicate API name `Riders`, already used by apis[0] at line 3"
            ),
            format!("{f}:7:11: apis[1].spec: must be the path of an OpenAPI document"),
            format!("{f}:9:16: apis[1].base_path: invalid base path `v1/`: must start with `/`"),
            format!(
                "{f}:11:16: limits.max_headers: must be greater than 0 (there is no unlimited)"
            ),
            format!("{f}:12:19: limits.max_json_depth: must be at most 1024, got 2000"),
            format!(
                "{f}:14:27: contract.allowed_headers[1]: invalid header name `bad header`: use letters, digits and !#$%&'*+-.^_`|~"
            ),
        ]
    );
}

#[test]
fn user_values_in_messages_stay_on_one_short_line() {
    let long = "x".repeat(500);
    let text = format!("apis: [{{name: \"{long}\\n\", spec: a.yaml, upstream: \"http://h\"}}]\n");
    let (_, _, message) = single_error(&text);
    assert!(!message.contains('\n'), "{message}");
    assert!(message.len() < 200, "{} chars: {message}", message.len());
}
