//! The request target is normalized before routing, and the upstream
//! receives exactly the canonical form that was validated. Ambiguous
//! spellings (encoded slashes, dot segments, double encoding, method
//! overrides, absolute-form) are refused with 400 before anything else runs.
//!
//! Targets are written as raw bytes over TCP: an HTTP client library would
//! resolve dot segments or re-encode before the gateway ever saw them.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::json;
use support::{BothModes, Gateway, RIDERS, Upstream, send};

/// `GET raw` through a fresh enforcing gateway: returns the status and the
/// target the upstream received.
async fn forwarded(raw: &str) -> (u16, String) {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = gateway.raw_get(raw).await;
    assert!(answer.status < 400, "{raw}: {}", answer.text());
    let seen = upstream.only_request();
    gateway.finish().await.assert(&answer, "allowed", None);
    (answer.status, seen.target)
}

#[tokio::test]
async fn the_upstream_receives_the_canonical_path_and_query() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let cases = [
        // double slashes are collapsed
        ("//api//riders///7", "/api/riders/7"),
        // a trailing slash the template does not declare is dropped
        ("/api/riders/7/", "/api/riders/7"),
        // percent-decoding: unreserved bytes are sent decoded
        ("/api/riders/%37", "/api/riders/7"),
        ("/api/files/%7Euser%2Dnotes", "/api/files/~user-notes"),
        // everything else is sent encoded, with uppercase hex
        ("/api/files/caf%c3%a9", "/api/files/caf%C3%A9"),
        ("/api/files/a%20b", "/api/files/a%20b"),
        // the query is re-encoded: `+` is a space, sent as %20
        (
            "/api/riders?q=ann+lee&limit=5",
            "/api/riders?q=ann%20lee&limit=5",
        ),
        ("/api/riders?q=%41nn", "/api/riders?q=Ann"),
        ("/api/riders?q=a%3Bb", "/api/riders?q=a%3Bb"),
        ("/api/riders?q=a;b", "/api/riders?q=a%3Bb"),
        ("/api/riders?&&q=ann&", "/api/riders?q=ann"),
        ("/api/riders?", "/api/riders"),
    ];
    let mut answers = Vec::new();
    for (raw, canonical) in cases {
        let answer = gateway.raw_get(raw).await;
        assert!(answer.status < 400, "{raw}: {}", answer.text());
        let seen = upstream.requests().pop().unwrap();
        assert_eq!(seen.target, canonical, "what the upstream got for {raw}");
        answers.push(answer);
    }
    assert_eq!(upstream.requests().len(), cases.len());
    let log = gateway.finish().await;
    for answer in &answers {
        log.assert(answer, "allowed", None);
    }
}

#[tokio::test]
async fn a_trailing_slash_is_forwarded_only_when_the_template_declares_it() {
    assert_eq!(
        forwarded("/api/status/").await,
        (204, "/api/status/".to_string())
    );
    assert_eq!(
        forwarded("/api/status").await,
        (204, "/api/status/".to_string())
    );
    assert_eq!(
        forwarded("/api/riders/").await,
        (200, "/api/riders".to_string())
    );
}

#[tokio::test]
async fn a_decoded_path_parameter_is_validated() {
    // `%31%32` is "12": a valid rider id once decoded, whatever the spelling.
    assert_eq!(
        forwarded("/api/riders/%31%32").await,
        (200, "/api/riders/12".to_string())
    );
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    gateway
        .raw_get("/api/riders/%30")
        .await
        .assert_problem(400, "contract.param.schema");
    upstream.assert_untouched();
}

#[tokio::test]
async fn ambiguous_targets_are_400_before_routing() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let cases = [
        // %2F inside a segment: one segment here, two to an upstream that decodes first
        ("/api/files/a%2Fb", "normalize.encoded-slash"),
        (
            "/api/files/..%2f..%2fetc%2fpasswd",
            "normalize.encoded-slash",
        ),
        // dot segments, raw and encoded
        ("/api/riders/../admin/export", "normalize.dot-segment"),
        ("/api/./riders", "normalize.dot-segment"),
        ("/api/riders/%2e%2e/admin", "normalize.dot-segment"),
        ("/api/riders/.%2E/admin", "normalize.dot-segment"),
        ("/api/%2e/riders", "normalize.dot-segment"),
        ("/api/riders/7/..", "normalize.dot-segment"),
        // double encoding
        ("/api/files/a%252Fb", "normalize.double-encoding"),
        ("/api/riders/%252e%252e/admin", "normalize.double-encoding"),
        ("/api/riders?q=%2541", "normalize.double-encoding"),
        // method override in the query
        ("/api/riders/7?_method=DELETE", "normalize.method-override"),
        ("/api/riders?_METHOD=delete", "normalize.method-override"),
        (
            "/api/riders?x-http-method-override=PUT",
            "normalize.method-override",
        ),
        // other ambiguous spellings
        ("/api/files/a%5Cb", "normalize.backslash"),
        ("/api/riders;jsessionid=1/7", "normalize.matrix-parameter"),
        ("/api/files/a%00b", "normalize.control-character"),
        ("/api/files/%C0%AF", "normalize.invalid-utf8"),
        ("/api/files/a%zzb", "normalize.bad-percent-encoding"),
    ];
    let mut answers = Vec::new();
    for (raw, rule) in cases {
        let answer = gateway.raw_get(raw).await;
        assert_eq!(answer.status, 400, "{raw}: {}", answer.text());
        answer.assert_problem(400, rule);
        answers.push((answer, rule));
    }
    upstream.assert_untouched();
    let log = gateway.finish().await;
    for (answer, rule) in &answers {
        log.assert(answer, "blocked", Some(rule));
    }
}

#[tokio::test]
async fn method_override_headers_are_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for name in [
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
    ] {
        both.check(
            async |gw: &Gateway| {
                send(gw.request("GET", "/api/riders/7").header(name, "DELETE")).await
            },
            400,
            "normalize.method-override",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn absolute_form_targets_are_400() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = gateway
        .raw("GET http://internal.example/api/riders/7 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    answer.assert_problem(400, "normalize.not-origin-form");
    upstream.assert_untouched();
    gateway
        .finish()
        .await
        .assert(&answer, "blocked", Some("normalize.not-origin-form"));
}

#[tokio::test]
async fn lowercase_or_unknown_methods_are_400() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    for method in ["get", "PROPFIND"] {
        let answer = gateway
            .raw(&format!(
                "{method} /api/riders/7 HTTP/1.1\r\nHost: localhost\r\n\r\n"
            ))
            .await;
        answer.assert_problem(400, "normalize.method");
    }
    upstream.assert_untouched();
}

#[tokio::test]
async fn in_monitor_mode_an_ambiguous_target_is_flagged_and_forwarded_as_sent() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::in_mode("monitor", RIDERS, &upstream).await;
    let raw = "/api/riders/%2e%2e/admin/export";
    let answer = gateway.raw_get(raw).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), json!({"shadow": true}));
    assert_eq!(
        upstream.only_request().target,
        raw,
        "monitor never modifies"
    );
    gateway
        .finish()
        .await
        .assert(&answer, "flagged", Some("normalize.dot-segment"));
}
