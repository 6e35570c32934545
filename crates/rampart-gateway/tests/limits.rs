//! Rate limits in the throttle phase: 429 with `Retry-After`, the IETF
//! `RateLimit`/`RateLimit-Policy` headers on every answer, login protection
//! (`on: failure`), client addresses that cannot be spoofed without trusted
//! proxies, and monitor mode.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Gateway, Reply, Upstream, riders_reply};

async fn limited(rule: serde_json::Value, mode: &str) -> (Upstream, Gateway) {
    let upstream = Upstream::start(riders_reply).await;
    let gw = Gateway::builder(support::RIDERS, &upstream)
        .config(json!({"mode": mode, "rate_limits": [rule]}))
        .start()
        .await;
    (upstream, gw)
}

#[tokio::test]
async fn the_request_over_the_limit_gets_429_with_retry_after_and_ratelimit_headers() {
    let (upstream, gw) = limited(
        json!({"name": "per-ip", "key": ["ip"], "rate": "3/min", "burst": 3}),
        "enforce",
    )
    .await;
    for i in 0..3 {
        let a = gw.get("/api/riders").await;
        assert_eq!(a.status, 200, "request {i}: {}", a.text());
        assert_eq!(a.header("ratelimit-policy"), Some(r#""per-ip";q=3;w=60"#));
        assert!(a.header("ratelimit").unwrap().starts_with(r#""per-ip";r="#));
    }
    let over = gw.get("/api/riders").await;
    over.assert_problem(429, "limit.rate");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one token comes back every 20 s: {retry}"
    );
    assert!(over.header("ratelimit").unwrap().contains(";r=0"));
    assert_eq!(
        upstream.requests().len(),
        3,
        "the refused request never reached the upstream"
    );
    gw.finish()
        .await
        .assert(&over, "blocked", Some("limit.rate"));
}

#[tokio::test]
async fn forwarded_for_is_not_trusted_without_trusted_proxies() {
    let (_upstream, gw) = limited(
        json!({"name": "per-ip", "key": ["ip"], "rate": "2/min", "burst": 2}),
        "enforce",
    )
    .await;
    for i in 0..2 {
        let a = support::send(
            gw.request("GET", "/api/riders")
                .header("x-forwarded-for", format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(a.status, 200);
    }
    // A new spoofed address does not buy a new budget.
    let a = support::send(
        gw.request("GET", "/api/riders")
            .header("x-forwarded-for", "198.51.100.7"),
    )
    .await;
    a.assert_problem(429, "limit.rate");
    let log = gw.finish().await;
    assert_eq!(log.of(&a)["client_ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let upstream = Upstream::start(riders_reply).await;
    let gw = Gateway::builder(support::RIDERS, &upstream)
        .config(json!({
            "rate_limits": [{"name": "per-ip", "key": ["ip"], "rate": "1/min", "burst": 1}],
            "client_ip": {"trusted_proxies": ["127.0.0.1"]}
        }))
        .start()
        .await;
    let first = support::send(
        gw.request("GET", "/api/riders")
            .header("x-forwarded-for", "203.0.113.1"),
    )
    .await;
    let other = support::send(
        gw.request("GET", "/api/riders")
            .header("x-forwarded-for", "203.0.113.2"),
    )
    .await;
    let again = support::send(
        gw.request("GET", "/api/riders")
            .header("x-forwarded-for", "203.0.113.1"),
    )
    .await;
    assert_eq!(
        (first.status, other.status),
        (200, 200),
        "two clients, two budgets"
    );
    again.assert_problem(429, "limit.rate");
    let log = gw.finish().await;
    assert_eq!(log.of(&other)["client_ip"], "203.0.113.2");
}

const LOGIN_SPEC: &str = r##"
openapi: 3.1.0
info: {title: Login, version: "1"}
security: []
paths:
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties: {username: {type: string}, password: {type: string}}
      responses:
        "200": {description: ok}
        "401":
          description: wrong credentials
          content:
            application/json:
              schema: {type: object, properties: {error: {type: string}}}
"##;

#[tokio::test]
async fn failed_logins_spend_an_on_failure_budget_and_then_get_429() {
    // The upstream refuses every login: only failures are counted.
    let upstream = Upstream::start(|_| Reply::json(401, json!({"error": "bad password"}))).await;
    let gw = Gateway::builder(LOGIN_SPEC, &upstream)
        .config(json!({
            "rate_limits": [{"name": "login-ip", "key": ["ip"], "rate": "3/h", "burst": 3,
                             "operations": ["login"], "on": "failure"}]
        }))
        .start()
        .await;
    let body = r#"{"username":"sam","password":"guessing"}"#;
    for _ in 0..3 {
        let a = gw.send_json("POST", "/login", body).await;
        assert_eq!(a.status, 401, "{}", a.text());
    }
    let spent = gw.send_json("POST", "/login", body).await;
    spent.assert_problem(429, "limit.rate");
    assert_eq!(
        upstream.requests().len(),
        3,
        "the fourth guess never reached the upstream"
    );
    gw.finish().await;
}

#[tokio::test]
async fn monitor_mode_flags_but_never_refuses() {
    let (upstream, gw) = limited(
        json!({"name": "per-ip", "key": ["ip"], "rate": "1/min", "burst": 1}),
        "monitor",
    )
    .await;
    let first = gw.get("/api/riders").await;
    let second = gw.get("/api/riders").await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(upstream.requests().len(), 2);
    gw.finish()
        .await
        .assert(&second, "flagged", Some("limit.rate"));
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed_or_open_as_configured() {
    let closed = support::ClosedPort::reserve();
    for (policy, want) in [("fail_closed", 503), ("fail_open", 200)] {
        let upstream = Upstream::start(riders_reply).await;
        let gw = Gateway::builder(support::RIDERS, &upstream)
            .config(json!({
                "rate_limits": [{"name": "per-ip", "key": ["ip"], "rate": "100/s"}],
                "cluster": {"redis_url": format!("redis://{}", closed.addr), "on_redis_error": policy}
            }))
            .start()
            .await;
        let a = gw.get("/api/riders").await;
        assert_eq!(a.status, want, "{policy}: {}", a.text());
        if want == 503 {
            a.assert_problem(503, "limit.unavailable");
        }
        gw.finish().await;
    }
}
