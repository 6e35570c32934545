//! Alerts: every detection can be posted, as JSON, to a webhook.
//!
//! Detection runs in the record phase of a request, which must not wait on
//! a third party. [`Webhook::alert`] only puts the detection in a bounded
//! queue (dropping and counting when it is full); a task posts them one by
//! one, each bounded by a timeout, so a slow or dead receiver costs a
//! counter, never latency or memory.

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
use rampart_config::WebhookConfig;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::DetectError;
use crate::detection::Detection;

/// Where detections go besides the log.
pub trait AlertSink: Send + Sync + fmt::Debug {
    /// Takes a detection; must not block.
    fn alert(&self, detection: &Detection);
}

/// The most of a receiver's answer read (and discarded).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Delivery counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookStats {
    /// Alerts the receiver accepted (2xx).
    pub sent_total: u64,
    /// Alerts that failed (error, timeout or non-2xx answer).
    pub failed_total: u64,
    /// Alerts dropped because the queue was full.
    pub dropped_total: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// Posts detections to a URL.
pub struct Webhook {
    queue: mpsc::Sender<Detection>,
    counters: Arc<Counters>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Webhook {
    /// Starts the delivery task on the current tokio runtime, as
    /// configured. The bearer token, if any, is read from its environment
    /// variable now.
    pub fn spawn(config: &WebhookConfig) -> Result<(Arc<Webhook>, JoinHandle<()>), DetectError> {
        let token = match &config.token_env {
            Some(env) => Some(std::env::var(env).map_err(|_| {
                DetectError::Webhook(format!("environment variable {env} is not set"))
            })?),
            None => None,
        };
        Webhook::start(
            &config.url,
            token,
            Duration::from_millis(config.timeout_ms.max(1)),
            config.queue_capacity.max(1),
        )
    }

    /// Starts the delivery task on the current tokio runtime: POSTs to
    /// `url`, with `token` as a bearer token, each within `timeout`, with
    /// at most `queue_capacity` alerts waiting.
    pub fn start(
        url: &str,
        token: Option<String>,
        timeout: Duration,
        queue_capacity: usize,
    ) -> Result<(Arc<Webhook>, JoinHandle<()>), DetectError> {
        let url: Uri = url
            .parse()
            .map_err(|e| DetectError::Webhook(format!("invalid URL: {e}")))?;
        let client = client(timeout)?;
        let (queue, mut rx) = mpsc::channel::<Detection>(queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let task_counters = counters.clone();
        let task = tokio::spawn(async move {
            while let Some(detection) = rx.recv().await {
                let outcome = post(&client, &url, token.as_deref(), &detection, timeout).await;
                match outcome {
                    Ok(()) => task_counters.sent.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!(error = %e, "alert webhook delivery failed");
                        task_counters.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        });
        Ok((Arc::new(Webhook { queue, counters }), task))
    }

    /// Delivery counters.
    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            sent_total: self.counters.sent.load(Ordering::Relaxed),
            failed_total: self.counters.failed.load(Ordering::Relaxed),
            dropped_total: self.counters.dropped.load(Ordering::Relaxed),
        }
    }
}

impl AlertSink for Webhook {
    fn alert(&self, detection: &Detection) {
        if self.queue.try_send(detection.clone()).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn client(timeout: Duration) -> Result<HttpsClient, DetectError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeout));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| DetectError::Webhook(format!("cannot load trusted certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector))
}

async fn post(
    client: &HttpsClient,
    url: &Uri,
    token: Option<&str>,
    detection: &Detection,
    timeout: Duration,
) -> Result<(), String> {
    let body = serde_json::to_vec(detection).map_err(|e| e.to_string())?;
    let mut request = Request::post(url.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "rampart");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        // Drain (bounded in size and time) so the connection can be reused.
        let _ = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", status.as_u16()))
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}
