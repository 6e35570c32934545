//! `rate_limits`, `client_ip` and `cluster`: what loads, and what each
//! mistake reports at which line.

use std::time::Duration;

use super::{load_errors, load_ok, single_error};
use crate::*;

const API: &str = "apis: [{name: riders, spec: a.yaml, upstream: \"http://127.0.0.1:1\"}]\n";

const EXAMPLE: &str = r#"apis: [{name: riders, spec: a.yaml, upstream: "http://127.0.0.1:1"}]
rate_limits:
  - name: per-principal
    key: [principal]
    rate: 100/min
    burst: 20
    apis: [riders]
  - name: login-ip
    key: [ip, body:/username]
    rate: 5/15min
    operations: [login]
    on: failure
client_ip:
  trusted_proxies: [10.0.0.0/8, "2001:db8::1"]
  header: forwarded
cluster:
  redis_url: redis://127.0.0.1:6379/0
  password_env: REDIS_PASSWORD
  on_redis_error: fail_closed
  key_prefix: "rampart:prod:"
"#;

#[test]
fn the_example_loads_to_typed_values() {
    let config = load_ok(EXAMPLE).config;
    assert_eq!(
        config.rate_limits[0],
        RateLimitRule {
            name: "per-principal".into(),
            key: vec![LimitKey::Principal],
            rate: Rate {
                count: 100,
                period: Duration::from_secs(60)
            },
            burst: Some(20),
            apis: vec!["riders".into()],
            operations: vec![],
            on: CountOn::Request,
        }
    );
    let login = &config.rate_limits[1];
    assert_eq!(
        login.key,
        [LimitKey::Ip, LimitKey::Body("/username".into())]
    );
    assert_eq!(login.rate.interval(), Duration::from_secs(180));
    assert_eq!(login.effective_burst(), 5);
    assert_eq!(login.on, CountOn::Failure);
    assert_eq!(
        config
            .client_ip
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["10.0.0.0/8", "2001:db8::1/128"]
    );
    assert_eq!(config.client_ip.header, ForwardedHeader::Forwarded);
    assert_eq!(config.client_ip.ipv6_prefix, 64);
    assert_eq!(
        config.cluster,
        ClusterConfig {
            redis_url: Some("redis://127.0.0.1:6379/0".into()),
            password_env: Some("REDIS_PASSWORD".into()),
            on_redis_error: OnRedisError::FailClosed,
            key_prefix: "rampart:prod:".into(),
            ..ClusterConfig::default()
        }
    );
}

#[test]
fn the_defaults_limit_nothing_trust_no_proxy_and_stay_local() {
    let config = load_ok(API).config;
    assert!(config.rate_limits.is_empty());
    assert!(config.client_ip.trusted_proxies.is_empty());
    assert_eq!(config.cluster.redis_url, None);
    assert_eq!(config.cluster.on_redis_error, OnRedisError::FailOpen);
    assert_eq!(config.limits.max_rate_limit_keys, 100_000);
}

#[test]
fn values_round_trip_through_serde() {
    let config = load_ok(EXAMPLE).config;
    let json = serde_json::to_value(&config).expect("serializes");
    assert_eq!(json["rate_limits"][1]["rate"], "5/15min");
    assert_eq!(json["rate_limits"][1]["key"][1], "body:/username");
    let back: Config = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, config);
}

fn rule(body: &str) -> String {
    format!("{API}rate_limits:\n  - name: r\n{body}")
}

#[test]
fn a_bad_rate_is_reported_at_its_value() {
    let (line, column, message) = single_error(&rule("    key: [ip]\n    rate: 100/fortnight\n"));
    assert_eq!((line, column), (Some(5), Some(11)));
    assert!(
        message.starts_with("rate_limits[0].rate: invalid rate `100/fortnight`: unknown unit"),
        "{message}"
    );
}

#[test]
fn a_bad_key_part_names_the_choices() {
    let (line, _, message) = single_error(&rule("    key: [ip, user]\n    rate: 1/s\n"));
    assert_eq!(line, Some(4));
    assert!(
        message.contains("unknown key `user`, expected principal"),
        "{message}"
    );
}

#[test]
fn an_unknown_field_in_a_rule() {
    let (line, _, message) = single_error(&rule("    key: [ip]\n    rate: 1/s\n    per: ip\n"));
    assert_eq!(line, Some(6));
    assert!(message.contains("unknown field `per`"), "{message}");
}

#[test]
fn semantic_mistakes_are_all_reported_with_lines() {
    let text = format!(
        "{API}rate_limits:
  - name: Per Principal
    key: []
    rate: 1/s
    burst: 0
    apis: [drivers]
  - name: dup
    key: [ip, ip]
    rate: 1/s
    operations: ['']
  - name: dup
    key: [ip]
    rate: 1/s
client_ip:
  ipv6_prefix: 8
cluster:
  redis_url: redis://:hunter2@cache:6379
  key_prefix: ''
  timeout_ms: 0
"
    );
    let errors: Vec<(Option<usize>, String)> = load_errors(&text)
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect();
    let expected: [(usize, &str); 11] = [
        (
            3,
            "rate_limits[0].name: invalid rate limit name `Per Principal`",
        ),
        (4, "rate_limits[0].key: at least one key part is required"),
        (6, "rate_limits[0].burst: must be at least 1"),
        (7, "rate_limits[0].apis[0]: no API is named `drivers`"),
        (9, "rate_limits[1].key[1]: `ip` is listed twice"),
        (
            11,
            "rate_limits[1].operations[0]: an operationId must not be empty",
        ),
        (
            12,
            "rate_limits[2].name: duplicate rate limit name `dup`, already used by rate_limits[1] at line 8",
        ),
        (
            16,
            "client_ip.ipv6_prefix: must be between 32 and 128, got 8",
        ),
        (18, "cluster.redis_url: invalid Redis URL"),
        (19, "cluster.key_prefix: use 1 to 64 printable ASCII"),
        (20, "cluster.timeout_ms: must be greater than 0"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for ((line, message), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(*line, Some(want_line), "{message}");
        assert!(message.starts_with(want), "{message} !~ {want}");
    }
    // The URL is not quoted back: it may hold the very password refused.
    assert!(
        errors[8].1.contains("use `password_env`"),
        "{}",
        errors[8].1
    );
    assert!(!errors[8].1.contains("hunter2"), "{}", errors[8].1);
}

#[test]
fn a_bad_trusted_proxy() {
    let text = format!("{API}client_ip:\n  trusted_proxies: [10.0.0.0/8, proxy.internal]\n");
    let (line, column, message) = single_error(&text);
    assert_eq!((line, column), (Some(3), Some(33)));
    assert!(
        message.contains("invalid network `proxy.internal`"),
        "{message}"
    );
}

#[test]
fn the_schema_documents_the_new_sections() {
    let schema = json_schema();
    let defs = &schema["$defs"];
    assert_eq!(
        defs["RateLimitRule"]["properties"]["name"]["pattern"],
        "^[a-z0-9_-]{1,64}$"
    );
    assert_eq!(defs["Rate"]["type"], "string");
    assert_eq!(
        defs["ClientIpConfig"]["properties"]["ipv6_prefix"]["minimum"],
        32
    );
    assert!(schema["properties"]["rate_limits"].is_object());
    assert!(schema["properties"]["cluster"].is_object());
}
