//! `rampart inventory` reads the audit store the config names, prints the
//! inventory as JSON or text, and drafts the shadow endpoints as OpenAPI
//! that `rampart audit` reads.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::borrow::Cow;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use rampart_store::{AuditEvent, Store, Verdict};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_prints_json_and_text_and_drafts_the_shadow_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nservers: [{url: /api}]\nsecurity: []\npaths:\n  /a:\n    get:\n      operationId: getA\n      responses:\n        '200': {description: ok}\n  /old:\n    get:\n      operationId: getOld\n      deprecated: true\n      responses:\n        '200': {description: ok}\n",
    )
    .unwrap();
    let config = dir.path().join("rampart.yaml");
    std::fs::write(
        &config,
        "listen: 127.0.0.1:0\napis:\n  - name: t\n    spec: ./api.yaml\n    upstream: http://127.0.0.1:9\n",
    )
    .unwrap();
    // Events where the config's default store is.
    let store = Store::sqlite(&dir.path().join("rampart-events.db"))
        .await
        .unwrap();
    let now = SystemTime::now() - Duration::from_secs(60);
    let mut events = Vec::new();
    for (i, path) in ["/api/v1/items/1", "/api/v1/items/2", "/api/old"]
        .iter()
        .enumerate()
    {
        let mut e = AuditEvent::new(now, format!("r{i}"), "192.0.2.1");
        e.path = (*path).to_owned();
        if *path == "/api/old" {
            e.api = Some("t".into());
            e.operation = Some("getOld".into());
        } else {
            e.status = 404;
            e.decision = Verdict::Blocked;
            e.rules = vec![Cow::Borrowed("contract.route.unknown")];
        }
        events.push(e);
    }
    store.write(&events).await.unwrap();
    store.close().await;

    let draft = dir.path().join("draft.yaml");
    let out = rampart(&[
        "inventory",
        "--config",
        config.to_str().unwrap(),
        "--since",
        "1h",
        "--json",
        "--draft-openapi",
        draft.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inv["events"], 3);
    let api = &inv["apis"][0];
    assert_eq!(api["shadow"][0]["template"], "/api/v1/items/{id}");
    assert_eq!(api["shadow"][0]["calls"], 2);
    assert_eq!(api["zombies"]["never_called"], serde_json::json!(["getA"]));
    assert_eq!(
        api["zombies"]["deprecated_in_use"],
        serde_json::json!(["getOld"])
    );

    let audit = rampart(&["audit", draft.to_str().unwrap(), "--format", "json"]);
    assert_ne!(
        audit.status.code(),
        Some(2),
        "the draft loads: {}",
        String::from_utf8_lossy(&audit.stderr)
    );

    let text = rampart(&["inventory", "--config", config.to_str().unwrap()]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("GET /api/v1/items/{id}  2 calls"), "{text}");
    assert!(text.contains("deprecated, still called: getOld"), "{text}");

    let missing = rampart(&["inventory", "--config", "/nonexistent/rampart.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/rampart.yaml"),
        "the error names the file"
    );
}
