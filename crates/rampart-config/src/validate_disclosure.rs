//! Checks of the `disclosure` section: what a published `security.txt`
//! must hold (RFC 9116) and the bounds that keep a public intake safe.
//!
//! Expiry relative to *now* is not checked here (loading must not depend
//! on the clock); `rampart check` asks rampart-disclosure for that.

use crate::disclosure::{DisclosureBackend, MAX_REPORT_BODY_BYTES};
use crate::locate::{index_path, key_path};
use crate::types::Config;
use crate::validate::{Report, check_webhook_url, is_env_name, is_pg_identifier, quoted};

/// Checks `config.disclosure`.
pub(crate) fn check(config: &Config, report: &mut Report<'_>) {
    let d = &config.disclosure;
    if let Some(txt) = &d.security_txt {
        check_security_txt(txt, report);
    }
    check_intake(&d.intake, report);
    if d.sla_days == 0 {
        report.error("disclosure.sla_days", "must be greater than 0");
    }
    for (i, days) in d.remind_before_days.iter().enumerate() {
        if *days == 0 || *days >= d.sla_days {
            report.error(
                &index_path("disclosure.remind_before_days", i),
                format!("must be 1 to sla_days - 1 ({}), got {days}", d.sla_days),
            );
        }
    }
    if let Some(webhook) = &d.webhook {
        if let Err(reason) = check_webhook_url(&webhook.url) {
            report.error(
                "disclosure.webhook.url",
                format!("invalid webhook URL {}: {reason}", quoted(&webhook.url)),
            );
        }
        if webhook
            .secret_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            report.error("disclosure.webhook.secret_file", "must be a file path");
        }
        let positive: [(&str, u64); 3] = [
            ("timeout_ms", webhook.timeout_ms),
            ("max_attempts", u64::from(webhook.max_attempts)),
            (
                "queue_capacity",
                u64::try_from(webhook.queue_capacity).unwrap_or(u64::MAX),
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                report.error(
                    &key_path("disclosure.webhook", name),
                    "must be greater than 0",
                );
            }
        }
    }
    let store = &d.store;
    if store.backend == DisclosureBackend::Sqlite && store.sqlite_path.as_os_str().is_empty() {
        report.error(
            "disclosure.store.sqlite_path",
            "must be the path of a database file",
        );
    }
    if !is_env_name(&store.postgres_url_env) {
        report.error(
            "disclosure.store.postgres_url_env",
            format!(
                "invalid environment variable name {}: use A-Z, 0-9 and `_`",
                quoted(&store.postgres_url_env)
            ),
        );
    }
    if !is_pg_identifier(&store.postgres_schema) {
        report.error(
            "disclosure.store.postgres_schema",
            format!(
                "invalid schema name {}: use 1 to 63 characters from a-z, 0-9 and `_`, not starting with a digit",
                quoted(&store.postgres_schema)
            ),
        );
    }
}

fn check_security_txt(txt: &crate::disclosure::SecurityTxtConfig, report: &mut Report<'_>) {
    const BASE: &str = "disclosure.security_txt";
    if txt.contact.is_empty() {
        report.error(
            &key_path(BASE, "contact"),
            "at least one contact is required",
        );
    }
    for (i, contact) in txt.contact.iter().enumerate() {
        if let Err(reason) = check_uri(contact, &["mailto:", "https://", "tel:"]) {
            report.error(&index_path(&key_path(BASE, "contact"), i), reason);
        }
    }
    if humantime::parse_rfc3339(&txt.expires).is_err() {
        report.error(
            &key_path(BASE, "expires"),
            format!(
                "{} is not an RFC 3339 UTC time such as `2027-06-30T00:00:00Z`",
                quoted(&txt.expires)
            ),
        );
    }
    if let Some(policy) = &txt.policy
        && let Err(reason) = check_uri(policy, &["https://"])
    {
        report.error(&key_path(BASE, "policy"), reason);
    }
    let lists: [(&str, &Vec<String>, &[&str]); 3] = [
        ("canonical", &txt.canonical, &["https://"]),
        (
            "encryption",
            &txt.encryption,
            &["https://", "dns:", "openpgp4fpr:"],
        ),
        ("acknowledgments", &txt.acknowledgments, &["https://"]),
    ];
    for (name, values, schemes) in lists {
        for (i, value) in values.iter().enumerate() {
            if let Err(reason) = check_uri(value, schemes) {
                report.error(&index_path(&key_path(BASE, name), i), reason);
            }
        }
    }
    for (i, tag) in txt.preferred_languages.iter().enumerate() {
        if !is_language_tag(tag) {
            report.error(
                &index_path(&key_path(BASE, "preferred_languages"), i),
                format!(
                    "{} is not a language tag such as `en` or `pt-BR`",
                    quoted(tag)
                ),
            );
        }
    }
}

fn check_intake(intake: &crate::disclosure::IntakeConfig, report: &mut Report<'_>) {
    for (name, path) in [("path", &intake.path), ("status_path", &intake.status_path)] {
        if !is_plain_path(path) {
            report.error(
                &key_path("disclosure.intake", name),
                format!(
                    "{} must start with `/`, not end with `/`, and hold only letters, digits and `-._~/`",
                    quoted(path)
                ),
            );
        }
    }
    if intake.path == intake.status_path {
        report.error(
            "disclosure.intake.status_path",
            "must differ from disclosure.intake.path",
        );
    }
    if intake.max_body_bytes == 0 || intake.max_body_bytes > MAX_REPORT_BODY_BYTES {
        report.error(
            "disclosure.intake.max_body_bytes",
            format!(
                "must be 1 to {MAX_REPORT_BODY_BYTES}, got {}",
                intake.max_body_bytes
            ),
        );
    }
    if intake.per_ip_per_hour == 0 {
        report.error(
            "disclosure.intake.per_ip_per_hour",
            "must be greater than 0",
        );
    }
    if intake.max_open_reports == 0 {
        report.error(
            "disclosure.intake.max_open_reports",
            "must be greater than 0",
        );
    }
}

/// A `security.txt` value: one of `schemes`, something after it, and no
/// whitespace or control character (each field is one line of the file).
fn check_uri(value: &str, schemes: &[&str]) -> Result<(), String> {
    let lower = value.to_ascii_lowercase();
    let Some(scheme) = schemes.iter().find(|s| lower.starts_with(**s)) else {
        return Err(format!(
            "{} must start with {}",
            quoted(value),
            schemes.join(" or ")
        ));
    };
    if value.len() == scheme.len() {
        return Err(format!("{} has nothing after the scheme", quoted(value)));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{} must not contain spaces or control characters",
            quoted(value)
        ));
    }
    Ok(())
}

/// A loose RFC 5646 check: alphanumeric subtags of 1 to 8 characters
/// joined by `-`, the first alphabetic.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An absolute path of unreserved characters, without a trailing `/`.
fn is_plain_path(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for good in ["en", "pt-BR", "zh-Hant-TW", "de"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "en_US", "-en", "en-", "1en", "toolongtag"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn intake_paths() {
        assert!(is_plain_path("/disclosures/report"));
        for bad in ["/", "report", "/a/", "/a//b", "/a?b", "/a b"] {
            assert!(!is_plain_path(bad), "{bad}");
        }
    }

    #[test]
    fn uris() {
        assert!(check_uri("mailto:security@example.com", &["mailto:"]).is_ok());
        assert!(check_uri("http://x", &["https://"]).is_err());
        assert!(check_uri("https://", &["https://"]).is_err());
        assert!(check_uri("https://a b", &["https://"]).is_err());
    }
}
