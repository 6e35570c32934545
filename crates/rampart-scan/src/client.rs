//! The one way the scanner talks to the target: a request budget, a pace,
//! credentials attached by identity name, and every answer recorded as an
//! [`Exchange`].
//!
//! Safety lives here rather than in each check: a request whose method is
//! not GET or HEAD is refused unless writes were allowed, so no check can
//! forget. Login identities log in lazily and once more on a 401.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use indicatif::ProgressBar;
use serde_json::Value;

use crate::error::ScanError;
use crate::exchange::{Auth, BODY_EVIDENCE_LIMIT, Exchange};
use crate::identity::{Credential, Identity};

/// Largest response body read, in bytes; the rest is ignored.
const RESPONSE_LIMIT: usize = 1024 * 1024;

/// Longest wait honoured from a `Retry-After` before retrying once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3);

/// Who sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// No credentials at all.
    Anonymous,
    /// The identity at this index of the scan's identities.
    Id(usize),
    /// A bearer token the scanner made (JWT checks).
    Forged(String),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path and query, relative to the target's origin (starts with `/`).
    pub path: String,
    /// Who sends it.
    pub who: Who,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

impl Req {
    /// A GET of `path` as `who`.
    pub fn get(path: impl Into<String>, who: Who) -> Req {
        Req {
            method: Method::GET,
            path: path.into(),
            who,
            headers: Vec::new(),
            body: None,
        }
    }

    /// The same request with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Limits of a scan's traffic.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most requests sent in all.
    pub max_requests: usize,
    /// Requests per second.
    pub rps: f64,
    /// Whether non-GET/HEAD requests may be sent.
    pub allow_writes: bool,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// How a login identity logs in: method and route of its operation.
#[derive(Debug, Clone)]
pub struct LoginRoute {
    /// Method.
    pub method: Method,
    /// Path (with the spec's base path).
    pub path: String,
}

/// The scanner's HTTP client.
pub struct Client {
    http: reqwest::Client,
    origin: String,
    identities: Vec<Identity>,
    logins: HashMap<String, LoginRoute>,
    tokens: Mutex<HashMap<String, String>>,
    limits: Limits,
    sent: AtomicUsize,
    next_slot: tokio::sync::Mutex<Instant>,
    progress: ProgressBar,
}

impl Client {
    /// A client for `target` (scheme, host, port and optional path prefix).
    pub fn new(
        target: &str,
        identities: Vec<Identity>,
        logins: HashMap<String, LoginRoute>,
        limits: Limits,
        progress: ProgressBar,
    ) -> Result<Client, ScanError> {
        let url = reqwest::Url::parse(target).map_err(|_| ScanError::Target(target.into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ScanError::Target(target.into()));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .build()
            .map_err(|e| ScanError::Client(e.to_string()))?;
        Ok(Client {
            http,
            origin: target.trim_end_matches('/').to_string(),
            identities,
            logins,
            tokens: Mutex::new(HashMap::new()),
            limits,
            sent: AtomicUsize::new(0),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            progress,
        })
    }

    /// The identities, in `--identity` order.
    pub fn identities(&self) -> &[Identity] {
        &self.identities
    }

    /// Whether non-GET/HEAD requests may be sent.
    pub fn writes_allowed(&self) -> bool {
        self.limits.allow_writes
    }

    /// Requests sent so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Requests still allowed by the budget.
    pub fn remaining(&self) -> usize {
        self.limits.max_requests.saturating_sub(self.sent())
    }

    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The progress bar (checks set its message).
    pub fn progress(&self) -> &ProgressBar {
        &self.progress
    }

    /// Send a request; a `429` is waited out (bounded) and retried once.
    /// `None` when the budget is spent or the method is a write and writes
    /// are not allowed.
    pub async fn send(&self, req: &Req) -> Option<Exchange> {
        let first = self.send_once(req).await?;
        if first.status == 429 {
            let wait = first
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::from_secs(1))
                .min(MAX_RETRY_AFTER);
            tokio::time::sleep(wait).await;
            return self.send_once(req).await;
        }
        if first.status == 401
            && let Who::Id(i) = req.who
            && let Some(id) = self.identities.get(i)
            && matches!(id.credential, Credential::Login { .. })
        {
            // The token may have expired: log in again, once.
            self.forget_token(&id.name);
            return self.send_once(req).await;
        }
        Some(first)
    }

