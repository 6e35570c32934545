//! `rampart serve` as an operator runs it: hot reload on file change and on
//! SIGHUP, refusal of an invalid new config (the last good one keeps serving),
//! and a graceful SIGTERM that lets in-flight requests finish.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::convert::Infallible;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Proc, client};

/// A real upstream: `/things/{id}` answers JSON, `/slow` answers after 700 ms.
async fn upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        if req.uri().path() == "/slow" {
                            tokio::time::sleep(Duration::from_millis(700)).await;
                        }
                        let resp = Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(br#"{"id":1}"#)))
                            .unwrap();
                        Ok::<_, Infallible>(resp)
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

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
