//! HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on the same plain port;
//! with `tls` configured, HTTPS with ALPN choosing `h2` or `http/1.1`. The
//! contract is enforced the same way whatever the protocol, and the upstream
//! always gets HTTP/1.1 with the canonical target.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use http::Version;
use serde_json::json;
use support::{Gateway, RIDERS, Upstream, get_over, h2c_client, send, tls_connect};

#[tokio::test]
async fn h2c_and_http1_are_served_on_the_same_port() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let h2c = h2c_client();

    let over_h2 = send(h2c.get(gateway.url("/api/riders/7"))).await;
    assert_eq!(over_h2.version, Version::HTTP_2);
    assert_eq!(over_h2.status, 200, "{}", over_h2.text());
    assert_eq!(over_h2.json(), json!({"id": 7, "name": "ann"}));

    let over_h1 = gateway.get("/api/riders/7").await;
    assert_eq!(over_h1.version, Version::HTTP_11);
    assert_eq!(over_h1.status, 200);

    for seen in upstream.requests() {
        assert_eq!(seen.version, Version::HTTP_11);
        assert_eq!(seen.target, "/api/riders/7");
        assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    }
    let log = gateway.finish().await;
    log.assert(&over_h2, "allowed", None);
    log.assert(&over_h1, "allowed", None);
}

#[tokio::test]
async fn the_contract_is_enforced_over_h2c() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let h2c = h2c_client();
    let refused = send(h2c.get(gateway.url("/api/riders?debug=1"))).await;
    assert_eq!(refused.version, Version::HTTP_2);
    refused.assert_problem(400, "contract.param.undeclared");
    let shadow = send(h2c.get(gateway.url("/api/admin/export"))).await;
    shadow.assert_problem(404, "contract.route.unknown");
    let override_ = send(
        h2c.get(gateway.url("/api/riders/7"))
            .header("x-http-method-override", "DELETE"),
    )
    .await;
    override_.assert_problem(400, "normalize.method-override");
    let escalation = send(
        h2c.post(gateway.url("/api/riders"))
            .header("content-type", "application/json")
            .body(r#"{"name":"ann","role":"admin"}"#),
    )
    .await;
    escalation.assert_problem(422, "contract.body.read-only");
    let created = send(
        h2c.post(gateway.url("/api/riders"))
            .header("content-type", "application/json")
            .body(r#"{"name":"ann"}"#),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(upstream.only_request().body, r#"{"name":"ann"}"#.as_bytes());
}

#[tokio::test]
async fn tls_negotiates_h2_with_alpn() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream).tls().start().await;
    let (stream, alpn) = tls_connect(&gateway, &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let answer = get_over(stream, true, "/api/riders/7").await;
    assert_eq!(answer.version, Version::HTTP_2);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), json!({"id": 7, "name": "ann"}));
    let seen = upstream.only_request();
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.target, "/api/riders/7");
    gateway.finish().await.assert(&answer, "allowed", None);
}

#[tokio::test]
async fn tls_negotiates_http1_with_alpn() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream).tls().start().await;
    let (stream, alpn) = tls_connect(&gateway, &[b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let answer = get_over(stream, false, "/api/riders/7").await;
    assert_eq!(answer.version, Version::HTTP_11);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        upstream.only_request().header("x-forwarded-proto"),
        Some("https")
    );
}

#[tokio::test]
async fn the_contract_is_enforced_over_tls() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream).tls().start().await;
    for (alpn, h2) in [(&b"h2"[..], true), (&b"http/1.1"[..], false)] {
        let (stream, _) = tls_connect(&gateway, &[alpn]).await;
        let answer = get_over(stream, h2, "/api/riders?limit=500").await;
        answer.assert_problem(400, "contract.param.schema");
        let (stream, _) = tls_connect(&gateway, &[alpn]).await;
        let answer = get_over(stream, h2, "/api/riders/%2e%2e/admin").await;
        answer.assert_problem(400, "normalize.dot-segment");
    }
    upstream.assert_untouched();
}

#[tokio::test]
async fn a_tls_listener_does_not_answer_plain_http() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream).tls().start().await;
    let plain = support::client()
        .get(gateway.url("/api/riders/7"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    upstream.assert_untouched();
}
