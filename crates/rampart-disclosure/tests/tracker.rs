//! The tracker's rules on a real SQLite file: illegal transitions are
//! refused with a clear error and change nothing, verification needs
//! passing evidence, and the SLA clock sends each reminder once.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_config::DisclosureConfig;
use rampart_disclosure::notify::{Notifier, NotifierOptions};
use rampart_disclosure::report::Severity;
use rampart_disclosure::{
    Action, DisclosureError, Disclosures, Evidence, NewReport, State, Tracker,
};

const DAY: Duration = Duration::from_secs(86_400);

async fn desk(dir: &std::path::Path) -> Disclosures {
    let tracker = Tracker::sqlite(&dir.join("t.db")).await.unwrap();
    let ops: BTreeSet<String> = ["getRider", "searchRiders"].map(str::to_owned).into();
    Disclosures::new(tracker, &DisclosureConfig::default(), ops)
}

fn new_report(title: &str) -> NewReport {
    NewReport {
        title: title.into(),
        description: "d".into(),
        endpoint: None,
        contact: None,
    }
}

fn triage(operations: &[&str], check: Option<&str>) -> Action {
    Action::Triage {
        severity: Severity::Critical,
        operations: operations.iter().map(|s| (*s).to_owned()).collect(),
        check: check.map(str::to_owned),
        note: None,
    }
}

fn evidence(check: &str, operations: &[&str], passed: bool) -> Action {
    Action::Verify {
        evidence: Evidence {
            check: check.into(),
            operations: operations.iter().map(|s| (*s).to_owned()).collect(),
            passed,
            run_id: None,
            details: serde_json::Value::Null,
        },
    }
}

