//! Every exchange lands in the audit store (SQLite by default), and
//! `rampart events` reads it back with filters.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::process::Command;

use support::{Proc, client, upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exchanges_are_stored_and_queried_by_rampart_events() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nsecurity: []\npaths:\n  /a:\n    get:\n      operationId: getA\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: object}}}}\n",
    )
    .unwrap();
    let config = dir.path().join("rampart.yaml");
    std::fs::write(
        &config,
        format!("listen: 127.0.0.1:0\napis:\n  - name: t\n    spec: ./api.yaml\n    upstream: {up}\nlog:\n  security: ./security.log\n"),
    )
    .unwrap();
    let proc = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    let line = proc.stderr_line("rampart is serving");
    let base = format!("http://{}", line.split("listen=").nth(1).unwrap().trim());
    for path in ["/a", "/a", "/nope"] {
        client().get(format!("{base}{path}")).send().await.unwrap();
    }
    assert!(proc.stop().success(), "SIGTERM drains the store's queue");
    assert!(
        dir.path().join("rampart-events.db").is_file(),
        "SQLite is the default store"
    );

    let events = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["events", "--config", config.to_str().unwrap(), "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let all = events(&[]);
    assert_eq!(all.len(), 3, "{all:?}");
    let blocked = events(&["--decision", "blocked"]);
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["path"], "/nope");
    assert_eq!(blocked[0]["rules"][0], "contract.route.unknown");
    let by_op = events(&["--operation", "getA", "--since", "1h"]);
    assert_eq!(by_op.len(), 2);
    assert!(
        by_op
            .iter()
            .all(|e| e["status"] == 200 && e["records"] == 1)
    );
}
