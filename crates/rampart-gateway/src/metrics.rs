//! Prometheus metrics, served on the admin listener.
//!
//! Every label comes from a bounded set: API names and operationIds from the
//! config and the contract (unmatched requests are `operation=""`), decisions,
//! status codes and rule ids from Rampart's own vocabulary. Raw paths,
//! principals and addresses never become labels, so an attacker cannot grow
//! the series count.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::seclog::{SecurityEvent, Verdict};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: String,
    operation: String,
    decision: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    api: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: &'static str,
    decision: &'static str,
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    rules: Family<RuleLabels, Counter>,
    upstream_failures: Family<OperationLabels, Counter>,
    detections: Family<KindLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn decision(v: Verdict) -> &'static str {
    match v {
        Verdict::Allowed => "allowed",
        Verdict::Blocked => "blocked",
        Verdict::Flagged => "flagged",
        Verdict::Modified => "modified",
        Verdict::Unchecked => "unchecked",
    }
}

impl Metrics {
    /// A registry with every Rampart metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Exchanges by API, operation, decision and status",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms to ~6.5 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 17))
        });
        registry.register(
            "request_duration_seconds",
            "Time from request to response head, by API and operation",
            latency.clone(),
        );
        let rules = Family::<RuleLabels, Counter>::default();
        registry.register(
            "rule_hits",
            "Rules that fired, by rule id and the decision they led to",
            rules.clone(),
        );
        let upstream_failures = Family::<OperationLabels, Counter>::default();
        registry.register(
            "upstream_failures",
            "Exchanges whose upstream could not be reached or timed out",
            upstream_failures.clone(),
        );
        let detections = Family::<KindLabels, Counter>::default();
        registry.register(
            "detections",
            "Behavioural detections, by kind",
            detections.clone(),
        );
        Metrics {
            detections,
            registry: Mutex::new(registry),
            requests,
            latency,
            rules,
            upstream_failures,
        }
    }

    /// Count one exchange.
    pub fn observe(&self, e: &SecurityEvent) {
        let api = e.api.clone().unwrap_or_default();
        let operation = e.operation.clone().unwrap_or_default();
        let d = decision(e.decision);
        let status = e.status;
        self.requests
            .get_or_create(&RequestLabels {
                api: api.clone(),
                operation: operation.clone(),
                decision: d,
                status,
            })
            .inc();
        let op = OperationLabels { api, operation };
        self.latency
            .get_or_create(&op)
            .observe(e.latency_ms / 1000.0);
        for rule in &e.rules {
            // Only Rampart's own (static) rule ids become labels.
            let Some(rule) = rampart_contract::rules::by_id(rule).map(|r| r.id) else {
                continue;
            };
            self.rules
                .get_or_create(&RuleLabels { rule, decision: d })
                .inc();
            if rule == rampart_contract::rules::UPSTREAM_UNAVAILABLE.id {
                self.upstream_failures.get_or_create(&op).inc();
            }
        }
    }

    /// Count a detection.
    pub fn detection(&self, kind: &'static str) {
        self.detections.get_or_create(&KindLabels { kind }).inc();
    }

    /// Register more metrics (the store, the detector, the limiter).
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut r) = self.registry.lock() {
            f(&mut r);
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }
}
