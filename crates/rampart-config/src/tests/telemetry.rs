//! The `telemetry` section: what it loads to and what each mistake reports.

use super::{load_ok, single_error};
use crate::*;

const API: &str = "apis: [{name: a, spec: a.yaml, upstream: \"http://127.0.0.1:1\"}]\n";

#[test]
fn no_telemetry_section_means_no_export() {
    assert_eq!(load_ok(API).config.telemetry.otlp, None);
}

#[test]
fn an_otlp_section_loads_with_defaults() {
    let text = format!("{API}telemetry:\n  otlp: {{endpoint: 'http://127.0.0.1:4318'}}\n");
    let otlp = load_ok(&text).config.telemetry.otlp.expect("otlp");
    assert_eq!(otlp.endpoint, "http://127.0.0.1:4318");
    assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(otlp.service_name, "rampart");
    assert!((otlp.sample_ratio - 1.0).abs() < f64::EPSILON);
    assert_eq!(otlp.headers_env, None);
}

#[test]
fn every_otlp_setting_loads() {
    let text = format!(
        "{API}telemetry:
  otlp:
    endpoint: https://otel.example.com:4318
    protocol: http/protobuf
    service_name: edge-gateway
    sample_ratio: 0.25
    headers_env: OTLP_HEADERS
"
    );
    let otlp = load_ok(&text).config.telemetry.otlp.expect("otlp");
    assert_eq!(otlp.service_name, "edge-gateway");
    assert!((otlp.sample_ratio - 0.25).abs() < f64::EPSILON);
    assert_eq!(otlp.headers_env.as_deref(), Some("OTLP_HEADERS"));
}

#[test]
fn a_bad_endpoint_is_reported_at_its_line() {
    for (endpoint, expected) in [
        ("ftp://127.0.0.1:4318", "use an http:// or https:// URL"),
        ("not a url", "invalid endpoint URL"),
        (
            "http://user:pw@127.0.0.1:4318",
            "put a secret in headers_env",
        ),
        ("http://127.0.0.1:4318?x=1", "a query is not allowed"),
    ] {
        let text = format!("{API}telemetry:\n  otlp:\n    endpoint: '{endpoint}'\n");
        let (line, _, message) = single_error(&text);
        assert_eq!(line, Some(4), "{endpoint}");
        assert!(
            message.starts_with("telemetry.otlp.endpoint: "),
            "{message}"
        );
        assert!(message.contains(expected), "{endpoint}: {message}");
    }
}

#[test]
fn a_sample_ratio_outside_zero_to_one_is_reported_at_its_line() {
    for ratio in ["1.5", "-0.1", ".nan"] {
        let text = format!(
            "{API}telemetry:\n  otlp:\n    endpoint: 'http://127.0.0.1:4318'\n    sample_ratio: {ratio}\n"
        );
        let (line, _, message) = single_error(&text);
        assert_eq!(line, Some(5), "{ratio}");
        assert!(
            message.contains("telemetry.otlp.sample_ratio: must be between 0.0 and 1.0"),
            "{ratio}: {message}"
        );
    }
}

#[test]
fn an_unknown_protocol_is_refused() {
    let text =
        format!("{API}telemetry:\n  otlp: {{endpoint: 'http://127.0.0.1:4318', protocol: grpc}}\n");
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(3));
    assert!(message.contains("http/protobuf"), "{message}");
}

#[test]
fn a_bad_headers_env_name_is_reported() {
    let text = format!(
        "{API}telemetry:\n  otlp:\n    endpoint: 'http://127.0.0.1:4318'\n    headers_env: otlp-headers\n"
    );
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(5));
    assert!(
        message.contains("invalid environment variable name"),
        "{message}"
    );
}
