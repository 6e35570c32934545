//! Alerts reach a real HTTP receiver on a loopback port, as JSON with the
//! bearer token; a dead receiver costs a counter, never a wait.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rampart_config::{DetectionConfig, WebhookConfig};
use rampart_detect::{Detector, Observation, Webhook};
use tokio::sync::mpsc;

/// A receiver that reports each request's authorization header and body.
async fn receiver() -> (
    String,
    mpsc::UnboundedReceiver<(Option<String>, serde_json::Value)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let auth = request
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned());
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let _ = tx.send((auth, serde_json::from_slice(&body).unwrap()));
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, rx)
}

fn walk(detector: &Detector, who: &str, count: u64) {
    let origin = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    for n in 0..count {
        let id = [n.to_string()];
        detector.observe(&Observation {
            principal: Some(who),
            operation: Some("getProfile"),
            objects: &id,
            ..Observation::new(origin + Duration::from_secs(n), 200)
        });
    }
}

#[tokio::test]
async fn detections_are_posted_as_json_with_the_token() {
    let (url, mut received) = receiver().await;
    let (webhook, _task) =
        Webhook::start(&url, Some("s3cret".to_owned()), Duration::from_secs(2), 16).unwrap();
    let detector = Detector::new(&DetectionConfig::default()).with_alerts(webhook.clone());
    walk(&detector, "mallory", 20);
    let (auth, body) = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
    assert_eq!(body["kind"], "enumeration");
    assert_eq!(body["subject"], "principal:mallory");
    assert_eq!(body["evidence"]["metric"], "sequential_run");
    assert_eq!(body["evidence"]["operation"], "getProfile");
    assert_eq!(body["action"]["type"], "block");
    assert_eq!(body["at"], "2026-01-01T00:00:14.000Z");
    assert_eq!(body["until"], "2026-01-01T01:00:14.000Z");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while webhook.stats().sent_total == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_dead_receiver_is_counted_and_a_full_queue_drops() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = WebhookConfig {
        url: format!("http://127.0.0.1:{port}/alerts"),
        token_env: None,
        timeout_ms: 500,
        queue_capacity: 1,
    };
    let (webhook, _task) = Webhook::spawn(&config).unwrap();
    let detector =
        Arc::new(Detector::new(&DetectionConfig::default()).with_alerts(webhook.clone()));
    let started = std::time::Instant::now();
    for n in 0..20 {
        walk(&detector, &format!("walker{n}"), 16);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "alerting never waits"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = webhook.stats();
        if stats.failed_total + stats.dropped_total == 20 {
            assert!(stats.dropped_total > 0, "{stats:?}");
            assert_eq!(stats.sent_total, 0);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_missing_token_variable_is_an_error_at_start() {
    let config = WebhookConfig {
        url: "http://127.0.0.1:9/alerts".to_owned(),
        token_env: Some("RAMPART_TEST_SURELY_UNSET_TOKEN".to_owned()),
        timeout_ms: 100,
        queue_capacity: 1,
    };
    let err = Webhook::spawn(&config).unwrap_err();
    assert!(
        err.to_string().contains("RAMPART_TEST_SURELY_UNSET_TOKEN"),
        "{err}"
    );
}
