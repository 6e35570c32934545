//! Running statistics for the dashboard, fed by the gateway's live feed.
//!
//! The overview (requests, blocks, p99 and top rules per minute), the
//! per-operation table and the offender list are kept here, in memory,
//! rather than computed from the audit store: they must work whatever sink
//! the operator chose (a JSON-lines file or stdout cannot be aggregated),
//! and a dashboard refresh must not scan a table. Everything is bounded:
//! an hour of minute buckets, one row per operation the contract declares,
//! and at most [`MAX_OFFENDERS`] offenders.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use rampart_gateway::LiveFeed;
use rampart_store::{AuditEvent, Verdict};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

/// Minutes of history the overview keeps.
pub const MINUTES: usize = 60;

/// Offenders tracked at most; past this the least active half is dropped.
pub const MAX_OFFENDERS: usize = 10_000;

/// A latency histogram: 1 µs to 10 minutes, two significant digits.
/// (`None` only if hdrhistogram ever refused these constant bounds; the
/// minute then has no p99 rather than a wrong one.)
fn histogram() -> Option<Histogram<u32>> {
    Histogram::new_with_bounds(1, 600_000_000, 2).ok()
}

struct Minute {
    minute: u64,
    requests: u64,
    blocked: u64,
    flagged: u64,
    latency: Option<Histogram<u32>>,
}

/// One minute of the overview.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MinutePoint {
    /// Start of the minute (Unix seconds).
    pub t: u64,
    /// Exchanges.
    pub requests: u64,
    /// Refused by Rampart.
    pub blocked: u64,
    /// Would have been refused (monitor mode).
    pub flagged: u64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
}

/// Traffic of one operation.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OperationStats {
    /// Exchanges.
    pub requests: u64,
    /// By decision.
    pub allowed: u64,
    /// Refused.
    pub blocked: u64,
    /// Flagged in monitor mode.
    pub flagged: u64,
    /// Passed with a changed response.
    pub modified: u64,
    /// Not checked (`off`).
    pub unchecked: u64,
    /// Responses with a 5xx status.
    pub errors: u64,
    /// Last exchange (RFC 3339), if any.
    pub last_seen: Option<String>,
}

/// Someone whose requests Rampart keeps refusing.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Offender {
    /// The subject, as `ip:…`, `principal:…` or `key:…` (what the block API takes).
    pub subject: String,
    /// Refused requests.
    pub blocked: u64,
    /// Flagged requests.
    pub flagged: u64,
    /// Refusals by an object or function authorization rule.
    pub denied_objects: u64,
    /// Last refusal (RFC 3339).
    pub last_seen: String,
    /// The rule of the last refusal.
    pub last_rule: Option<String>,
}

#[derive(Default)]
struct Inner {
    minutes: VecDeque<Minute>,
    operations: HashMap<(String, String), OperationStats>,
    rules: HashMap<String, u64>,
    offenders: HashMap<String, Offender>,
    total: u64,
    lost: u64,
}

/// The statistics, shared by the admin handlers and the feeding task.
#[derive(Clone, Default)]
pub struct LiveStats {
    inner: Arc<Mutex<Inner>>,
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The overview the dashboard charts.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Exchanges seen since the admin listener started.
    pub total: u64,
    /// Events the statistics missed because they fell behind the feed.
    pub lost: u64,
    /// Per minute, oldest first, the last hour (minutes with no traffic included).
    pub minutes: Vec<MinutePoint>,
    /// Rules that fired most, with their counts.
    pub top_rules: Vec<(String, u64)>,
}

