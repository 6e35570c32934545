//! SIGKILL under load loses no acknowledged audit event: with
//! `store.commit_before_response`, every answer a client received has its
//! event in the store, even when the gateway is killed without warning
//! mid-stream.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Proc, client, upstream};

/// Answers the clients must have before the kill.
const ACKED_BEFORE_KILL: usize = 1500;
const CLIENTS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nsecurity: []\npaths:\n  /items/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: object}}}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rampart.yaml"),
        format!(
            "listen: 127.0.0.1:0\napis:\n  - name: t\n    spec: ./api.yaml\n    upstream: {up}\nlog:\n  security: ./security.log\nstore:\n  sink: sqlite\n  sqlite: {{path: ./events.db}}\n  batch_max_delay_ms: 5\n  commit_before_response: true\ndetection:\n  enabled: false\n"
        ),
    )
    .unwrap();
    let mut proc = Proc::start(&[
        "serve",
        "--config",
        dir.path().join("rampart.yaml").to_str().unwrap(),
    ]);
    let line = proc.stderr_line("rampart is serving");
    let gw = format!("http://{}", line.split("listen=").nth(1).unwrap().trim());

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let acked = acked.clone();
        let refused = refused.clone();
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            let client = client();
            let mut i = 0u64;
            loop {
                i += 1;
                let url = format!("{gw}/items/{}", (c as u64) * 1_000_000 + i);
                let Ok(resp) = client.get(&url).send().await else {
                    // The gateway is gone.
                    return;
                };
                if resp.status() == 503 {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                assert_eq!(resp.status(), 200, "{url}");
                let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
                acked.lock().unwrap().push(id);
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load did not reach {ACKED_BEFORE_KILL} answers"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL: no drain, no flush, no shutdown hook.
    proc.child.kill().unwrap();
    proc.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();

    let store = rampart_store::Store::sqlite(&dir.path().join("events.db"))
        .await
        .unwrap();
    let stored: HashSet<String> = store
        .query(&rampart_store::EventQuery {
            limit: rampart_store::EventQuery::MAX_LIMIT,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.request_id)
        .collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    println!(
        "SIGKILL under load: {} answers acknowledged before the kill, {} events stored, {} acknowledged but missing, {} refused with 503",
        acked.len(),
        stored.len(),
        missing.len(),
        refused.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(acked.len() >= ACKED_BEFORE_KILL);
    assert!(
        stored.len() < rampart_store::EventQuery::MAX_LIMIT,
        "the query must see every stored event"
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
}
