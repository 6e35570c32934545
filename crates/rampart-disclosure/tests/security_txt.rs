//! security.txt renders per RFC 9116 and its expiry check fires.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use rampart_config::SecurityTxtConfig;
use rampart_disclosure::security_txt::{self, ExpiryStatus};

const DAY: Duration = Duration::from_secs(86_400);

fn config() -> SecurityTxtConfig {
    SecurityTxtConfig {
        contact: vec![
            "mailto:security@riders.example".into(),
            "https://riders.example/report".into(),
        ],
        expires: "2027-06-30T00:00:00Z".into(),
        policy: Some("https://riders.example/policy".into()),
        preferred_languages: vec!["en".into(), "fr".into()],
        canonical: vec!["https://riders.example/.well-known/security.txt".into()],
        encryption: vec!["https://riders.example/pgp-key.txt".into()],
        acknowledgments: vec!["https://riders.example/hall-of-fame".into()],
    }
}

#[test]
fn security_txt_renders_every_field_per_rfc_9116() {
    let text = security_txt::render(&config()).unwrap();
    assert_eq!(
        text,
        "Contact: mailto:security@riders.example\n\
         Contact: https://riders.example/report\n\
         Expires: 2027-06-30T00:00:00Z\n\
         Encryption: https://riders.example/pgp-key.txt\n\
         Acknowledgments: https://riders.example/hall-of-fame\n\
         Preferred-Languages: en, fr\n\
         Canonical: https://riders.example/.well-known/security.txt\n\
         Policy: https://riders.example/policy\n"
    );
    // RFC 9116 §2.5: one Expires, one Preferred-Languages, at least one Contact.
    assert_eq!(text.matches("Expires: ").count(), 1);
    assert_eq!(text.matches("Preferred-Languages: ").count(), 1);
    assert!(text.lines().all(|l| {
        l.split_once(": ")
            .is_some_and(|(f, v)| !f.is_empty() && !v.is_empty())
    }));

    // Only the required fields: nothing else is printed.
    let minimal = SecurityTxtConfig {
        contact: vec!["mailto:s@x.example".into()],
        expires: "2027-01-01T12:30:00Z".into(),
        policy: None,
        preferred_languages: vec![],
        canonical: vec![],
        encryption: vec![],
        acknowledgments: vec![],
    };
    assert_eq!(
        security_txt::render(&minimal).unwrap(),
        "Contact: mailto:s@x.example\nExpires: 2027-01-01T12:30:00Z\n"
    );
}

#[test]
fn a_value_cannot_inject_a_field() {
    let mut bad = config();
    bad.contact = vec!["mailto:a@x.example\nPolicy: https://evil.example".into()];
    assert!(security_txt::render(&bad).is_err());
    bad = config();
    bad.expires = "soon".into();
    assert!(security_txt::render(&bad).is_err());
    bad = config();
    bad.contact.clear();
    assert!(security_txt::render(&bad).is_err());
}

#[test]
fn the_expiry_check_fires_before_and_after_the_date() {
    let c = config();
    let expires = security_txt::expiry(&c).unwrap();
    assert_eq!(expires, UNIX_EPOCH + Duration::from_secs(1_814_313_600));
    let status = |now| security_txt::check(&c, now).unwrap();
    assert_eq!(
        status(expires - 200 * DAY),
        ExpiryStatus::Valid { days_left: 200 }
    );
    assert!(!status(expires - 200 * DAY).is_warning());
    assert_eq!(
        status(expires - 10 * DAY),
        ExpiryStatus::ExpiresSoon { days_left: 10 }
    );
    assert_eq!(
        status(expires + 3 * DAY),
        ExpiryStatus::Expired { days_ago: 3 }
    );
    assert_eq!(
        status(expires - 400 * DAY),
        ExpiryStatus::TooFarAhead { days_left: 400 }
    );
    for warning in [
        status(expires - 10 * DAY),
        status(expires + 3 * DAY),
        status(expires - 400 * DAY),
    ] {
        assert!(warning.is_warning());
    }
    assert!(
        status(expires + 3 * DAY)
            .to_string()
            .contains("expired 3 days ago")
    );
}
