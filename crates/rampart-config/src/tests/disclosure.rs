//! The `disclosure` section: what it loads to and what each mistake reports.

use super::{load_errors, load_ok};
use crate::*;

const API: &str = "apis: [{name: a, spec: a.yaml, upstream: \"http://127.0.0.1:1\"}]\n";

#[test]
fn disclosure_section_loads_with_defaults_filled_in() {
    let text = format!(
        "{API}disclosure:
  security_txt:
    contact: ['mailto:security@example.com', 'https://example.com/report']
    expires: '2027-06-30T00:00:00Z'
    preferred_languages: [en, fr]
  intake: {{enabled: true, per_ip_per_hour: 3}}
  webhook: {{url: 'https://ops.example.com/hook', secret_file: hook.key}}
"
    );
    let config = load_ok(&text).config;
    let d = &config.disclosure;
    let txt = d.security_txt.as_ref().expect("security_txt");
    assert_eq!(txt.contact.len(), 2);
    assert_eq!(txt.preferred_languages, ["en", "fr"]);
    assert!(d.intake.enabled);
    assert_eq!(d.intake.per_ip_per_hour, 3);
    assert_eq!(d.intake.max_body_bytes, 16 * 1024);
    assert_eq!(d.sla_days, 90);
    assert_eq!(d.remind_before_days, [30, 7, 1]);
    let hook = d.webhook.as_ref().expect("webhook");
    assert_eq!(hook.max_attempts, 5);
    assert_eq!(d.store.backend, DisclosureBackend::Sqlite);
}

#[test]
fn disclosure_mistakes_are_reported_at_their_line() {
    let text = format!(
        "{API}disclosure:
  security_txt:
    contact: ['security@example.com']
    expires: 'next year'
    policy: 'http://example.com/policy'
    preferred_languages: [en_US]
  intake: {{path: '/report/', status_path: '/report/', max_body_bytes: 0}}
  sla_days: 30
  remind_before_days: [30]
  webhook: {{url: 'ftp://x'}}
"
    );
    let errors = load_errors(&text);
    let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    for expected in [
        "disclosure.security_txt.contact[0]:",
        "disclosure.security_txt.expires:",
        "disclosure.security_txt.policy:",
        "disclosure.security_txt.preferred_languages[0]:",
        "disclosure.intake.path:",
        "disclosure.intake.status_path: must differ",
        "disclosure.intake.max_body_bytes:",
        "disclosure.remind_before_days[0]:",
        "disclosure.webhook.url:",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(expected)),
            "{expected} missing from {messages:#?}"
        );
    }
    assert!(errors.iter().all(|e| e.line.is_some()), "{errors:#?}");
}
