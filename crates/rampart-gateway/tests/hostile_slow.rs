//! Slow clients: slowloris (a request head trickled a line at a time) and
//! slow POST (a body trickled a byte at a time). The gateway must give up
//! on such a client within its configured timeout, close the connection,
//! never forward the unfinished request, and keep serving everyone else
//! meanwhile.
//!
//! The timeouts are set short through the config (`limits.*_timeout_ms`) so
//! the suite stays fast; the bound each test asserts is the timeout plus
//! generous scheduling slack for a loaded CI machine.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::raw::trickle;
use support::{Gateway, RIDERS, Upstream};

const HEADER_TIMEOUT_MS: u64 = 400;
const BODY_TIMEOUT_MS: u64 = 400;
/// How long past its timeout a slow client may hold a connection.
const SLACK: Duration = Duration::from_millis(2_000);
const EVERY: Duration = Duration::from_millis(100);

async fn short_timeouts() -> (Upstream, Gateway) {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"limits": {
            "header_read_timeout_ms": HEADER_TIMEOUT_MS,
            "request_body_timeout_ms": BODY_TIMEOUT_MS,
        }}))
        .start()
        .await;
    (upstream, gateway)
}

/// Well-formed requests from other clients are answered promptly while the
/// slow one is held.
async fn others_are_served(gateway: &Gateway) {
    for _ in 0..3 {
        let started = Instant::now();
        let answer = gateway.get("/api/riders/7").await;
        assert_eq!(answer.status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "another client waited {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn slowloris_headers_are_cut_off_at_the_header_timeout() {
    let (upstream, gateway) = short_timeouts().await;
    let lines: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("X-Slow-{i}: a\r\n").into_bytes())
        .collect();
    let bound = Duration::from_millis(HEADER_TIMEOUT_MS) + SLACK;
    let slow = tokio::spawn(trickle(
        gateway.addr,
        b"GET /api/riders/7 HTTP/1.1\r\nHost: x\r\n".to_vec(),
        lines,
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = slow.await.unwrap();
    assert!(
        outcome.closed,
        "the slow client was never cut off: {outcome:#?}"
    );
    assert!(
        outcome.elapsed <= bound,
        "cut off after {:?}",
        outcome.elapsed
    );
    // Either closed silently or with 408; never a forwarded request.
    for answer in &outcome.responses {
        assert_eq!(answer.status, 408, "{outcome:#?}");
    }
    assert_eq!(
        upstream.requests().len(),
        3,
        "only the other clients' requests"
    );
    assert!(
        upstream
            .requests()
            .iter()
            .all(|r| r.header("x-slow-0").is_none())
    );
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_cut_off() {
    let (upstream, gateway) = short_timeouts().await;
    let bound = Duration::from_millis(HEADER_TIMEOUT_MS) + SLACK;
    let idle = tokio::spawn(trickle(
        gateway.addr,
        Vec::new(),
        Vec::new(),
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = idle.await.unwrap();
    assert!(outcome.closed, "{outcome:#?}");
    assert!(
        outcome.elapsed <= bound,
        "cut off after {:?}",
        outcome.elapsed
    );
    assert_eq!(upstream.requests().len(), 3);
}

#[tokio::test]
async fn slow_post_of_a_json_body_is_408_and_never_forwarded() {
    let (upstream, gateway) = short_timeouts().await;
    let body = br#"{"name":"a-rather-slow-rider"}"#;
    let head = format!(
        "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let pieces: Vec<Vec<u8>> = body.chunks(1).map(<[u8]>::to_vec).collect();
    let bound = Duration::from_millis(BODY_TIMEOUT_MS) + SLACK;
    let slow = tokio::spawn(trickle(
        gateway.addr,
        head.into_bytes(),
        pieces,
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = slow.await.unwrap();
    let answer = outcome.assert_refused_and_closed(408).clone();
    answer.assert_problem(408, "contract.body.malformed");
    assert!(
        outcome.elapsed <= bound,
        "cut off after {:?}",
        outcome.elapsed
    );
    assert!(
        upstream.requests().iter().all(|r| r.method == "GET"),
        "the slow POST reached the upstream: {:#?}",
        upstream.requests()
    );
    gateway
        .finish()
        .await
        .assert(&answer, "blocked", Some("contract.body.malformed"));
}

#[tokio::test]
async fn slow_post_of_a_streamed_body_is_cut_off_at_the_body_timeout() {
    // An octet-stream body is streamed, not buffered; the body timeout must
    // still hold, or one slow client ties up an upstream connection for as
    // long as it likes.
    let (upstream, gateway) = short_timeouts().await;
    let body = [b'x'; 64];
    let head = format!(
        "PUT /api/uploads/slow.bin HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let pieces: Vec<Vec<u8>> = body.chunks(1).map(<[u8]>::to_vec).collect();
    let bound = Duration::from_millis(BODY_TIMEOUT_MS) + SLACK;
    let slow = tokio::spawn(trickle(
        gateway.addr,
        head.into_bytes(),
        pieces,
        EVERY,
        bound + Duration::from_secs(5),
    ));
    others_are_served(&gateway).await;
    let outcome = slow.await.unwrap();
    let answer = outcome.assert_refused_and_closed(408).clone();
    answer.assert_problem(408, "contract.body.malformed");
    assert!(
        outcome.elapsed <= bound,
        "cut off after {:?}",
        outcome.elapsed
    );
    // The upstream may have seen the head of the streamed upload, never a
    // complete body.
    for seen in upstream.requests().iter().filter(|r| r.method == "PUT") {
        assert!(seen.body.len() < 64, "{seen:?}");
    }
    gateway
        .finish()
        .await
        .assert(&answer, "blocked", Some("contract.body.malformed"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    // After one complete exchange, a keep-alive connection that never sends
    // the next request is a slowloris too: it holds a connection slot.
    let (upstream, gateway) = short_timeouts().await;
    let bound = Duration::from_millis(HEADER_TIMEOUT_MS) + SLACK;
    let idle = tokio::spawn(trickle(
        gateway.addr,
        b"GET /api/riders/7 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        Vec::new(),
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = idle.await.unwrap();
    assert_eq!(outcome.responses.len(), 1, "{outcome:#?}");
    assert_eq!(outcome.responses[0].status, 200);
    assert!(
        outcome.closed,
        "an idle keep-alive connection was held: {outcome:#?}"
    );
    assert!(
        outcome.elapsed <= bound,
        "closed after {:?}",
        outcome.elapsed
    );
    assert_eq!(upstream.requests().len(), 4);
}

#[tokio::test]
async fn a_partial_http2_preface_is_cut_off_at_the_header_timeout() {
    // Protocol detection waits for the 24-byte HTTP/2 preface; a client that
    // sends part of it and stops must not hold the connection forever.
    let (upstream, gateway) = short_timeouts().await;
    let bound = Duration::from_millis(HEADER_TIMEOUT_MS) + SLACK;
    let stalled = tokio::spawn(trickle(
        gateway.addr,
        b"PRI * HTTP/2.0\r\n".to_vec(),
        Vec::new(),
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = stalled.await.unwrap();
    assert!(outcome.closed, "{outcome:#?}");
    assert!(
        outcome.elapsed <= bound,
        "closed after {:?}",
        outcome.elapsed
    );
    assert_eq!(upstream.requests().len(), 3);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    // A complete preface and SETTINGS, then nothing: no stream is ever
    // opened, yet the connection holds a slot.
    let (upstream, gateway) = short_timeouts().await;
    let bound = Duration::from_millis(HEADER_TIMEOUT_MS) + SLACK;
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let idle = tokio::spawn(trickle(
        gateway.addr,
        hello,
        Vec::new(),
        EVERY,
        bound + Duration::from_secs(3),
    ));
    others_are_served(&gateway).await;
    let outcome = idle.await.unwrap();
    assert!(
        outcome.closed,
        "an idle HTTP/2 connection was held: {:?}",
        outcome.elapsed
    );
    assert!(
        outcome.elapsed <= bound,
        "closed after {:?}",
        outcome.elapsed
    );
    assert_eq!(upstream.requests().len(), 3);
}
