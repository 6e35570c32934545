//! The Peloton story end to end: a report filed over a socket, triaged to
//! `getRider`, mitigated with a Cedar patch written where hot reload picks
//! it up, fixed, verified with scan evidence, disclosed; the reporter's
//! status page shows every step and a webhook receiver gets every
//! notification, signed.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::SystemTime;

use rampart_disclosure::cli::{ActorArg, DisclosuresCommand};
use rampart_disclosure::patch::{PatchKind, VirtualPatch, apply_patch};
use rampart_disclosure::report::Severity;
use rampart_disclosure::secret::verify_signature;
use rampart_disclosure::{Action, DisclosureError, Disclosures, Evidence, Intake, State};

const KEY: &str = "an-hmac-key-for-the-ops-webhook";

const PATCH: &str = r#"// Closes report: other riders' profiles are no longer readable.
@id("disclosure-private-profiles")
forbid(principal, action == Action::"getRider", resource)
  unless { resource.owner == principal || principal.role == "admin" };
"#;

#[tokio::test]
async fn a_report_goes_from_intake_to_disclosure_with_every_step_seen_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, mut hook) = support::webhook_receiver().await;
    std::fs::write(dir.path().join("hook.key"), format!("{KEY}\n")).unwrap();
    let config_path = support::write_config(
        dir.path(),
        &format!(
            "  security_txt:
    contact: ['mailto:security@riders.example']
    expires: '2099-01-01T00:00:00Z'
    policy: 'https://riders.example/security-policy'
    preferred_languages: [en]
  intake: {{enabled: true}}
  webhook: {{url: '{hook_url}', secret_file: hook.key}}
"
        ),
    );
    let loaded = rampart_config::load(&config_path).unwrap();
    let (desk, _task) = Disclosures::open(&loaded).await.unwrap();
    assert!(desk.operations().contains("getRider"));
    let desk = Arc::new(desk);
    let intake = Arc::new(Intake::new(&loaded.config.disclosure, desk.clone()).unwrap());
    let addr = support::serve_intake(intake).await;
    let http = support::client();
    let base = format!("http://{addr}");

    // security.txt and the form are public.
    let txt = http
        .get(format!("{base}/.well-known/security.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(txt.status(), 200);
    assert_eq!(txt.headers()["content-type"], "text/plain; charset=utf-8");
    let txt = txt.text().await.unwrap();
    assert!(
        txt.contains("Contact: mailto:security@riders.example\n"),
        "{txt}"
    );
    assert!(txt.contains("Expires: 2099-01-01T00:00:00Z\n"), "{txt}");
    let form = http
        .get(format!("{base}/disclosures/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(
        form.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(form.text().await.unwrap().contains("<form method=\"post\""));

    // 1. The researcher files the report.
    let filed = http
        .post(format!("{base}/disclosures/report"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "title": "Any rider's private profile is readable",
                "description": "GET /riders/{id} returns age, city and weight of private profiles to any member.",
                "endpoint": "GET /riders/{id}",
                "contact": "researcher@example.org"
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let location = filed.headers()["location"].to_str().unwrap().to_owned();
    let filed: serde_json::Value = filed.json().await.unwrap();
    let id = filed["id"].as_i64().unwrap();
    let token = filed["token"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/disclosures/status/{token}"));
    assert_eq!(filed["status_url"], location.as_str());
    let n = support::next(&mut hook).await;
    assert_eq!(n.json()["state"], "received");

    // 2. Triage to the rider-profile operation; unknown operations are refused.
    let bad = desk
        .apply(
            id,
            &Action::Triage {
                severity: Severity::High,
                operations: vec!["getRiderProfile".into()],
                check: None,
                note: None,
            },
            "alice",
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(
        bad.to_string()
            .contains("unknown operation getRiderProfile"),
        "{bad}"
    );
    desk.apply(
        id,
        &Action::Triage {
            severity: Severity::High,
            operations: vec!["getRider".into()],
            check: Some("bola".into()),
            note: Some("confirmed: private profiles leak".into()),
        },
        "alice",
        SystemTime::now(),
    )
    .await
    .unwrap();

    // 3. A virtual patch, validated and written into the policy directory.
    let patch = VirtualPatch {
        description: "deny other riders' profiles at the gateway".into(),
        kind: PatchKind::Cedar,
        content: PATCH.into(),
    };
    let written = apply_patch(&config_path, id, &patch, desk.operations()).unwrap();
    assert_eq!(
        written,
        dir.path()
            .join("policies")
            .join(format!("disclosure-{id}-1.cedar"))
    );
    assert_eq!(std::fs::read_to_string(&written).unwrap(), PATCH);
    // The policy directory as the gateway will load it holds the patch.
    let ops: Vec<&str> = desk.operations().iter().map(String::as_str).collect();
    rampart_policy::PolicyEngine::load(&dir.path().join("policies"), &ops, vec!["admin".into()])
        .unwrap();
    desk.apply(id, &Action::Mitigate { patch }, "alice", SystemTime::now())
        .await
        .unwrap();

    // 4. Fixed upstream, recorded through the CLI.
    let mut out = Vec::new();
    rampart_disclosure::cli::run(
        &config_path,
        DisclosuresCommand::Fix {
            id,
            note: Some("the API now checks ownership".into()),
            actor: ActorArg {
                actor: Some("bob".into()),
            },
        },
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("report #{id} is now fixed\n")
    );

    // 5. Verification needs passing evidence for the triaged check and operation.
    let failing = Evidence {
        check: "bola".into(),
        operations: vec!["getRider".into()],
        passed: false,
        run_id: Some("scan-1".into()),
        details: serde_json::json!({"leaked": 12}),
    };
    let refused = desk
        .apply(
            id,
            &Action::Verify { evidence: failing },
            "carol",
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, DisclosureError::Invalid(_)), "{refused}");
    let passing = Evidence {
        check: "bola".into(),
        operations: vec!["getRider".into()],
        passed: true,
        run_id: Some("scan-2".into()),
        details: serde_json::json!({"requests": 40, "leaked": 0}),
    };
    let verified = desk
        .apply(
            id,
            &Action::Verify {
                evidence: passing.clone(),
            },
            "carol",
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(verified.evidence, Some(passing));

    // 6. Disclosed.
    desk.apply(
        id,
        &Action::Disclose {
            note: Some("advisory RIDERS-2021-01".into()),
        },
        "alice",
        SystemTime::now(),
    )
    .await
    .unwrap();

    // The status page (fetched with the token) shows each step.
    let steps = [
        State::Received,
        State::Triaged,
        State::Mitigated,
        State::Fixed,
        State::Verified,
        State::Disclosed,
    ];
    let page = http.get(format!("{base}{location}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let page = page.text().await.unwrap();
    for step in steps {
        assert!(
            page.contains(&format!("<strong>{step}</strong>")),
            "{step} missing:\n{page}"
        );
    }
    assert!(page.contains("advisory RIDERS-2021-01"));
    let status: serde_json::Value = http
        .get(format!("{base}{location}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "disclosed");
    let seen: Vec<&str> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(seen, steps.map(|s| s.as_str()));
    assert!(status.get("actor").is_none() && !status.to_string().contains("alice"));

    // The webhook got every change, in order, each signed with the key.
    let mut states = vec![n.json()["state"].as_str().unwrap().to_owned()];
    assert!(verify_signature(
        KEY.as_bytes(),
        &n.body,
        n.headers["x-rampart-signature"].to_str().unwrap()
    ));
    for _ in 1..steps.len() {
        let n = support::next(&mut hook).await;
        let signature = n.headers["x-rampart-signature"].to_str().unwrap();
        assert!(
            verify_signature(KEY.as_bytes(), &n.body, signature),
            "bad signature"
        );
        assert!(!verify_signature(
            b"another-key-entirely",
            &n.body,
            signature
        ));
        let body = n.json();
        assert_eq!(body["report_id"], id);
        assert_eq!(body["event"], "state_changed");
        states.push(body["state"].as_str().unwrap().to_owned());
    }
    assert_eq!(states, steps.map(|s| s.as_str()));

    // The history is complete, attributed, and append-only.
    let history = desk.tracker().history(id).await.unwrap();
    let actors: Vec<&str> = history.iter().map(|h| h.actor.as_str()).collect();
    assert_eq!(
        actors,
        ["reporter", "alice", "alice", "bob", "carol", "alice"]
    );
    assert!(
        history
            .windows(2)
            .all(|w| w[0].at_ms <= w[1].at_ms && w[0].seq < w[1].seq)
    );
    assert!(history.windows(2).all(|w| w[0].to == w[1].from.unwrap()));
    let db = dir.path().join("rampart-disclosures.db");
    let update = support::sqlite_exec(&db, "UPDATE disclosure_history SET actor = 'mallory'")
        .await
        .unwrap_err();
    assert!(update.contains("append-only"), "{update}");
    let delete = support::sqlite_exec(&db, "DELETE FROM disclosure_history")
        .await
        .unwrap_err();
    assert!(delete.contains("append-only"), "{delete}");
    // The triggers guard the history only: report rows stay writable.
    assert_eq!(
        support::sqlite_exec(&db, "UPDATE disclosure_reports SET updated_ms = updated_ms").await,
        Ok(1)
    );
    assert_eq!(desk.tracker().history(id).await.unwrap(), history);

    // `show` prints the whole story.
    let mut out = Vec::new();
    rampart_disclosure::cli::run(
        &config_path,
        DisclosuresCommand::Show { id, json: false },
        &mut out,
    )
    .await
    .unwrap();
    let shown = String::from_utf8(out).unwrap();
    for needle in [
        "state:      disclosed",
        "operations: getRider",
        "by bob: the API now checks ownership",
    ] {
        assert!(shown.contains(needle), "{needle} missing:\n{shown}");
    }
}

#[tokio::test]
async fn an_invalid_cedar_patch_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = support::write_config(dir.path(), "  intake: {enabled: true}\n");
    let ops = rampart_disclosure::service::operations_of_spec(&support::riders_spec()).unwrap();
    for content in [
        "forbid(principal, action == Action::\"noSuchOperation\", resource);",
        "this is not cedar",
    ] {
        let patch = VirtualPatch {
            description: "bad".into(),
            kind: PatchKind::Cedar,
            content: content.into(),
        };
        let err = apply_patch(&config_path, 1, &patch, &ops).unwrap_err();
        assert!(matches!(err, DisclosureError::Patch(_)), "{err}");
    }
    let files: Vec<_> = std::fs::read_dir(dir.path().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["riders.cedar"]);
}

#[tokio::test]
async fn a_config_patch_must_load_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = support::write_config(dir.path(), "  intake: {enabled: true}\n");
    let before = std::fs::read_to_string(&config_path).unwrap();
    let ops = rampart_disclosure::service::operations_of_spec(&support::riders_spec()).unwrap();
    let broken = VirtualPatch {
        description: "typo".into(),
        kind: PatchKind::Config,
        content: "apis: []\nmdoe: enforce\n".into(),
    };
    let err = apply_patch(&config_path, 7, &broken, &ops).unwrap_err();
    assert!(err.to_string().contains("does not load"), "{err}");
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), before);
    let stricter = VirtualPatch {
        description: "getRider in enforce mode".into(),
        kind: PatchKind::Config,
        content: before.replace(
            "    upstream: 'http://127.0.0.1:3080'\n",
            "    upstream: 'http://127.0.0.1:3080'\n    operations: {getRider: {mode: enforce}}\n",
        ),
    };
    apply_patch(&config_path, 7, &stricter, &ops).unwrap();
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        stricter.content
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rampart.yaml.before-disclosure-7")).unwrap(),
        before
    );
}