impl LiveStats {
    /// Start feeding from `feed` on the current runtime; the task ends when
    /// the feed closes.
    pub fn spawn(feed: &LiveFeed) -> LiveStats {
        let stats = LiveStats::default();
        let mut rx = feed.subscribe();
        let s = stats.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => s.add(&event),
                    Err(RecvError::Lagged(n)) => s.lock().lost += n,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count one exchange.
    pub fn add(&self, e: &AuditEvent) {
        let minute = unix_secs(e.ts) / 60;
        let mut inner = self.lock();
        inner.total += 1;
        let needs_new = inner.minutes.back().is_none_or(|m| m.minute < minute);
        if needs_new {
            inner.minutes.push_back(Minute {
                minute,
                requests: 0,
                blocked: 0,
                flagged: 0,
                latency: histogram(),
            });
            while inner
                .minutes
                .front()
                .is_some_and(|m| m.minute + MINUTES as u64 <= minute)
            {
                inner.minutes.pop_front();
            }
        }
        // Events arrive in order, give or take the workers' interleaving: a
        // late one joins its own minute when that minute is still kept.
        if let Some(m) = inner.minutes.iter_mut().rev().find(|m| m.minute == minute) {
            m.requests += 1;
            match e.decision {
                Verdict::Blocked => m.blocked += 1,
                Verdict::Flagged => m.flagged += 1,
                _ => {}
            }
            let micros = (e.latency_ms * 1000.0).clamp(1.0, 600_000_000.0) as u64;
            if let Some(h) = m.latency.as_mut() {
                let _ = h.record(micros);
            }
        }
        for rule in &e.rules {
            if let Some(n) = inner.rules.get_mut(rule.as_ref()) {
                *n += 1;
            } else {
                inner.rules.insert(rule.to_string(), 1);
            }
        }
        if let (Some(api), Some(op)) = (&e.api, &e.operation) {
            let s = inner
                .operations
                .entry((api.clone(), op.clone()))
                .or_default();
            s.requests += 1;
            match e.decision {
                Verdict::Allowed => s.allowed += 1,
                Verdict::Blocked => s.blocked += 1,
                Verdict::Flagged => s.flagged += 1,
                Verdict::Modified => s.modified += 1,
                Verdict::Unchecked => s.unchecked += 1,
            }
            if e.status >= 500 {
                s.errors += 1;
            }
            s.last_seen = Some(rfc3339(e.ts));
        }
        if matches!(e.decision, Verdict::Blocked | Verdict::Flagged) {
            let authz = e.rules.iter().any(|r| r.starts_with("authz."));
            let mut subjects = vec![format!("ip:{}", e.client_ip)];
            if let Some(p) = &e.principal {
                subjects.push(format!("principal:{p}"));
            }
            if let Some(k) = &e.key_id {
                subjects.push(format!("key:{k}"));
            }
            if inner.offenders.len() + subjects.len() > MAX_OFFENDERS {
                prune(&mut inner.offenders);
            }
            for subject in subjects {
                let o = inner
                    .offenders
                    .entry(subject.clone())
                    .or_insert_with(|| Offender {
                        subject,
                        ..Offender::default()
                    });
                if e.decision == Verdict::Blocked {
                    o.blocked += 1;
                } else {
                    o.flagged += 1;
                }
                if authz {
                    o.denied_objects += 1;
                }
                o.last_seen = rfc3339(e.ts);
                o.last_rule = e.rules.first().map(|r| r.to_string());
            }
        }
    }

    /// The overview of the last hour, as of `now`.
    pub fn overview(&self, now: SystemTime) -> Overview {
        let inner = self.lock();
        let current = unix_secs(now) / 60;
        let first = current.saturating_sub(MINUTES as u64 - 1);
        let minutes = (first..=current)
            .map(
                |minute| match inner.minutes.iter().find(|m| m.minute == minute) {
                    Some(m) => MinutePoint {
                        t: minute * 60,
                        requests: m.requests,
                        blocked: m.blocked,
                        flagged: m.flagged,
                        p99_ms: match &m.latency {
                            Some(h) if m.requests > 0 => h.value_at_quantile(0.99) as f64 / 1000.0,
                            _ => 0.0,
                        },
                    },
                    None => MinutePoint {
                        t: minute * 60,
                        requests: 0,
                        blocked: 0,
                        flagged: 0,
                        p99_ms: 0.0,
                    },
                },
            )
            .collect();
        let mut top_rules: Vec<(String, u64)> =
            inner.rules.iter().map(|(k, v)| (k.clone(), *v)).collect();
        top_rules.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top_rules.truncate(10);
        Overview {
            total: inner.total,
            lost: inner.lost,
            minutes,
            top_rules,
        }
    }

    /// Traffic of one operation.
    pub fn operation(&self, api: &str, op: &str) -> OperationStats {
        self.lock()
            .operations
            .get(&(api.to_owned(), op.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The most refused subjects, most first.
    pub fn offenders(&self, limit: usize) -> Vec<Offender> {
        let inner = self.lock();
        let mut v: Vec<Offender> = inner.offenders.values().cloned().collect();
        v.sort_by(|a, b| {
            (b.blocked + b.flagged)
                .cmp(&(a.blocked + a.flagged))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        v.truncate(limit);
        v
    }
}

/// Keep the more active half of the offenders.
fn prune(offenders: &mut HashMap<String, Offender>) {
    let mut counts: Vec<u64> = offenders.values().map(|o| o.blocked + o.flagged).collect();
    counts.sort_unstable();
    let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
    offenders.retain(|_, o| o.blocked + o.flagged > median);
    if offenders.len() > MAX_OFFENDERS / 2 {
        let extra = offenders.len() - MAX_OFFENDERS / 2;
        let drop: Vec<String> = offenders.keys().take(extra).cloned().collect();
        for k in drop {
            offenders.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::time::Duration;

    fn event(at: SystemTime, decision: Verdict, latency_ms: f64) -> AuditEvent {
        let mut e = AuditEvent::new(at, "r", "192.0.2.7");
        e.api = Some("riders".into());
        e.operation = Some("getRider".into());
        e.decision = decision;
        e.status = if decision == Verdict::Blocked {
            404
        } else {
            200
        };
        e.latency_ms = latency_ms;
        if decision == Verdict::Blocked {
            e.rules = vec![Cow::Borrowed("authz.object.denied")];
            e.principal = Some("4".into());
        }
        e
    }

    #[test]
    fn minutes_count_requests_blocks_and_the_p99() {
        let stats = LiveStats::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for i in 0..99 {
            stats.add(&event(t0 + Duration::from_millis(i), Verdict::Allowed, 1.0));
        }
        stats.add(&event(t0, Verdict::Blocked, 50.0));
        stats.add(&event(t0 + Duration::from_secs(60), Verdict::Allowed, 2.0));
        let o = stats.overview(t0 + Duration::from_secs(61));
        assert_eq!(o.total, 101);
        assert_eq!(o.minutes.len(), MINUTES);
        let last = &o.minutes[MINUTES - 1];
        let prev = &o.minutes[MINUTES - 2];
        assert_eq!((prev.requests, prev.blocked), (100, 1));
        assert!((0.99..=1.01).contains(&prev.p99_ms), "p99 {}", prev.p99_ms);
        assert_eq!((last.requests, last.blocked), (1, 0));
        assert_eq!(o.top_rules, vec![("authz.object.denied".to_owned(), 1)]);
        let op = stats.operation("riders", "getRider");
        assert_eq!((op.requests, op.allowed, op.blocked), (101, 100, 1));
        let off = stats.offenders(10);
        assert_eq!(off.len(), 2);
        assert!(
            off.iter()
                .any(|o| o.subject == "principal:4" && o.denied_objects == 1)
        );
    }

    #[test]
    fn the_hour_rolls_over() {
        let stats = LiveStats::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        stats.add(&event(t0, Verdict::Allowed, 1.0));
        stats.add(&event(
            t0 + Duration::from_secs(3600),
            Verdict::Allowed,
            1.0,
        ));
        let o = stats.overview(t0 + Duration::from_secs(3600));
        assert_eq!(o.minutes.iter().map(|m| m.requests).sum::<u64>(), 1);
        assert_eq!(stats.lock().minutes.len(), 1);
    }

    #[test]
    fn offenders_stay_bounded() {
        let stats = LiveStats::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for i in 0..(MAX_OFFENDERS as u32 + 100) {
            let mut e = event(t0, Verdict::Blocked, 1.0);
            e.client_ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            e.principal = None;
            stats.add(&e);
        }
        assert!(stats.lock().offenders.len() <= MAX_OFFENDERS);
    }
}