    /// Send exactly once: no retry on 429 (the rate-limit check wants to see it).
    pub async fn send_once(&self, req: &Req) -> Option<Exchange> {
        let read = req.method == Method::GET || req.method == Method::HEAD;
        if !read && !self.limits.allow_writes {
            return None;
        }
        let auth = self.auth_for(&req.who).await?;
        self.spend().await?;
        let url = self.url(&req.path);
        let mut builder = self.http.request(req.method.clone(), &url);
        let (auth_record, credential) = auth;
        if let Some((name, value)) = &credential {
            builder = builder.header(name.as_str(), value.as_str());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body_text = req.body.as_ref().map(Value::to_string);
        if let Some(body) = &body_text {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let started = Instant::now();
        let outcome = builder.send().await;
        let mut exchange = Exchange {
            method: req.method.to_string(),
            url,
            auth: auth_record,
            headers: req.headers.clone(),
            body: body_text,
            status: 0,
            response_headers: Vec::new(),
            response_body: String::new(),
            json: None,
            elapsed_ms: 0,
        };
        if let Ok(mut response) = outcome {
            exchange.status = response.status().as_u16();
            exchange.response_headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut bytes = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let room = RESPONSE_LIMIT.saturating_sub(bytes.len());
                bytes.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
                if bytes.len() >= RESPONSE_LIMIT {
                    break;
                }
            }
            exchange.json = serde_json::from_slice(&bytes).ok();
            // Evidence keeps that a secret leaked, never the secret itself.
            let text = match &exchange.json {
                Some(json) => crate::diff::redact(json).to_string(),
                None => String::from_utf8_lossy(&bytes).into_owned(),
            };
            exchange.response_body = text.chars().take(BODY_EVIDENCE_LIMIT).collect();
        }
        exchange.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Some(exchange)
    }

    /// Take one request from the budget and wait for its slot in the pace.
    async fn spend(&self) -> Option<()> {
        let taken = self
            .sent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.limits.max_requests).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            return None;
        }
        self.progress.inc(1);
        if self.limits.rps > 0.0 {
            let gap = Duration::from_secs_f64(1.0 / self.limits.rps);
            let wait_until = {
                let mut slot = self.next_slot.lock().await;
                let now = Instant::now();
                let at = (*slot).max(now);
                *slot = at + gap;
                at
            };
            tokio::time::sleep_until(wait_until.into()).await;
        }
        Some(())
    }

    /// What to record and what to send for `who`. `None` when a login fails.
    async fn auth_for(&self, who: &Who) -> Option<(Auth, Option<(String, String)>)> {
        match who {
            Who::Anonymous => Some((Auth::None, None)),
            Who::Forged(token) => Some((
                Auth::Forged {
                    token: token.clone(),
                },
                Some(("authorization".into(), format!("Bearer {token}"))),
            )),
            Who::Id(i) => {
                let id = self.identities.get(*i)?;
                let (header, prefix, secret) = match &id.credential {
                    Credential::Bearer(t) => ("authorization".to_string(), "Bearer ", t.clone()),
                    Credential::ApiKey { header, value } => (header.clone(), "", value.clone()),
                    Credential::Login { .. } => (
                        "authorization".to_string(),
                        "Bearer ",
                        self.login(*i).await.ok()?,
                    ),
                };
                Some((
                    Auth::Identity {
                        name: id.name.clone(),
                        header: header.clone(),
                        prefix: prefix.to_string(),
                    },
                    Some((header, format!("{prefix}{secret}"))),
                ))
            }
        }
    }

    fn forget_token(&self, name: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(name);
        }
    }

    /// The token of a login identity, logging in when none is cached.
    pub async fn login(&self, index: usize) -> Result<String, ScanError> {
        let Some(id) = self.identities.get(index) else {
            return Err(ScanError::Identity {
                name: index.to_string(),
                cause: "no such identity".into(),
            });
        };
        let Credential::Login {
            operation,
            pointer,
            body,
        } = &id.credential
        else {
            return Err(ScanError::Identity {
                name: id.name.clone(),
                cause: "not a login identity".into(),
            });
        };
        if let Some(t) = self
            .tokens
            .lock()
            .ok()
            .and_then(|t| t.get(&id.name).cloned())
        {
            return Ok(t);
        }
        let fail = |cause: String| ScanError::Login {
            name: id.name.clone(),
            operation: operation.clone(),
            cause,
        };
        let route = self
            .logins
            .get(operation)
            .ok_or_else(|| fail("no such operation in the spec".into()))?;
        // Logging in is the one write every scan may make: it changes nothing.
        self.spend()
            .await
            .ok_or_else(|| fail("request budget spent".into()))?;
        let response = self
            .http
            .request(route.method.clone(), self.url(&route.path))
            .json(body)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("status {status}")));
        }
        let token = answer
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| fail(format!("no string at {pointer} in the answer")))?
            .to_string();
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(id.name.clone(), token.clone());
        }
        Ok(token)
    }

    /// The raw bearer token of an identity (JWT checks read and re-sign it);
    /// never printed.
    pub async fn bearer_token(&self, index: usize) -> Option<String> {
        match &self.identities.get(index)?.credential {
            Credential::Bearer(t) => Some(t.clone()),
            Credential::Login { .. } => self.login(index).await.ok(),
            Credential::ApiKey { .. } => None,
        }
    }

    /// The login route of an operation, if it is a login identity's.
    pub fn login_routes(&self) -> &HashMap<String, LoginRoute> {
        &self.logins
    }
}
