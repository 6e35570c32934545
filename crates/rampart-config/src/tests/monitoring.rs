//! The `store` and `detection` sections: what they load to and what each
//! mistake reports.

use super::{load_errors, load_ok, single_error};
use crate::*;

const API: &str = "apis: [{name: a, spec: a.yaml, upstream: \"http://127.0.0.1:1\"}]\n";

#[test]
fn monitoring_sections_load_with_partial_overrides() {
    let text = format!(
        "{API}store:
  sink: postgres
  postgres: {{schema: audit}}
  overflow: drop
detection:
  enumeration: {{sequential_run: 25, action: throttle}}
  allowlist: [principal:svc-backup, ip:10.0.0.0/8]
  webhook: {{url: 'https://alerts.example.com/hook?channel=sec', token_env: ALERT_TOKEN}}
"
    );
    let config = load_ok(&text).config;
    assert_eq!(config.store.sink, StoreSink::Postgres);
    assert_eq!(config.store.postgres.schema, "audit");
    assert_eq!(config.store.postgres.url_env, "DATABASE_URL");
    assert_eq!(config.store.overflow, Overflow::Drop);
    assert_eq!(config.store.batch_max_events, 512);
    assert_eq!(config.detection.enumeration.sequential_run, 25);
    assert_eq!(
        config.detection.enumeration.action,
        DetectionAction::Throttle
    );
    assert_eq!(config.detection.enumeration.distinct_objects, 100);
    assert_eq!(
        config.detection.allowlist,
        vec![
            AllowEntry::Principal("svc-backup".to_owned()),
            "ip:10.0.0.0/8".parse().expect("net"),
        ]
    );
    let webhook = config.detection.webhook.expect("webhook");
    assert_eq!(webhook.timeout_ms, 2_000);
    assert_eq!(webhook.token_env.as_deref(), Some("ALERT_TOKEN"));
}

#[test]
fn defaults_are_an_embedded_store_and_detection_on() {
    let config = load_ok(API).config;
    assert_eq!(config.store.sink, StoreSink::Sqlite);
    assert_eq!(config.store.overflow, Overflow::Backpressure);
    assert!(config.detection.enabled);
    assert!(config.detection.webhook.is_none());
}

#[test]
fn a_bad_allowlist_entry_is_reported_at_its_line() {
    let text = format!("{API}detection:\n  allowlist:\n    - ip:10.0.0.0/40\n");
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(4));
    assert!(message.contains("the prefix must be 0 to 32"), "{message}");
}

#[test]
fn semantic_mistakes_are_each_reported() {
    let text = format!(
        "{API}store:
  batch_max_events: 1000
  queue_capacity: 10
  file: {{max_bytes: 10, keep: 0}}
  postgres: {{url_env: 'database url', schema: Bad-Schema}}
detection:
  short_window_seconds: 600
  long_window_seconds: 60
  webhook: {{url: 'ftp://x.example'}}
"
    );
    let errors = load_errors(&text);
    let messages: Vec<(Option<usize>, String)> =
        errors.into_iter().map(|e| (e.line, e.message)).collect();
    let expect = [
        (
            4,
            "store.queue_capacity: must be at least store.batch_max_events (1000), got 10",
        ),
        (5, "store.file.max_bytes: must be at least 65536, got 10"),
        (5, "store.file.keep: must keep at least 1 rotated file"),
        (
            6,
            "store.postgres.url_env: invalid environment variable name",
        ),
        (6, "store.postgres.schema: invalid schema name `Bad-Schema`"),
        (9, "detection.long_window_seconds: must be longer than"),
        (
            10,
            "detection.webhook.url: invalid webhook URL `ftp://x.example`",
        ),
    ];
    assert_eq!(messages.len(), expect.len(), "{messages:#?}");
    for ((line, message), (want_line, want)) in messages.iter().zip(expect) {
        assert_eq!(*line, Some(want_line), "{message}");
        assert!(message.starts_with(want), "{message} !~ {want}");
    }
}

#[test]
fn commit_before_response_needs_a_store() {
    let text = format!("{API}store:\n  sink: off\n  commit_before_response: true\n");
    let (line, _, message) = single_error(&text);
    assert_eq!(line, Some(4));
    assert!(message.contains("nothing to commit to"), "{message}");
    let on = format!("{API}store:\n  commit_before_response: true\n");
    assert!(load_ok(&on).config.store.commit_before_response);
}
