//! `rampart serve` as an operator runs it: hot reload on file change and on
//! SIGHUP, refusal of an invalid new config (the last good one keeps serving),
//! and a graceful SIGTERM that lets in-flight requests finish.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Proc, client, upstream};

fn spec(paths: &[&str]) -> String {
    let mut s =
        String::from("openapi: 3.1.0\ninfo: {title: t, version: '1'}\nsecurity: []\npaths:\n");
    for p in paths {
        s.push_str(&format!(
            "  {p}:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{type: object, properties: {{id: {{type: integer}}}}}}\n"
        ));
    }
    s
}

fn config(upstream: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\napis:\n  - name: t\n    spec: ./api.yaml\n    upstream: {upstream}\nlog:\n  security: ./security.log\n"
    )
}

fn serve(dir: &Path) -> (Proc, String) {
    let proc = Proc::start(&[
        "serve",
        "--config",
        dir.join("rampart.yaml").to_str().unwrap(),
    ]);
    let line = proc.stderr_line("rampart is serving");
    let addr = line.split("listen=").nth(1).unwrap().trim().to_string();
    (proc, format!("http://{addr}"))
}

async fn status(url: &str) -> u16 {
    client().get(url).send().await.unwrap().status().as_u16()
}

/// Poll (bounded) until `url` answers `want`.
async fn eventually(url: &str, want: u16) {
    for _ in 0..100 {
        if status(url).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reloads_on_change_refuses_invalid_config_and_reloads_on_sighup() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api.yaml"), spec(&["/a"])).unwrap();
    std::fs::write(dir.path().join("rampart.yaml"), config(&up)).unwrap();
    let (proc, base) = serve(dir.path());
    assert_eq!(status(&format!("{base}/a")).await, 200);
    assert_eq!(status(&format!("{base}/b")).await, 404);

    // A spec change is picked up without a restart.
    std::fs::write(dir.path().join("api.yaml"), spec(&["/a", "/b"])).unwrap();
    eventually(&format!("{base}/b"), 200).await;
    proc.stderr_line("configuration reloaded");

    // An invalid new config is refused; the last good one keeps serving.
    std::fs::write(
        dir.path().join("rampart.yaml"),
        config(&up).replace("apis:", "apiz:"),
    )
    .unwrap();
    let refused = proc.stderr_line("reload refused");
    assert!(refused.contains("rampart.yaml"), "{refused}");
    assert_eq!(status(&format!("{base}/b")).await, 200);

    // SIGHUP reloads on demand.
    std::fs::write(dir.path().join("rampart.yaml"), config(&up)).unwrap();
    proc.stderr_line("configuration reloaded");
    proc.signal("HUP");
    let line = proc.stderr_line("configuration reloaded");
    assert!(line.contains("SIGHUP"), "{line}");
    assert!(proc.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_in_flight_requests_finish() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api.yaml"), spec(&["/slow"])).unwrap();
    std::fs::write(dir.path().join("rampart.yaml"), config(&up)).unwrap();
    let (proc, base) = serve(dir.path());
    let url = format!("{base}/slow");
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { client().get(url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Let the requests reach the upstream before asking for shutdown.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let exit = tokio::task::spawn_blocking(move || proc.stop())
        .await
        .unwrap();
    assert!(exit.success());
    for r in in_flight {
        assert_eq!(r.await.unwrap().expect("in-flight request completed"), 200);
    }
    let log = std::fs::read_to_string(dir.path().join("security.log")).unwrap();
    assert_eq!(
        log.lines().count(),
        5,
        "every exchange recorded before exit:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_listener_serves_metrics_only_with_the_token() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef0123456789abcdef-admin";
    std::fs::write(dir.path().join("api.yaml"), spec(&["/a"])).unwrap();
    std::fs::write(dir.path().join("admin.token"), token).unwrap();
    std::fs::write(
        dir.path().join("rampart.yaml"),
        config(&up) + "admin:\n  listen: 127.0.0.1:0\n  token_file: ./admin.token\n",
    )
    .unwrap();
    let proc = Proc::start(&[
        "serve",
        "--config",
        dir.path().join("rampart.yaml").to_str().unwrap(),
    ]);
    let line = proc.stderr_line("admin API is serving");
    let admin = format!("http://{}", line.split("listen=").nth(1).unwrap().trim());
    let line = proc.stderr_line("rampart is serving");
    let base = format!("http://{}", line.split("listen=").nth(1).unwrap().trim());
    assert_eq!(status(&format!("{base}/a")).await, 200);
    assert_eq!(status(&format!("{base}/nope")).await, 404);

    let metrics = format!("{admin}/metrics");
    assert_eq!(status(&metrics).await, 401, "no token");
    let wrong = client()
        .get(&metrics)
        .bearer_auth("x".repeat(40))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "wrong token");
    let ok = client()
        .get(&metrics)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let text = ok.text().await.unwrap();
    assert!(
        text.contains(r#"rampart_requests_total{api="t",operation="GET /a",decision="allowed",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"rampart_rule_hits_total{rule="contract.route.unknown",decision="blocked"} 1"#
        ),
        "{text}"
    );
    // The admin routes are not on the public listener.
    assert_eq!(status(&format!("{base}/metrics")).await, 404);
    assert!(proc.stop().success());
}
