//! What a check decides: the verdict the throttle phase acts on, and the
//! counters metrics read.

use std::time::Duration;

use crate::headers::RateLimitHeaders;

/// Where a verdict was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// No limit applied to the request.
    None,
    /// In-process buckets (no cluster configured).
    Local,
    /// Redis, shared by every instance.
    Redis,
    /// In-process buckets because Redis is unreachable (`fail_open`).
    LocalFallback,
    /// Nowhere: Redis is unreachable and the cluster fails closed.
    Unavailable,
}

/// The throttle phase's decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'l> {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The limit that refused it (or, when allowed, none).
    pub rule: Option<&'l str>,
    /// When the refused caller may try again (for `Retry-After`).
    pub retry_after: Option<Duration>,
    /// `RateLimit-Policy` and `RateLimit` for the most restrictive limit;
    /// the gateway adds them to the response, refused or not.
    pub headers: RateLimitHeaders,
    /// Refused because Redis is unreachable and the cluster fails closed:
    /// answer 503, not 429 (the caller did nothing wrong).
    pub unavailable: bool,
    /// Where the decision was made (for logs and metrics).
    pub backend: Backend,
}

impl Verdict<'_> {
    pub(crate) fn unlimited() -> Self {
        Verdict {
            allowed: true,
            rule: None,
            retry_after: None,
            headers: RateLimitHeaders::default(),
            unavailable: false,
            backend: Backend::None,
        }
    }

    /// `retry_after` in whole seconds, rounded up and at least 1, as the
    /// `Retry-After` header needs it.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| crate::headers::ceil_secs(d).max(1))
    }
}

/// Counters for metrics; monotonic over the process's life (they survive
/// reloads through [`LimiterBuilder::reuse`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// Requests checked against at least one limit.
    pub checks: u64,
    /// Requests refused by a limit (429).
    pub limited: u64,
    /// Requests refused because Redis was unreachable (503, `fail_closed`).
    pub unavailable: u64,
    /// Checks decided in process because Redis was unreachable (`fail_open`).
    pub local_fallbacks: u64,
    /// Failures charged to `on: failure` limits.
    pub failures_recorded: u64,
    /// Failed or timed-out Redis calls.
    pub redis_errors: u64,
    /// Times Redis came back after being down.
    pub redis_recoveries: u64,
}
