//! `rampart disclosures` against a real configuration and SQLite file.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, SystemTime};

use rampart_disclosure::cli::{ActorArg, DisclosuresCommand, run};
use rampart_disclosure::{NewReport, State, Tracker};

fn actor() -> ActorArg {
    ActorArg {
        actor: Some("alice".into()),
    }
}

async fn cli(config: &std::path::Path, command: DisclosuresCommand) -> Result<String, String> {
    let mut out = Vec::new();
    run(config, command, &mut out)
        .await
        .map(|()| String::from_utf8(out).unwrap())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn list_flags_overdue_reports_and_commands_explain_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::write_config(dir.path(), "  intake: {enabled: true}\n");
    let loaded = rampart_config::load(&config).unwrap();
    let tracker = Tracker::open(&loaded.config.disclosure.store, &loaded.dir)
        .await
        .unwrap();
    let old = SystemTime::now() - Duration::from_secs(100 * 86_400);
    let report = |title: &str| NewReport {
        title: title.into(),
        description: "d".into(),
        endpoint: None,
        contact: None,
    };
    let ms = |t: SystemTime| {
        i64::try_from(
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    };
    tracker
        .file(&report("old leak"), "h1", ms(old), 10)
        .await
        .unwrap();
    tracker
        .file(&report("new leak"), "h2", ms(SystemTime::now()), 10)
        .await
        .unwrap();
    tracker.close().await;

    let list = cli(
        &config,
        DisclosuresCommand::List {
            state: None,
            json: false,
        },
    )
    .await
    .unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "!! 1 report(s) past the 90-day SLA");
    assert!(
        lines[2].contains("received")
            && lines[2].contains("100/90")
            && lines[2].contains("OVERDUE old leak"),
        "{list}"
    );
    assert!(
        lines[3].contains("0/90") && lines[3].ends_with(" new leak"),
        "{list}"
    );

    // Triage names the contract's operations; a typo lists the real ones.
    let err = cli(
        &config,
        DisclosuresCommand::Triage {
            id: 1,
            severity: rampart_disclosure::Severity::High,
            operations: vec!["getRyder".into()],
            check: None,
            note: None,
            actor: actor(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("unknown operation getRyder") && err.contains("getRider"),
        "{err}"
    );

    // Evidence files are checked, with file, line and column.
    let evidence = dir.path().join("evidence.json");
    std::fs::write(&evidence, "{\"check\": \"bola\",\n \"passed\": \"yes\"}").unwrap();
    let err = cli(
        &config,
        DisclosuresCommand::Verify {
            id: 1,
            evidence: evidence.clone(),
            actor: actor(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with(&format!("{}:2:", evidence.display())),
        "{err}"
    );

    // An illegal step names the state and what it is allowed from.
    let err = cli(
        &config,
        DisclosuresCommand::Disclose {
            id: 2,
            note: None,
            actor: actor(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "report #2 is received: it cannot be disclosed (allowed from verified)"
    );

    let json = cli(
        &config,
        DisclosuresCommand::List {
            state: Some(State::Received),
            json: true,
        },
    )
    .await
    .unwrap();
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["sla"]["overdue"], true);
    assert_eq!(rows[1]["report"]["title"], "new leak");
}