#[tokio::test]
async fn illegal_transitions_are_refused_clearly_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path()).await;
    let now = SystemTime::now();
    let (id, _) = desk.file(&new_report("a"), 100, now).await.unwrap();

    let err = desk
        .apply(id, &Action::Disclose { note: None }, "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(err, DisclosureError::IllegalTransition { .. }));
    assert_eq!(
        err.to_string(),
        format!("report #{id} is received: it cannot be disclosed (allowed from verified)")
    );
    for action in [
        Action::Fix { note: None },
        evidence("bola", &["getRider"], true),
        Action::Mitigate {
            patch: rampart_disclosure::patch::VirtualPatch {
                description: "p".into(),
                kind: rampart_disclosure::patch::PatchKind::Cedar,
                content: "forbid(principal, action, resource);".into(),
            },
        },
    ] {
        let err = desk.apply(id, &action, "alice", now).await.unwrap_err();
        assert!(
            matches!(err, DisclosureError::IllegalTransition { .. }),
            "{err}"
        );
    }
    assert_eq!(desk.tracker().get(id).await.unwrap().state, State::Received);
    assert_eq!(desk.tracker().history(id).await.unwrap().len(), 1);

    // Triage must name the contract's operations, at least one.
    let err = desk
        .apply(id, &triage(&[], None), "alice", now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one"), "{err}");
    desk.apply(id, &triage(&["getRider"], Some("bola")), "alice", now)
        .await
        .unwrap();
    desk.apply(id, &Action::Fix { note: None }, "bob", now)
        .await
        .unwrap();

    // Verification: failed, wrong check, or missing operation are refused.
    for (bad, why) in [
        (evidence("bola", &["getRider"], false), "did not pass"),
        (
            evidence("mass-assignment", &["getRider"], true),
            "triaged to `bola`",
        ),
        (
            evidence("bola", &["searchRiders"], true),
            "did not target getRider",
        ),
    ] {
        let err = desk.apply(id, &bad, "carol", now).await.unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    assert_eq!(desk.tracker().get(id).await.unwrap().state, State::Fixed);
    desk.apply(
        id,
        &evidence("bola", &["getRider", "searchRiders"], true),
        "carol",
        now,
    )
    .await
    .unwrap();

    // Closed reports stay closed; rejection is only for open, untreated ones.
    let err = desk
        .apply(
            id,
            &Action::Reject {
                reason: "no".into(),
            },
            "alice",
            now,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be rejected (allowed from received or triaged)"),
        "{err}"
    );
    desk.apply(id, &Action::Disclose { note: None }, "alice", now)
        .await
        .unwrap();
    let err = desk
        .apply(id, &Action::Fix { note: None }, "alice", now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is disclosed"), "{err}");

    // Duplicates must point at another, existing report.
    let (dup, _) = desk.file(&new_report("b"), 100, now).await.unwrap();
    for of in [dup, 9999] {
        let err = desk
            .apply(dup, &Action::Duplicate { of }, "alice", now)
            .await
            .unwrap_err();
        assert!(matches!(err, DisclosureError::Invalid(_)), "{err}");
    }
    let marked = desk
        .apply(dup, &Action::Duplicate { of: id }, "alice", now)
        .await
        .unwrap();
    assert_eq!(
        (marked.state, marked.duplicate_of),
        (State::Duplicate, Some(id))
    );
    assert!(matches!(
        desk.apply(dup, &triage(&["getRider"], None), "alice", now)
            .await,
        Err(DisclosureError::IllegalTransition { .. })
    ));
    assert!(matches!(
        desk.apply(4242, &Action::Fix { note: None }, "alice", now)
            .await,
        Err(DisclosureError::NotFound(4242))
    ));
    assert!(
        desk.apply(id, &Action::Fix { note: None }, " ", now)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_sla_clock_flags_overdue_reports_and_sends_each_reminder_once() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, mut hook) = support::webhook_receiver().await;
    let (notifier, _task) = Notifier::start(NotifierOptions {
        url: hook_url,
        secret: Some(b"0123456789abcdef".to_vec()),
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        queue_capacity: 64,
    })
    .unwrap();
    let desk = desk(dir.path()).await.with_notifier(notifier);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (id, _) = desk.file(&new_report("slow"), 100, t0).await.unwrap();
    assert_eq!(support::next(&mut hook).await.json()["state"], "received");
    let (closed, _) = desk.file(&new_report("closed"), 100, t0).await.unwrap();
    support::next(&mut hook).await;
    desk.apply(
        closed,
        &Action::Reject {
            reason: "not a bug".into(),
        },
        "alice",
        t0,
    )
    .await
    .unwrap();
    support::next(&mut hook).await;

    // Defaults: 90 days, reminders 30, 7 and 1 day before.
    assert_eq!(desk.send_due_reminders(t0 + 59 * DAY).await.unwrap(), 0);
    assert_eq!(desk.send_due_reminders(t0 + 60 * DAY).await.unwrap(), 1);
    let n = support::next(&mut hook).await.json();
    assert_eq!(
        (n["event"].as_str(), n["days_before"].as_u64()),
        (Some("reminder"), Some(30))
    );
    assert_eq!(n["report_id"], id);
    // Once each, however often the periodic task runs.
    assert_eq!(desk.send_due_reminders(t0 + 60 * DAY).await.unwrap(), 0);
    assert_eq!(desk.send_due_reminders(t0 + 70 * DAY).await.unwrap(), 0);

    let report = desk.tracker().get(id).await.unwrap();
    let on_time = desk.sla(&report, t0 + 89 * DAY);
    assert_eq!(
        (on_time.days_open, on_time.days_left, on_time.overdue),
        (89, 1, false)
    );
    let late = desk.sla(&report, t0 + 95 * DAY);
    assert_eq!((late.days_open, late.overdue), (95, true));

    // A run after the deadline sends the missed 7- and 1-day reminders and
    // the overdue notice, once.
    assert_eq!(desk.send_due_reminders(t0 + 95 * DAY).await.unwrap(), 3);
    let mut days: Vec<u64> = Vec::new();
    for _ in 0..3 {
        let n = support::next(&mut hook).await.json();
        assert_eq!(n["sla"]["overdue"], true);
        days.push(n["days_before"].as_u64().unwrap());
    }
    assert_eq!(days, [7, 1, 0]);
    assert_eq!(desk.send_due_reminders(t0 + 200 * DAY).await.unwrap(), 0);
    // The closed report never got one; its clock stopped.
    let closed = desk.tracker().get(closed).await.unwrap();
    assert!(!desk.sla(&closed, t0 + 200 * DAY).overdue);
}

#[tokio::test]
async fn a_database_from_a_newer_rampart_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let tracker = Tracker::sqlite(&path).await.unwrap();
    tracker.close().await;
    support::sqlite_exec(
        &path,
        "UPDATE rampart_schema SET version = 99 WHERE component = 'disclosure'",
    )
    .await
    .unwrap();
    let err = Tracker::sqlite(&path).await.unwrap_err();
    assert!(
        matches!(err, DisclosureError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
}
