//! Behavioural detection: scraping, enumeration, BOLA probing, credential
//! stuffing and exfiltration, recognised from the stream of exchanges.
//!
//! Per-request checks (contract, authorization) judge one exchange; these
//! attacks are made of exchanges that each look fine. Peloton's data was
//! taken by walking user ids, one authorized request at a time. So the
//! detector keeps, per principal, API key, client IP and attempted user
//! name, a few sliding-window measures (distinct objects per operation,
//! id walks, restricted views, 403/404 and 401 bursts, records and bytes
//! against a baseline) and compares them with thresholds far above what a
//! person produces.
//!
//! Memory is the design constraint: a gateway sees millions of subjects.
//! Each is a fixed ~200-byte state in a bounded, sharded table, with
//! distinct counts in sketches (`cardinality-estimator`: exact and inline
//! for the handful of ids a person touches, HyperLogLog only for
//! scrapers), so a tracked principal costs well under 1 KB (measured by
//! `benches/memory.rs`).
//!
//! - [`Detector::observe`] is called in the record phase with an
//!   [`Observation`] of each exchange, and returns the [`Detection`]s that
//!   fired, after enacting them: alert ([`AlertSink`], e.g. [`Webhook`]),
//!   throttle or block for a TTL ([`Blocklist`]).
//! - [`Detector::admit`] is called early in the pipeline and says whether
//!   the client IP, principal or key is blocked or throttled.
//! - In a cluster, [`RedisBlocklist`] shares blocks between instances
//!   without putting Redis on the request path.
//!
//! Time is always an input, never read from the clock here, so tests and
//! simulations run on an injected clock.

#![forbid(unsafe_code)]

mod blocklist;
mod detection;
mod detector;
mod shared;
mod state;
mod subject;
mod table;
mod webhook;
mod window;

pub use blocklist::{Block, Blocklist, MemoryBlocklist, Restriction};
pub use detection::{Action, Detection, DetectionKind, Evidence};
pub use detector::{Admission, Detector, DetectorStats, Observation};
pub use shared::RedisBlocklist;
pub use subject::{Subject, SubjectRef};
pub use webhook::{AlertSink, Webhook, WebhookStats};

/// What can go wrong setting detection up.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The alert webhook cannot be set up.
    #[error("alert webhook: {0}")]
    Webhook(String),
    /// The shared blocklist cannot reach or use Redis.
    #[error("shared blocklist (Redis): {0}")]
    Redis(String),
}
