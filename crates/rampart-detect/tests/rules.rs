//! Each rule on its own, on an injected clock: what fires, on whom, with
//! which action, and what does not.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_config::{DetectionAction, DetectionConfig};
use rampart_detect::{
    Action, Admission, Detection, DetectionKind, Detector, Observation, Restriction, Subject,
    SubjectRef,
};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600 + secs)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A principal reading object `id` through `operation` from `addr` at `secs`.
fn read<'a>(
    principal: &'a str,
    addr: &str,
    operation: &'a str,
    id: &'a [String],
    secs: u64,
    status: u16,
) -> Observation<'a> {
    Observation {
        principal: Some(principal),
        ip: Some(ip(addr)),
        operation: Some(operation),
        objects: id,
        records: u32::from(status == 200),
        bytes: 500,
        ..Observation::new(at(secs), status)
    }
}

fn ids(range: impl IntoIterator<Item = u64>) -> Vec<[String; 1]> {
    range.into_iter().map(|n| [n.to_string()]).collect()
}

fn metrics(detections: &[Detection]) -> Vec<(&Subject, DetectionKind, &'static str)> {
    detections
        .iter()
        .map(|d| (&d.subject, d.kind, d.evidence.metric))
        .collect()
}

#[test]
fn a_slow_id_walk_is_enumeration_and_blocks_the_walker() {
    let detector = Detector::new(&DetectionConfig::default());
    let walk = ids(500..600);
    let mut fired = Vec::new();
    for (n, id) in walk.iter().enumerate() {
        // One request every 30 s: no rate limit would notice.
        fired = detector.observe(&read(
            "mallory",
            "192.0.2.9",
            "getProfile",
            id,
            n as u64 * 30,
            200,
        ));
        if !fired.is_empty() {
            assert_eq!(n + 1, 15, "the default walk threshold is 15 ids");
            break;
        }
    }
    let principal = Subject::Principal("mallory".to_owned());
    assert_eq!(
        metrics(&fired),
        [(&principal, DetectionKind::Enumeration, "sequential_run")]
    );
    let d = &fired[0];
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.until, Some(d.at + Duration::from_secs(3600)));
    assert_eq!(d.evidence.operation.as_deref(), Some("getProfile"));
    assert!(d.score >= 1.0);

    let now = at(15 * 30);
    assert!(matches!(
        detector.admit(Some("mallory"), None, Some(ip("198.51.100.1")), now),
        Admission::Blocked(_)
    ));
    assert_eq!(
        detector.admit(Some("alice"), None, Some(ip("192.0.2.9")), now),
        Admission::Allow
    );
    assert_eq!(
        detector.admit(Some("mallory"), None, None, at(15 * 30 + 3601)),
        Admission::Allow,
        "blocks expire"
    );
}

#[test]
fn many_distinct_objects_in_random_order_are_enumeration() {
    let detector = Detector::new(&DetectionConfig::default());
    let random = ids((0..200u64).map(|n| n.wrapping_mul(7_919_003) % 1_000_000));
    let mut first = None;
    for (n, id) in random.iter().enumerate() {
        let fired = detector.observe(&read(
            "eve",
            "192.0.2.10",
            "getWorkout",
            id,
            n as u64 * 2,
            200,
        ));
        if let Some(d) = fired.first() {
            first = Some((n + 1, d.evidence.metric));
            break;
        }
    }
    let (n, metric) = first.unwrap();
    assert_eq!(metric, "distinct_objects");
    assert!((95..=105).contains(&n), "fired after {n} distinct ids");
}

#[test]
fn restricted_views_of_many_people_are_the_peloton_pattern() {
    let detector = Detector::new(&DetectionConfig::default());
    // A friend's private profile, viewed again and again: fine.
    let friend = ids([4242]);
    for n in 0..100 {
        let o = Observation {
            restricted_view: true,
            ..read("alice", "192.0.2.1", "getProfile", &friend[0], n * 5, 200)
        };
        assert!(detector.observe(&o).is_empty());
    }
    // Thirty strangers' private profiles, far apart in id: the pattern.
    let strangers = ids((0..30u64).map(|n| 10_000 + n * 977));
    let mut fired = Vec::new();
    for (n, id) in strangers.iter().enumerate() {
        let o = Observation {
            restricted_view: true,
            ..read("eve", "192.0.2.2", "getProfile", id, n as u64 * 10, 200)
        };
        fired = detector.observe(&o);
    }
    assert_eq!(
        metrics(&fired),
        [(
            &Subject::Principal("eve".to_owned()),
            DetectionKind::Enumeration,
            "restricted_views"
        )]
    );
}

