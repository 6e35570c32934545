//! The upstream side: a pooled client, and the request Rampart sends.
//!
//! The upstream receives exactly what was validated: the canonical path and
//! query from the normalizer, the body bytes that were parsed (or the stream
//! that was capped), and the client's headers minus hop-by-hop ones. Rampart
//! asks for identity encoding so it can read what the upstream answers, sets
//! `Host` to the upstream's authority, and adds `X-Forwarded-For`,
//! `X-Forwarded-Proto` and its own `X-Request-Id`. A client's W3C
//! `traceparent` passes through as an end-to-end header; when traces are
//! exported it is replaced by one naming the gateway's span (see `traces`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Uri, request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::body::BoxBody;
use crate::headers::HOP_BY_HOP;
use crate::runtime::Upstream;

/// The pooled upstream client (HTTP/1.1, with TLS for `https` upstreams).
pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, BoxBody>;

/// Build the client. Trust for `https` upstreams comes from the system's
/// certificate store; certificates are always verified.
pub fn client(connect_timeout: Duration) -> Result<HttpClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("cannot load the system's trusted certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(connector))
}

/// Context for building the upstream request.
pub struct Forward<'a> {
    /// The client's request head.
    pub parts: &'a request::Parts,
    /// Where to send it.
    pub upstream: &'a Upstream,
    /// Canonical path and query to send.
    pub path_and_query: &'a str,
    /// Request id.
    pub request_id: &'a str,
    /// Client address.
    pub client_ip: IpAddr,
    /// Whether the client connection is TLS.
    pub tls: bool,
    /// The method to send (the client's, except for a pre-fetch).
    pub method: &'a http::Method,
    /// The exchange's span when traces are exported: the upstream then gets
    /// a `traceparent` naming it instead of the client's.
    pub trace: Option<&'a crate::traces::ExchangeSpan>,
}

/// Build the upstream request.
pub fn build_request(f: Forward<'_>, body: BoxBody) -> Result<Request<BoxBody>, http::Error> {
    let path = format!("{}{}", f.upstream.prefix, f.path_and_query);
    let uri = Uri::builder()
        .scheme(f.upstream.scheme.clone())
        .authority(f.upstream.authority.clone())
        .path_and_query(path)
        .build()?;
    let mut req = Request::builder()
        .method(f.method.clone())
        .uri(uri)
        .body(body)?;
    let h = req.headers_mut();
    copy_end_to_end(&f.parts.headers, h);
    h.insert(header::HOST, f.upstream.host.clone());
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    let xff = match f
        .parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prev) => format!("{prev}, {}", f.client_ip),
        None => f.client_ip.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    h.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(if f.tls { "https" } else { "http" }),
    );
    if let Ok(v) = HeaderValue::from_str(f.request_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(span) = f.trace {
        span.inject(h);
    }
    Ok(req)
}

/// Copy headers except hop-by-hop ones and those the `Connection` header names.
pub fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    let named: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    for (k, v) in from {
        let n = k.as_str();
        if HOP_BY_HOP.contains(&n) || n == "host" || named.iter().any(|t| t == n) {
            continue;
        }
        to.append(k.clone(), v.clone());
    }
}

/// Remove hop-by-hop headers from a response head in place.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<String> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    for n in HOP_BY_HOP.iter().map(|s| s.to_string()).chain(named) {
        h.remove(n.as_str());
    }
}

/// How an API's upstream has been answering, for the `rampart_upstream_*`
/// metrics and the admin status. Kept across reloads (by API name) so a
/// reload does not make a failing upstream look healthy.
#[derive(Debug, Default)]
pub struct UpstreamHealth {
    consecutive_failures: std::sync::atomic::AtomicU64,
    failures: std::sync::atomic::AtomicU64,
    successes: std::sync::atomic::AtomicU64,
    last_success_ms: std::sync::atomic::AtomicU64,
    last_failure_ms: std::sync::atomic::AtomicU64,
}

/// A snapshot of [`UpstreamHealth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HealthSnapshot {
    /// Failures in a row (0 after any answer).
    pub consecutive_failures: u64,
    /// Connection failures and timeouts so far.
    pub failures: u64,
    /// Answers so far (any status).
    pub successes: u64,
    /// Last answer (Unix milliseconds; 0 if none).
    pub last_success_ms: u64,
    /// Last failure (Unix milliseconds; 0 if none).
    pub last_failure_ms: u64,
}

