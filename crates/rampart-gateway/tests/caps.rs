//! Every cap, with a hostile request just over it and an honest one just
//! under it: body size, header count and size, JSON nesting, array length
//! and string length, client connections, and the upstream's concurrency
//! cap with its bounded queue. (Timeouts and slow clients are in
//! `hostile_slow.rs`; contract-derived bounds such as `maxLength` and a
//! `limit` parameter's `maximum` in `contract_requests.rs`.)
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Gateway, Upstream, riders_reply};

async fn capped(limits: serde_json::Value) -> (Upstream, Gateway) {
    let upstream = Upstream::start(riders_reply).await;
    // Undeclared headers are let through here, so the padding headers are
    // judged by the caps alone.
    let gw = Gateway::builder(support::RIDERS, &upstream)
        .config(json!({ "limits": limits, "contract": { "undeclared_headers": "allow" } }))
        .start()
        .await;
    (upstream, gw)
}

/// A JSON object padded with spaces to exactly `len` bytes.
fn padded(json: &str, len: usize) -> String {
    assert!(json.len() <= len);
    format!("{json}{}", " ".repeat(len - json.len()))
}

#[tokio::test]
async fn request_body_size_just_under_and_just_over() {
    let (upstream, gw) = capped(json!({ "max_request_body_bytes": 64 })).await;
    let under = gw
        .send_json("PATCH", "/api/riders/1", &padded(r#"{"name":"a"}"#, 64))
        .await;
    assert_eq!(under.status, 200, "{}", under.text());
    let over = gw
        .send_json("PATCH", "/api/riders/1", &padded(r#"{"name":"a"}"#, 65))
        .await;
    over.assert_problem(413, "contract.body.too-large");
    assert_eq!(upstream.requests().len(), 1, "only the honest one went up");
}

#[tokio::test]
async fn header_count_just_under_and_just_over() {
    let (upstream, gw) = capped(json!({ "max_headers": 8 })).await;
    // `raw` adds Host and Connection: 2 + 6 = 8 headers.
    let extra = |n: usize| {
        (0..n)
            .map(|i| format!("X-Pad-{i}: 1\r\n"))
            .collect::<String>()
    };
    let under = gw
        .raw(&format!(
            "GET /api/riders HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
            extra(6)
        ))
        .await;
    assert_eq!(under.status, 200, "{}", under.text());
    let over = gw
        .raw(&format!(
            "GET /api/riders HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
            extra(7)
        ))
        .await;
    over.assert_problem(431, "limit.headers");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn header_bytes_just_under_and_just_over() {
    let (upstream, gw) = capped(json!({ "max_header_list_bytes": 8192 })).await;
    // Each header counts name + value + 4 bytes. Host: localhost (4+9+4)
    // and Connection: close (10+5+4) are 36; the pad header takes the rest.
    let pad = |value_len: usize| {
        format!(
            "GET /api/riders HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(value_len)
        )
    };
    let room = 8192 - 36 - ("x-pad".len() + 4);
    let under = gw.raw(&pad(room)).await;
    assert_eq!(under.status, 200, "{}", under.text());
    let over = gw.raw(&pad(room + 1)).await;
    over.assert_problem(431, "limit.headers");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn json_nesting_array_and_string_caps_just_under_and_just_over() {
    let (upstream, gw) = capped(json!({
        "max_json_depth": 3,
        "max_json_array_items": 2,
        "max_json_string_bytes": 8,
    }))
    .await;
    // Strings: 8 bytes pass, 9 do not.
    let ok = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":"12345678"}"#)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let long = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":"123456789"}"#)
        .await;
    long.assert_problem(413, "limit.json");
    // Members of an object: 2 pass, 3 do not (refused while parsing,
    // before any schema check could say anything else).
    let two = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":"a","age":20}"#)
        .await;
    assert_eq!(two.status, 200, "{}", two.text());
    let three = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":"a","age":20,"x":[]}"#)
        .await;
    three.assert_problem(413, "limit.json");
    // Nesting (values below the top-level object): depth 3 is parsed and
    // then judged by the schema, depth 4 is not parsed at all.
    let deep_ok = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":{"a":{"b":{}}}}"#)
        .await;
    assert_eq!(
        deep_ok.status,
        422,
        "parsed, then refused by the schema: {}",
        deep_ok.text()
    );
    let deep = gw
        .send_json("PATCH", "/api/riders/1", r#"{"name":{"a":{"b":{"c":1}}}}"#)
        .await;
    deep.assert_problem(413, "limit.json");
    assert_eq!(
        upstream.requests().len(),
        2,
        "only the two honest ones went up"
    );
    let log = gw.finish().await;
    log.assert(&long, "blocked", Some("limit.json"));
}

#[tokio::test]
async fn client_connections_just_under_and_just_over() {
    let (_upstream, gw) = capped(json!({ "max_connections": 2 })).await;
    // Two idle connections take both slots.
    let a = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let b = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    // A third connection is accepted by the kernel but not served until a
    // slot frees.
    let waited = tokio::time::timeout(Duration::from_millis(500), gw.get("/api/riders")).await;
    assert!(
        waited.is_err(),
        "the third connection was served over the cap"
    );
    drop(a);
    let served = tokio::time::timeout(Duration::from_secs(5), gw.get("/api/riders"))
        .await
        .expect("a freed slot serves the next connection");
    assert_eq!(served.status, 200);
    drop(b);
}

/// An upstream that takes `delay` to answer every request.
async fn slow_upstream(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"[]")))
                            .unwrap(),
                    )
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_concurrency_queue_just_under_and_just_over() {
    let url = slow_upstream(Duration::from_millis(400)).await;
    let gw = Gateway::builder_for(support::RIDERS, &url)
        .config(json!({ "limits": {
            "upstream_max_concurrent": 2,
            "upstream_max_queued": 1,
            "upstream_queue_timeout_ms": 5000,
        }}))
        .start()
        .await;
    let gw = std::sync::Arc::new(gw);
    // Two in flight and one queued: all three are served (the queued one
    // after a slot frees).
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(
            async move { gw.get("/api/riders").await.status },
        ));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // A fourth, while two are in flight and one waits: refused at once.
    let fourth = gw.get("/api/riders").await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "refused without waiting"
    );
    fourth.assert_problem(503, "limit.upstream-busy");
    assert_eq!(fourth.header("retry-after"), Some("1"));
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "the queued request waited for a slot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_request_gives_up_at_the_queue_timeout() {
    let url = slow_upstream(Duration::from_millis(1500)).await;
    let gw = Gateway::builder_for(support::RIDERS, &url)
        .config(json!({ "limits": {
            "upstream_max_concurrent": 1,
            "upstream_max_queued": 4,
            "upstream_queue_timeout_ms": 200,
        }}))
        .start()
        .await;
    let gw = std::sync::Arc::new(gw);
    let g = gw.clone();
    let first = tokio::spawn(async move { g.get("/api/riders").await.status });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let second = gw.get("/api/riders").await;
    second.assert_problem(503, "limit.upstream-busy");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1200),
        "waited {waited:?}"
    );
    assert_eq!(first.await.unwrap(), 200);
}