#[test]
fn bursts_of_denials_on_object_routes_are_bola_probing() {
    let detector = Detector::new(&DetectionConfig::default());
    // Unknown routes (no object ids) are shadow-API probes, not BOLA.
    for n in 0..50 {
        let o = Observation {
            ip: Some(ip("192.0.2.3")),
            principal: Some("bob"),
            ..Observation::new(at(n), 404)
        };
        assert!(detector.observe(&o).is_empty());
    }
    let probes = ids((0..20u64).map(|n| 90_000 + n * 1_013));
    let mut fired = Vec::new();
    for (n, id) in probes.iter().enumerate() {
        let status = if n % 2 == 0 { 403 } else { 404 };
        fired = detector.observe(&read(
            "bob",
            "192.0.2.3",
            "getInvoice",
            id,
            100 + n as u64,
            status,
        ));
    }
    let bob = Subject::Principal("bob".to_owned());
    assert_eq!(
        metrics(&fired),
        [(&bob, DetectionKind::BolaProbing, "denials_short")]
    );
    assert_eq!(fired[0].until, Some(fired[0].at + Duration::from_secs(900)));
}

fn login<'a>(addr: &str, username: Option<&'a str>, secs: u64, status: u16) -> Observation<'a> {
    Observation {
        ip: Some(ip(addr)),
        username,
        operation: Some("login"),
        ..Observation::new(at(secs), status)
    }
}

#[test]
fn many_user_names_failing_from_one_address_is_credential_stuffing() {
    let detector = Detector::new(&DetectionConfig::default());
    let names: Vec<String> = (0..8).map(|n| format!("victim{n}")).collect();
    let mut fired = Vec::new();
    for (n, name) in names.iter().enumerate() {
        fired = detector.observe(&login("203.0.113.5", Some(name), n as u64 * 3, 401));
    }
    let addr = Subject::Ip(ip("203.0.113.5"));
    assert_eq!(
        metrics(&fired),
        [(&addr, DetectionKind::CredentialStuffing, "usernames_per_ip")]
    );
    assert!(matches!(
        detector.admit(None, None, Some(ip("203.0.113.5")), at(30)),
        Admission::Blocked(_)
    ));
}

#[test]
fn one_user_name_failing_from_everywhere_is_throttled_not_locked_out() {
    let detector = Detector::new(&DetectionConfig::default());
    let mut fired = Vec::new();
    for n in 0..10u64 {
        // A botnet: each address tries once.
        fired = detector.observe(&login(
            &format!("198.51.100.{}", n + 1),
            Some("ceo"),
            n * 20,
            401,
        ));
    }
    let ceo = Subject::Username("ceo".to_owned());
    assert_eq!(
        metrics(&fired),
        [(
            &ceo,
            DetectionKind::CredentialStuffing,
            "failures_per_username"
        )]
    );
    let block = detector
        .is_blocked(SubjectRef::Username("ceo"), at(300))
        .unwrap();
    assert_eq!(block.restriction, Restriction::Throttle { per_minute: 30 });
}

#[test]
fn token_guessing_is_a_burst_of_401_from_one_address() {
    let detector = Detector::new(&DetectionConfig::default());
    let mut fired = Vec::new();
    for n in 0..30 {
        fired = detector.observe(&login("203.0.113.77", None, n * 5, 401));
    }
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].evidence.metric, "failures_per_ip");
}

#[test]
fn exfiltration_is_volume_far_above_the_floor_and_the_baseline() {
    let detector = Detector::new(&DetectionConfig::default());
    let export = |secs: u64, records: u32| Observation {
        principal: Some("reporting"),
        operation: Some("exportRides"),
        records,
        bytes: u64::from(records) * 200,
        ..Observation::new(at(secs), 200)
    };
    // 6000 records in a few minutes, from a principal with no history.
    let mut fired = Vec::new();
    for n in 0..6 {
        fired.extend(detector.observe(&export(n * 30, 1000)));
    }
    assert_eq!(metrics(&fired)[0].2, "records");
    assert_eq!(
        fired[0].action,
        Action::Alert,
        "exfiltration alerts by default"
    );
    assert!(fired[0].until.is_none());
    assert_eq!(
        detector.admit(Some("reporting"), None, None, at(200)),
        Admission::Allow
    );

    // The same volume window after window becomes the baseline: quiet.
    let mut later = Vec::new();
    for window in 2..8u64 {
        for n in 0..6 {
            later.extend(detector.observe(&export(window * 600 + n * 30, 1000)));
        }
    }
    assert!(later.is_empty(), "{later:?}");
    // Ten times the baseline is not.
    let mut spike = Vec::new();
    for n in 0..60 {
        spike.extend(detector.observe(&export(8 * 600 + n * 5, 1000)));
    }
    assert_eq!(metrics(&spike).first().map(|m| m.2), Some("records"));
}

