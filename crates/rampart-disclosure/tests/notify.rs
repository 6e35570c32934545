//! Webhook delivery on real sockets: transient failures are retried with
//! the same delivery id, refusals are not, and a full queue drops rather
//! than blocks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use rampart_disclosure::notify::{NotifierOptions, NotifierStats};
use rampart_disclosure::{Notification, Notifier, SlaStatus, State};

fn notification(n: i64) -> Notification {
    Notification {
        event: "state_changed",
        delivery: format!("report-{n}-history-1"),
        report_id: n,
        title: "t".into(),
        from: None,
        state: State::Received,
        actor: Some("reporter".into()),
        at: "2026-11-25T00:00:00Z".into(),
        note: None,
        severity: None,
        sla: SlaStatus {
            days_open: 0,
            deadline_ms: 0,
            days_left: 90,
            overdue: false,
        },
        days_before: None,
    }
}

/// A receiver answering `answers[i]` to the i-th request (the last one
/// after that), recording each request's delivery id.
async fn receiver(
    answers: Vec<StatusCode>,
    delay: Duration,
) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hits = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let seen = seen2.clone();
            let answers = answers.clone();
            let hits = hits.clone();
            async move {
                let i = hits.fetch_add(1, Ordering::SeqCst);
                let id = headers["x-rampart-delivery"].to_str().unwrap().to_owned();
                seen.lock().unwrap().push(id);
                tokio::time::sleep(delay).await;
                answers[i.min(answers.len() - 1)]
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

fn options(url: String, queue_capacity: usize) -> NotifierOptions {
    NotifierOptions {
        url,
        secret: None,
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        queue_capacity,
    }
}

async fn settle(notifier: &Notifier, expect: impl Fn(NotifierStats) -> bool) -> NotifierStats {
    for _ in 0..200 {
        let stats = notifier.stats();
        if expect(stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    notifier.stats()
}

#[tokio::test]
async fn transient_failures_are_retried_with_the_same_delivery_id() {
    let (url, seen) = receiver(
        vec![
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::BAD_GATEWAY,
            StatusCode::NO_CONTENT,
        ],
        Duration::ZERO,
    )
    .await;
    let (notifier, _task) = Notifier::start(options(url, 8)).unwrap();
    notifier.send(notification(1));
    let stats = settle(&notifier, |s| s.sent_total + s.failed_total == 1).await;
    assert_eq!(
        stats,
        NotifierStats {
            sent_total: 1,
            failed_total: 0,
            dropped_total: 0
        }
    );
    assert_eq!(*seen.lock().unwrap(), ["report-1-history-1"; 3]);
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let (url, seen) = receiver(vec![StatusCode::UNAUTHORIZED], Duration::ZERO).await;
    let (notifier, _task) = Notifier::start(options(url, 8)).unwrap();
    notifier.send(notification(2));
    let stats = settle(&notifier, |s| s.failed_total == 1).await;
    assert_eq!(stats.failed_total, 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_full_queue_drops_instead_of_blocking() {
    let (url, _seen) = receiver(vec![StatusCode::NO_CONTENT], Duration::from_millis(200)).await;
    let (notifier, _task) = Notifier::start(options(url, 2)).unwrap();
    // The sends run without yielding, so the delivery task cannot drain
    // in between: two fit, the rest are dropped at once.
    for n in 0..50 {
        notifier.send(notification(n));
    }
    assert_eq!(notifier.stats().dropped_total, 48);
    let stats = settle(&notifier, |s| s.sent_total == 2).await;
    assert_eq!(stats.sent_total, 2);
}
