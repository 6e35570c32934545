//! Metrics read at scrape time from the parts that keep their own counters:
//! the audit store's queue (its lag), the rate limiter (Redis health and
//! fallbacks), the detector, and each API's upstream.
//!
//! A prometheus-client `Collector` rather than gauges updated on the request
//! path: these parts already count with atomics, so reading them once per
//! scrape costs the exchanges nothing.

use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::pipeline::Monitor;
use crate::runtime::Runtime;

/// The collector; register it once per process.
pub struct StatusCollector {
    state: Arc<ArcSwap<Runtime>>,
    monitor: Monitor,
}

impl std::fmt::Debug for StatusCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusCollector")
    }
}

impl StatusCollector {
    /// A collector over the serving runtime and the monitor.
    pub fn new(state: Arc<ArcSwap<Runtime>>, monitor: Monitor) -> Self {
        StatusCollector { state, monitor }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabel {
    api: String,
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    let e = encoder.encode_descriptor(name, help, None, c.metric_type())?;
    c.encode(e)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    let e = encoder.encode_descriptor(name, help, None, g.metric_type())?;
    g.encode(e)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Collector for StatusCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(r) = &self.monitor.recorder {
            let s = r.stats();
            gauge(
                &mut enc,
                "store_queue_depth",
                "Audit events waiting to be written",
                s.queue_depth as f64,
            )?;
            gauge(
                &mut enc,
                "store_lag_seconds",
                "Age of the oldest audit event not yet written (0 when none waits)",
                s.lag_seconds,
            )?;
            counter(
                &mut enc,
                "store_events_written",
                "Audit events written durably",
                s.written_total,
            )?;
            counter(
                &mut enc,
                "store_events_dropped",
                "Audit events dropped because the queue was full (overflow: drop)",
                s.dropped_total,
            )?;
            counter(
                &mut enc,
                "store_write_failures",
                "Audit events whose batch could not be written",
                s.failed_total,
            )?;
        }
        let rt = self.state.load();
        let l = rt.limiter.stats();
        counter(
            &mut enc,
            "limiter_checks",
            "Requests checked against at least one rate limit",
            l.checks,
        )?;
        counter(
            &mut enc,
            "limiter_limited",
            "Requests refused by a rate limit",
            l.limited,
        )?;
        counter(
            &mut enc,
            "limiter_unavailable",
            "Requests refused because the shared limit store was unreachable (fail closed)",
            l.unavailable,
        )?;
        counter(
            &mut enc,
            "limiter_local_fallbacks",
            "Checks decided in process because the shared limit store was unreachable (fail open)",
            l.local_fallbacks,
        )?;
        counter(
            &mut enc,
            "limiter_redis_errors",
            "Failed or timed-out calls to the shared limit store",
            l.redis_errors,
        )?;
        counter(
            &mut enc,
            "limiter_redis_recoveries",
            "Times the shared limit store came back after failing",
            l.redis_recoveries,
        )?;
        if let Some(d) = &self.monitor.detector {
            let s = d.stats(std::time::SystemTime::now());
            gauge(
                &mut enc,
                "detector_tracked_subjects",
                "Principals, keys, addresses and user names tracked by detection",
                s.tracked_subjects as f64,
            )?;
            gauge(
                &mut enc,
                "detector_memory_bytes",
                "Memory held by detection's tables, approximately",
                s.approximate_bytes as f64,
            )?;
            gauge(
                &mut enc,
                "blocks_active",
                "Blocks and throttles in force",
                to_u64(s.blocks_active) as f64,
            )?;
        }
        let healths: Vec<(String, crate::upstream::HealthSnapshot)> = rt
            .apis
            .iter()
            .map(|a| (a.name.clone(), a.health.snapshot()))
            .collect();
        let up = ConstGauge::new(0i64);
        let mut fam = enc.encode_descriptor(
            "upstream_up",
            "1 when the upstream's last exchange got an answer, 0 when it could not be reached or timed out",
            None,
            up.metric_type(),
        )?;
        for (api, h) in &healths {
            let labels = ApiLabel { api: api.clone() };
            ConstGauge::new(i64::from(h.up())).encode(fam.encode_family(&labels)?)?;
        }
        let mut fam = enc.encode_descriptor(
            "upstream_consecutive_failures",
            "Upstream connection failures and timeouts in a row",
            None,
            up.metric_type(),
        )?;
        for (api, h) in &healths {
            let labels = ApiLabel { api: api.clone() };
            ConstGauge::new(h.consecutive_failures).encode(fam.encode_family(&labels)?)?;
        }
        let mut fam = enc.encode_descriptor(
            "upstream_last_success_timestamp_seconds",
            "When the upstream last answered (Unix time; 0 if never)",
            None,
            up.metric_type(),
        )?;
        for (api, h) in &healths {
            let labels = ApiLabel { api: api.clone() };
            ConstGauge::new(h.last_success_ms as f64 / 1000.0)
                .encode(fam.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