#[test]
fn shared_addresses_get_higher_thresholds_than_principals() {
    let detector = Detector::new(&DetectionConfig::default());
    let objects = ids((0..400u64).map(|n| n.wrapping_mul(7_919_003) % 10_000_000));
    // Forty colleagues behind one NAT, ten distinct objects each: 400 at the address.
    for (n, id) in objects.iter().enumerate() {
        let who = format!("colleague{}", n / 10);
        let o = read(&who, "198.51.100.200", "getDocument", id, n as u64, 200);
        assert!(detector.observe(&o).is_empty(), "flagged at {n}");
    }
}

#[test]
fn allowlisted_subjects_are_never_flagged() {
    let config = DetectionConfig {
        allowlist: vec![
            "principal:indexer".parse().unwrap(),
            "ip:10.0.0.0/8".parse().unwrap(),
        ],
        ..DetectionConfig::default()
    };
    let detector = Detector::new(&config);
    for (n, id) in ids(1..200).iter().enumerate() {
        assert!(
            detector
                .observe(&read(
                    "indexer",
                    "10.2.3.4",
                    "getProfile",
                    id,
                    n as u64,
                    200
                ))
                .is_empty()
        );
    }
}

#[test]
fn operators_block_and_unblock() {
    let detector = Detector::new(&DetectionConfig::default());
    let now = at(0);
    detector.block(
        Subject::Ip(ip("192.0.2.66")),
        Restriction::Block,
        Duration::from_secs(60),
        "manual",
        now,
    );
    assert!(matches!(
        detector.admit(None, None, Some(ip("192.0.2.66")), now),
        Admission::Blocked(_)
    ));
    assert_eq!(detector.blocks(now).len(), 1);
    let lifted = detector.unblock(SubjectRef::Ip(ip("192.0.2.66"))).unwrap();
    assert_eq!(lifted.reason, "manual");
    assert_eq!(
        detector.admit(None, None, Some(ip("192.0.2.66")), now),
        Admission::Allow
    );
}

#[test]
fn throttled_subjects_get_their_allowance_each_minute() {
    let mut config = DetectionConfig::default();
    config.enumeration.action = DetectionAction::Throttle;
    config.throttle_per_minute = 3;
    let detector = Detector::new(&config);
    for (n, id) in ids(1..=15).iter().enumerate() {
        detector.observe(&read(
            "walker",
            "192.0.2.5",
            "getProfile",
            id,
            n as u64,
            200,
        ));
    }
    let minute = at(60 * 30);
    for _ in 0..3 {
        assert_eq!(
            detector.admit(Some("walker"), None, None, minute),
            Admission::Allow
        );
    }
    match detector.admit(Some("walker"), None, None, minute + Duration::from_secs(15)) {
        Admission::Throttled { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(45))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        detector.admit(Some("walker"), None, None, minute + Duration::from_secs(60)),
        Admission::Allow
    );
}

#[test]
fn a_detection_fires_once_per_block_not_per_request() {
    let detector = Detector::new(&DetectionConfig::default());
    let mut total = 0;
    // Under the address's own (5x) walk threshold: only the principal fires.
    for (n, id) in ids(1..60).iter().enumerate() {
        total += detector
            .observe(&read(
                "walker",
                "192.0.2.5",
                "getProfile",
                id,
                n as u64,
                200,
            ))
            .len();
    }
    assert_eq!(total, 1);
    assert_eq!(detector.stats(at(0)).detections_total, [1, 0, 0, 0]);
}

#[test]
fn tracking_stays_bounded() {
    let config = DetectionConfig {
        max_subjects: 1000,
        ..DetectionConfig::default()
    };
    let detector = Detector::new(&config);
    for n in 0..50_000u32 {
        let o = Observation {
            ip: Some(IpAddr::from(n.to_be_bytes())),
            ..Observation::new(at(u64::from(n)), 200)
        };
        detector.observe(&o);
    }
    let tracked = detector.stats(at(50_000)).tracked_subjects;
    assert!(tracked <= 1100, "{tracked}");
}

#[test]
fn a_disabled_detector_sees_nothing() {
    let config = DetectionConfig {
        enabled: false,
        ..DetectionConfig::default()
    };
    let detector = Detector::new(&config);
    for (n, id) in ids(1..100).iter().enumerate() {
        assert!(
            detector
                .observe(&read(
                    "walker",
                    "192.0.2.5",
                    "getProfile",
                    id,
                    n as u64,
                    200
                ))
                .is_empty()
        );
    }
}

#[test]
fn rule_ids_mark_restricted_views() {
    let o = Observation::new(at(0), 200)
        .with_rules(&["contract.response.undeclared", "authz.view.restricted"]);
    assert!(o.restricted_view);
    assert!(
        !Observation::new(at(0), 200)
            .with_rules(&["authz.list.filtered"])
            .restricted_view
    );
}
