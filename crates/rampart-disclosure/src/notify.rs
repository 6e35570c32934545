//! Notifications: every state change (and SLA reminder) posted as signed
//! JSON to the operator's webhook.
//!
//! Filing a report or triaging it must not wait on a third party, so
//! [`Notifier::send`] only queues (bounded: past the capacity a
//! notification is dropped, counted and logged; the history in the store
//! keeps every change regardless). One task delivers in order, retrying
//! failures with exponential backoff. Each body is signed with
//! HMAC-SHA256 in `X-Rampart-Signature: sha256=<hex>` so the receiver can
//! reject forgeries; `X-Rampart-Delivery` lets it drop the duplicates a
//! retry after a lost answer can cause.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::DisclosureError;
use crate::report::{HistoryEntry, Report, Severity};
use crate::sla::SlaStatus;
use crate::state::State;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-rampart-signature";
/// The per-notification id header (stable across retries).
pub const DELIVERY_HEADER: &str = "x-rampart-delivery";
/// The most of a receiver's answer read (and discarded).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// First retry delay; doubled per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// What is posted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// `state_changed` or `reminder`.
    pub event: &'static str,
    /// A unique id per notification (report, history row or reminder).
    pub delivery: String,
    /// The report.
    pub report_id: i64,
    /// Its title (plain text, as submitted).
    pub title: String,
    /// The state before the change (none for a new report or a reminder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<State>,
    /// The state now.
    pub state: State,
    /// Who made the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// What the reporter is shown for this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set once triaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The SLA clock.
    pub sla: SlaStatus,
    /// For reminders: days before the deadline (0: overdue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_before: Option<u32>,
}

impl Notification {
    /// The notification for a history row of `report`.
    pub fn state_changed(report: &Report, entry: &HistoryEntry, sla: SlaStatus) -> Self {
        Notification {
            event: "state_changed",
            delivery: format!("report-{}-history-{}", report.id, entry.seq),
            report_id: report.id,
            title: report.submitted.title.clone(),
            from: entry.from,
            state: entry.to,
            actor: Some(entry.actor.clone()),
            at: crate::time::rfc3339(entry.at_ms),
            note: entry.note.clone(),
            severity: report.severity,
            sla,
            days_before: None,
        }
    }

    /// A reminder `days_before` the deadline (0: overdue).
    pub fn reminder(report: &Report, days_before: u32, now_ms: i64, sla: SlaStatus) -> Self {
        Notification {
            event: "reminder",
            delivery: format!("report-{}-reminder-{days_before}", report.id),
            report_id: report.id,
            title: report.submitted.title.clone(),
            from: None,
            state: report.state,
            actor: None,
            at: crate::time::rfc3339(now_ms),
            note: None,
            severity: report.severity,
            sla,
            days_before: Some(days_before),
        }
    }
}

/// Delivery counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifierStats {
    /// Accepted by the receiver (2xx).
    pub sent_total: u64,
    /// Given up after every attempt failed.
    pub failed_total: u64,
    /// Dropped because the queue was full.
    pub dropped_total: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// Posts notifications to a webhook.
pub struct Notifier {
    queue: mpsc::Sender<Notification>,
    counters: Arc<Counters>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("stats", &self.stats())
            .finish()
    }
}

/// How a [`Notifier`] delivers.
#[derive(Clone)]
pub struct NotifierOptions {
    /// The webhook URL.
    pub url: String,
    /// The HMAC key; `None` sends unsigned bodies.
    pub secret: Option<Vec<u8>>,
    /// Time allowed per attempt.
    pub timeout: Duration,
    /// Attempts per notification.
    pub max_attempts: u32,
    /// Notifications waiting at most.
    pub queue_capacity: usize,
}

impl fmt::Debug for NotifierOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierOptions")
            .field("url", &self.url)
            .field("signed", &self.secret.is_some())
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("queue_capacity", &self.queue_capacity)
            .finish()
    }
}