impl HealthSnapshot {
    /// Up unless the last exchange failed to get an answer.
    pub fn up(&self) -> bool {
        self.consecutive_failures == 0
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl UpstreamHealth {
    /// The upstream answered (whatever the status).
    pub fn answered(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.consecutive_failures.store(0, Relaxed);
        self.successes.fetch_add(1, Relaxed);
        self.last_success_ms.store(now_ms(), Relaxed);
    }

    /// The upstream could not be reached or did not answer in time.
    pub fn failed(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.consecutive_failures.fetch_add(1, Relaxed);
        self.failures.fetch_add(1, Relaxed);
        self.last_failure_ms.store(now_ms(), Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> HealthSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        HealthSnapshot {
            consecutive_failures: self.consecutive_failures.load(Relaxed),
            failures: self.failures.load(Relaxed),
            successes: self.successes.load(Relaxed),
            last_success_ms: self.last_success_ms.load(Relaxed),
            last_failure_ms: self.last_failure_ms.load(Relaxed),
        }
    }
}

/// The concurrency cap in front of one API's upstream: at most `max`
/// requests in flight, at most `queue` more waiting (each for at most
/// `wait`), and everything past that refused at once. A slow upstream then
/// costs the gateway a bounded number of waiting exchanges instead of every
/// connection it has, and the upstream is not buried under a retry storm.
#[derive(Debug)]
pub struct UpstreamGate {
    permits: Arc<tokio::sync::Semaphore>,
    max: usize,
    queue: usize,
    wait: Duration,
    waiting: std::sync::atomic::AtomicUsize,
}

/// Why the gate refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRefusal {
    /// Every slot busy and the queue full.
    QueueFull,
    /// Queued, but no slot freed in time.
    TimedOut,
}

/// Decrements the waiting count however the wait ends (dropped future included).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl UpstreamGate {
    /// A gate of `max` slots, `queue` waiting places, `wait` patience.
    pub fn new(max: usize, queue: usize, wait: Duration) -> Self {
        UpstreamGate {
            permits: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
            queue,
            wait,
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Whether this gate has these settings (a reload keeps it then, with
    /// the exchanges it holds).
    pub fn same(&self, max: usize, queue: usize, wait: Duration) -> bool {
        self.max == max && self.queue == queue && self.wait == wait
    }

    /// A slot, held until dropped.
    pub async fn enter(&self) -> Result<tokio::sync::OwnedSemaphorePermit, GateRefusal> {
        use std::sync::atomic::Ordering;
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(GateRefusal::QueueFull);
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed; treat it like a timeout if it were.
            Ok(Err(_)) | Err(_) => Err(GateRefusal::TimedOut),
        }
    }

    /// Requests in flight and waiting now.
    pub fn load(&self) -> (usize, usize) {
        (
            self.max - self.permits.available_permits(),
            self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test]
    async fn slots_then_queue_then_refusal() {
        let gate = Arc::new(UpstreamGate::new(2, 1, Duration::from_millis(200)));
        let a = gate.enter().await.unwrap();
        let _b = gate.enter().await.unwrap();
        assert_eq!(gate.load(), (2, 0));
        // The third waits in the queue; a fourth finds it full.
        let g = gate.clone();
        let queued = tokio::spawn(async move { g.enter().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.load(), (2, 1));
        assert_eq!(gate.enter().await.err(), Some(GateRefusal::QueueFull));
        // A slot frees: the queued one gets it.
        drop(a);
        assert_eq!(queued.await.unwrap(), Ok(()));
        assert_eq!(gate.load().1, 0);
    }

    #[tokio::test]
    async fn a_queued_request_gives_up_after_the_wait() {
        let gate = UpstreamGate::new(1, 4, Duration::from_millis(50));
        let _held = gate.enter().await.unwrap();
        assert_eq!(gate.enter().await.err(), Some(GateRefusal::TimedOut));
        assert_eq!(gate.load(), (1, 0), "the waiter left the queue");
    }
}
