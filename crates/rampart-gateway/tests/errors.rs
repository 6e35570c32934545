//! Every refusal is an RFC 9457 `application/problem+json` document with
//! `type`, `title`, `status`, `detail`, `request_id` (equal to the
//! `x-request-id` header) and `rule`, and none leaks internal detail.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::json;
use support::{ClosedPort, Gateway, RIDERS, Upstream, send};
use tokio::net::TcpListener;

#[tokio::test]
async fn problems_carry_every_member_and_the_request_id() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answers = [
        gateway.get("/api/nowhere").await,
        send(gateway.request("DELETE", "/api/riders/7")).await,
        gateway.get("/api/riders?limit=ten").await,
        gateway
            .send_json("POST", "/api/riders", r#"{"name":"ann","role":"admin"}"#)
            .await,
        send(
            gateway
                .request("POST", "/api/riders")
                .header("content-type", "text/plain")
                .body("ann"),
        )
        .await,
        gateway.raw_get("/api/files/a%2Fb").await,
    ];
    let mut ids = Vec::new();
    for answer in &answers {
        let p = answer.assert_problem(answer.status, answer.json()["rule"].as_str().unwrap());
        assert!(answer.status >= 400, "{p}");
        assert!(p["type"].as_str().unwrap().starts_with("https://"), "{p}");
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{p}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        ids.push(answer.request_id().to_string());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), answers.len(), "each exchange has its own id");
}

#[tokio::test]
async fn an_unreachable_upstream_is_502_without_the_socket_error() {
    let dead = ClosedPort::reserve();
    let gateway = Gateway::builder_for(RIDERS, &dead.url()).start().await;
    let answer = gateway.get("/api/riders/7").await;
    let p = answer.assert_problem(502, "upstream.unavailable");
    let text = answer.text().to_lowercase();
    for internal in [
        "refused",
        "os error",
        "tcp",
        "connect",
        "hyper",
        &dead.addr.port().to_string(),
        "127.0.0.1",
    ] {
        assert!(!text.contains(internal), "leaks {internal:?}: {p}");
    }
    gateway
        .finish()
        .await
        .assert(&answer, "blocked", Some("upstream.unavailable"));
}

#[tokio::test]
async fn an_unreachable_upstream_is_502_in_monitor_mode_too() {
    let dead = ClosedPort::reserve();
    let gateway = Gateway::builder_for(RIDERS, &dead.url())
        .config(json!({"mode": "monitor"}))
        .start()
        .await;
    gateway
        .get("/api/riders/7")
        .await
        .assert_problem(502, "upstream.unavailable");
    gateway
        .get("/api/nowhere")
        .await
        .assert_problem(502, "upstream.unavailable");
}

#[tokio::test]
async fn a_silent_upstream_is_504_after_the_upstream_timeout() {
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let gateway = Gateway::builder_for(RIDERS, &format!("http://{addr}"))
        .config(json!({"limits": {"upstream_timeout_ms": 150}}))
        .start()
        .await;
    let answer = gateway.get("/api/riders/7").await;
    let p = answer.assert_problem(504, "upstream.unavailable");
    assert!(!answer.text().contains(&addr.port().to_string()), "{p}");
    keep.abort();
}

#[tokio::test]
async fn request_problems_explain_the_request_not_the_gateway() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = gateway.get("/api/riders?limit=ten&debug=1").await;
    let p = answer.assert_problem(400, answer.json()["rule"].as_str().unwrap());
    let errors = p["errors"].as_array().expect("every issue is listed");
    let locations: Vec<&str> = errors
        .iter()
        .map(|e| e["location"].as_str().unwrap())
        .collect();
    assert!(locations.contains(&"query.limit"), "{p}");
    assert!(locations.contains(&"query.debug"), "{p}");
    for e in errors {
        assert!(e["rule"].is_string() && e["message"].is_string(), "{e}");
    }
}