impl NotifierOptions {
    /// Options from config; the secret file (relative to `base_dir`) is
    /// read now, and its surrounding whitespace trimmed.
    pub fn from_config(
        config: &rampart_config::DisclosureWebhookConfig,
        base_dir: &std::path::Path,
    ) -> Result<NotifierOptions, DisclosureError> {
        let secret = match &config.secret_file {
            Some(path) => {
                let path = base_dir.join(path);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| DisclosureError::io(&path, e))?;
                let key = text.trim().as_bytes().to_vec();
                if key.len() < 16 {
                    return Err(DisclosureError::Webhook(format!(
                        "{}: the signing key must be at least 16 bytes",
                        path.display()
                    )));
                }
                Some(key)
            }
            None => None,
        };
        Ok(NotifierOptions {
            url: config.url.clone(),
            secret,
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
            max_attempts: config.max_attempts.max(1),
            queue_capacity: config.queue_capacity.max(1),
        })
    }
}

impl Notifier {
    /// Starts the delivery task on the current tokio runtime. The task
    /// ends once every [`Notifier`] handle is dropped and the queue drained.
    pub fn start(
        options: NotifierOptions,
    ) -> Result<(Arc<Notifier>, JoinHandle<()>), DisclosureError> {
        let url: Uri = options
            .url
            .parse()
            .map_err(|e| DisclosureError::Webhook(format!("invalid URL: {e}")))?;
        let client = client(options.timeout)?;
        let (queue, mut rx) = mpsc::channel::<Notification>(options.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let task_counters = counters.clone();
        let task = tokio::spawn(async move {
            while let Some(notification) = rx.recv().await {
                let delivered = deliver(&client, &url, &options, &notification).await;
                let counter = if delivered {
                    &task_counters.sent
                } else {
                    &task_counters.failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok((Arc::new(Notifier { queue, counters }), task))
    }

    /// Queues `notification`; never waits.
    pub fn send(&self, notification: Notification) {
        if let Err(e) = self.queue.try_send(notification) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            let delivery = match &e {
                mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => {
                    n.delivery.clone()
                }
            };
            tracing::warn!(%delivery, "disclosure notification dropped: the queue is full");
        }
    }

    /// Delivery counters.
    pub fn stats(&self) -> NotifierStats {
        NotifierStats {
            sent_total: self.counters.sent.load(Ordering::Relaxed),
            failed_total: self.counters.failed.load(Ordering::Relaxed),
            dropped_total: self.counters.dropped.load(Ordering::Relaxed),
        }
    }
}

fn client(timeout: Duration) -> Result<HttpsClient, DisclosureError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeout));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| DisclosureError::Webhook(format!("cannot load trusted certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector))
}

/// Tries up to `max_attempts` times; true once the receiver accepted it.
async fn deliver(
    client: &HttpsClient,
    url: &Uri,
    options: &NotifierOptions,
    notification: &Notification,
) -> bool {
    let body = match serde_json::to_vec(notification) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a disclosure notification");
            return false;
        }
    };
    let signature = options
        .secret
        .as_deref()
        .map(|key| crate::secret::sign(key, &body));
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=options.max_attempts {
        match post(
            client,
            url,
            &body,
            signature.as_deref(),
            &notification.delivery,
            options.timeout,
        )
        .await
        {
            Ok(()) => return true,
            Err(Failure::Permanent(why)) => {
                tracing::warn!(delivery = %notification.delivery, %why, "disclosure webhook refused a notification");
                return false;
            }
            Err(Failure::Transient(why)) => {
                tracing::warn!(delivery = %notification.delivery, attempt, %why, "disclosure webhook delivery failed");
            }
        }
        if attempt < options.max_attempts {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    false
}

enum Failure {
    /// Worth retrying: network error, timeout, 408, 429, 5xx.
    Transient(String),
    /// Not worth retrying: any other 4xx.
    Permanent(String),
}

async fn post(
    client: &HttpsClient,
    url: &Uri,
    body: &Bytes,
    signature: Option<&str>,
    delivery: &str,
    timeout: Duration,
) -> Result<(), Failure> {
    let mut request = Request::post(url.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "rampart")
        .header(DELIVERY_HEADER, delivery);
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    let request = request
        .body(Full::new(body.clone()))
        .map_err(|e| Failure::Permanent(e.to_string()))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        let status = response.status();
        let _ = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(Failure::Transient(format!(
                "answered HTTP {}",
                status.as_u16()
            )))
        } else {
            Err(Failure::Permanent(format!(
                "answered HTTP {}",
                status.as_u16()
            )))
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Failure::Transient(format!("no answer within {} ms", timeout.as_millis())))?
}
