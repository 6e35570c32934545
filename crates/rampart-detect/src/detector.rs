//! The detector: observes each exchange, updates the state of every
//! subject it involves, and acts on what fires.
//!
//! One exchange updates up to four subjects: the principal, the API key,
//! the client IP and (for a failed login) the user name tried. Each has
//! its own bounded table. Detection runs in the record phase, after the
//! response; what it decides takes effect through the blocklist, which the
//! gateway consults early in the pipeline ([`Detector::admit`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_config::{DetectionAction, DetectionConfig};

use crate::blocklist::{Block, Blocklist, MemoryBlocklist, Restriction};
use crate::detection::{Action, Detection, DetectionKind, Evidence};
use crate::state::{Facts, Finding, Role, Thresholds};
use crate::subject::{Allowlist, Subject, SubjectHasher, SubjectRef};
use crate::table::Table;
use crate::webhook::AlertSink;

/// Object ids per exchange that count (a list response can name hundreds;
/// its volume is measured by `records`, not here).
const MAX_OBJECTS: usize = 8;
/// Hash domains, so an object id and a user name never share a hash.
const DOMAIN_OPERATION: u8 = 1;
const DOMAIN_OBJECT: u8 = 2;
const DOMAIN_USERNAME: u8 = 3;

/// One exchange as the detector sees it, borrowed from the audit event.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// When the request arrived (an input, so tests inject the clock).
    pub time: SystemTime,
    /// The authenticated principal.
    pub principal: Option<&'a str>,
    /// The API key's id.
    pub key_id: Option<&'a str>,
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The user name a login attempt named.
    pub username: Option<&'a str>,
    /// The operationId.
    pub operation: Option<&'a str>,
    /// The route template (stands in for the operation when that is unknown).
    pub route: Option<&'a str>,
    /// Ids of the objects touched.
    pub objects: &'a [String],
    /// Status sent to the client.
    pub status: u16,
    /// The response was a restricted view of someone else's object
    /// (rule `authz.view.restricted`).
    pub restricted_view: bool,
    /// Records returned.
    pub records: u32,
    /// Response bytes.
    pub bytes: u64,
}

impl<'a> Observation<'a> {
    /// An exchange at `time` answered with `status`, everything else empty.
    pub fn new(time: SystemTime, status: u16) -> Self {
        Observation {
            time,
            principal: None,
            key_id: None,
            ip: None,
            username: None,
            operation: None,
            route: None,
            objects: &[],
            status,
            restricted_view: false,
            records: 0,
            bytes: 0,
        }
    }

    /// Reads the rule ids of the exchange (sets `restricted_view`).
    pub fn with_rules<S: AsRef<str>>(mut self, rules: &[S]) -> Self {
        let restricted = rampart_contract::rules::AUTHZ_VIEW_RESTRICTED.id;
        self.restricted_view = rules.iter().any(|r| r.as_ref() == restricted);
        self
    }
}

/// Whether a request may proceed, from [`Detector::admit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Nothing applies.
    Allow,
    /// The subject is throttled and used its allowance: answer 429.
    Throttled {
        /// The throttle.
        block: Block,
        /// Seconds until the allowance renews (for `Retry-After`).
        retry_after: Duration,
    },
    /// The subject is blocked: answer 403.
    Blocked(Block),
}

/// Counters for metrics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectorStats {
    /// Subjects tracked, all kinds.
    pub tracked_subjects: usize,
    /// Memory held by the tracking tables, approximately, in bytes.
    pub approximate_bytes: usize,
    /// Detections so far, by kind (in [`DetectionKind::ALL`] order).
    pub detections_total: [u64; DetectionKind::COUNT],
    /// Blocks and throttles in force.
    pub blocks_active: usize,
}

/// Behavioural detection. `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct Detector {
    enabled: bool,
    thresholds: Thresholds,
    actions: [(DetectionAction, u32); DetectionKind::COUNT],
    username_action: DetectionAction,
    throttle_per_minute: u32,
    hasher: SubjectHasher,
    allow: Allowlist,
    principals: Table,
    keys: Table,
    ips: Table,
    usernames: Table,
    blocklist: Arc<dyn Blocklist>,
    alerts: Option<Arc<dyn AlertSink>>,
    /// Per throttled subject: (minute, requests in it).
    throttled: Mutex<HashMap<u64, (u32, u32)>>,
    detections: [AtomicU64; DetectionKind::COUNT],
    /// The latest detections, newest last, for operators (the admin API).
    /// Detections are rare, so a lock here costs nothing on the request path.
    recent: Mutex<std::collections::VecDeque<Detection>>,
}

/// Detections kept for [`Detector::recent`].
const RECENT_DETECTIONS: usize = 500;

fn threshold(n: impl Into<f64>) -> f64 {
    let n = n.into();
    if n == 0.0 { f64::INFINITY } else { n }
}

fn secs(t: SystemTime) -> u32 {
    let s = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(s).unwrap_or(u32::MAX)
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Detector {
    /// A detector with an in-memory blocklist and no alert sink.
    pub fn new(config: &DetectionConfig) -> Self {
        let short = to_u32(config.short_window_seconds.max(1));
        let long = to_u32(config.long_window_seconds.max(1)).max(short);
        let e = &config.enumeration;
        let b = &config.bola_probing;
        let c = &config.credential_stuffing;
        let x = &config.exfiltration;
        let thresholds = Thresholds {
            short,
            long,
            ip_scale: f64::from(config.shared_ip_factor.max(1)),
            distinct_objects: threshold(e.distinct_objects),
            sequential_run: if e.sequential_run == 0 {
                u16::MAX
            } else {
                u16::try_from(e.sequential_run).unwrap_or(u16::MAX)
            },
            sequential_gap: u64::from(e.sequential_gap.max(1)),
            restricted_views: threshold(e.restricted_views),
            denials_short: threshold(b.denials_short),
            denials_long: threshold(b.denials_long),
            failures_per_ip: threshold(c.failures_per_ip),
            usernames_per_ip: threshold(c.usernames_per_ip),
            failures_per_username: threshold(c.failures_per_username),
            records: threshold(x.records),
            kbytes: threshold(to_u32(x.bytes / 1024)),
            baseline_factor: f64::from(x.baseline_factor.max(1)),
        };
        let capacity = config.max_subjects.max(1);
        let idle_after = long.saturating_mul(2);
        Detector {
            enabled: config.enabled,
            thresholds,
            actions: [
                (e.action, to_u32(e.ttl_seconds)),
                (b.action, to_u32(b.ttl_seconds)),
                (c.action, to_u32(c.ttl_seconds)),
                (x.action, to_u32(x.ttl_seconds)),
            ],
            username_action: c.username_action,
            throttle_per_minute: config.throttle_per_minute.max(1),
            hasher: SubjectHasher::default(),
            allow: Allowlist::new(&config.allowlist),
            principals: Table::new(capacity, idle_after),
            keys: Table::new(capacity / 4, idle_after),
            ips: Table::new(capacity, idle_after),
            usernames: Table::new(capacity / 4, idle_after),
            blocklist: Arc::new(MemoryBlocklist::new()),
            alerts: None,
            throttled: Mutex::new(HashMap::new()),
            detections: Default::default(),
            recent: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Keeps blocks in `blocklist` (e.g. one shared by a cluster).
    pub fn with_blocklist(mut self, blocklist: Arc<dyn Blocklist>) -> Self {
        self.blocklist = blocklist;
        self
    }

    /// Sends every detection to `sink` (e.g. a [`Webhook`](crate::Webhook)).
    pub fn with_alerts(mut self, sink: Arc<dyn AlertSink>) -> Self {
        self.alerts = Some(sink);
        self
    }

    /// Updates every subject `o` involves and returns what fired; blocks
    /// and throttles are already in force when this returns.
    pub fn observe(&self, o: &Observation<'_>) -> Vec<Detection> {
        if !self.enabled {
            return Vec::new();
        }
        let mut objects = [(0u64, None); MAX_OBJECTS];
        let count = o.objects.len().min(MAX_OBJECTS);
        for (slot, id) in objects.iter_mut().zip(o.objects) {
            *slot = (self.hasher.item(DOMAIN_OBJECT, id), id.parse::<u64>().ok());
        }
        let op = o.operation.or(o.route).map_or(0, |op| {
            // Truncation is fine for a slot tag; 0 is reserved for "empty".
            (self.hasher.item(DOMAIN_OPERATION, op) as u32).max(1)
        });
        let failed_login = o.status == 401;
        let facts = Facts {
            now: secs(o.time),
            op,
            objects: &objects[..count],
            status: o.status,
            restricted_view: o.restricted_view,
            records: o.records,
            kbytes: to_u32(o.bytes.div_ceil(1024)),
            username: o
                .username
                .filter(|_| failed_login)
                .map(|u| self.hasher.item(DOMAIN_USERNAME, u)),
        };
        let mut out = Vec::new();
        let subjects = [
            o.principal
                .map(|p| (SubjectRef::Principal(p), Role::Caller, &self.principals)),
            o.key_id
                .map(|k| (SubjectRef::ApiKey(k), Role::Caller, &self.keys)),
            o.ip.map(|ip| (SubjectRef::Ip(ip), Role::Address, &self.ips)),
            o.username
                .filter(|_| failed_login)
                .map(|u| (SubjectRef::Username(u), Role::Username, &self.usernames)),
        ];
        for (subject, role, table) in subjects.into_iter().flatten() {
            if self.allow.contains(subject) {
                continue;
            }
            let key = self.hasher.subject(subject);
            let findings = table.with(key, facts.now, |state| {
                let findings = state.observe(&facts, &self.thresholds, role);
                for f in &findings {
                    let (action, ttl) = self.action(f.kind, role);
                    // Alerts repeat at most once per long window; blocks
                    // and throttles stay quiet while in force.
                    let quiet = match action {
                        DetectionAction::Alert => self.thresholds.long,
                        _ => ttl,
                    };
                    state.mute(f.kind, facts.now.saturating_add(quiet));
                }
                findings
            });
            for finding in findings {
                out.push(self.detection(subject, role, finding, o));
            }
        }
        for detection in &out {
            self.enact(detection);
        }
        out
    }

    fn action(&self, kind: DetectionKind, role: Role) -> (DetectionAction, u32) {
        let (action, ttl) = self.actions[kind.index()];
        match role {
            Role::Username => (self.username_action, ttl),
            _ => (action, ttl),
        }
    }

    fn detection(
        &self,
        subject: SubjectRef<'_>,
        role: Role,
        f: Finding,
        o: &Observation<'_>,
    ) -> Detection {
        let (action, ttl) = self.action(f.kind, role);
        let t = &self.thresholds;
        let window_seconds = match f.metric {
            "sequential_run" => 0,
            "denials_short" => t.short,
            _ => t.long,
        };
        let per_operation = matches!(f.metric, "distinct_objects" | "sequential_run");
        let until = o.time + Duration::from_secs(u64::from(ttl));
        let (action, until) = match action {
            DetectionAction::Alert => (Action::Alert, None),
            DetectionAction::Throttle => (
                Action::Throttle {
                    per_minute: self.throttle_per_minute,
                },
                Some(until),
            ),
            DetectionAction::Block => (Action::Block, Some(until)),
        };
        Detection {
            kind: f.kind,
            subject: subject.to_owned(),
            score: f.ratio(),
            evidence: Evidence {
                metric: f.metric,
                observed: f.observed,
                threshold: f.threshold,
                window_seconds,
                operation: per_operation
                    .then(|| o.operation.or(o.route).map(str::to_owned))
                    .flatten(),
            },
            action,
            at: o.time,
            until,
        }
    }

    fn enact(&self, d: &Detection) {
        self.detections[d.kind.index()].fetch_add(1, Ordering::Relaxed);
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent.len() == RECENT_DETECTIONS {
                recent.pop_front();
            }
            recent.push_back(d.clone());
        }
        tracing::warn!(
            kind = d.kind.as_str(),
            subject = %d.subject,
            metric = d.evidence.metric,
            observed = d.evidence.observed,
            threshold = d.evidence.threshold,
            action = ?d.action,
            "detection"
        );
        let restriction = match d.action {
            Action::Alert => None,
            Action::Throttle { per_minute } => Some(Restriction::Throttle { per_minute }),
            Action::Block => Some(Restriction::Block),
        };
        if let (Some(restriction), Some(until)) = (restriction, d.until) {
            self.blocklist.insert(Block {
                subject: d.subject.clone(),
                restriction,
                kind: Some(d.kind),
                reason: format!(
                    "{}: {} {:.0} ≥ {:.0}",
                    d.kind.as_str(),
                    d.evidence.metric,
                    d.evidence.observed,
                    d.evidence.threshold
                ),
                since: d.at,
                until,
            });
        }
        if let Some(alerts) = &self.alerts {
            alerts.alert(d);
        }
    }

    /// The block or throttle on `subject` in force at `now`.
    pub fn is_blocked(&self, subject: SubjectRef<'_>, now: SystemTime) -> Option<Block> {
        self.blocklist.get(subject, now)
    }

    /// Whether a request from these subjects may proceed. Call it with the
    /// IP right after accept, and again with the principal and key once
    /// authenticated. Costs one atomic load when nothing is blocked.
    pub fn admit(
        &self,
        principal: Option<&str>,
        key_id: Option<&str>,
        ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Admission {
        let subjects = [
            ip.map(SubjectRef::Ip),
            principal.map(SubjectRef::Principal),
            key_id.map(SubjectRef::ApiKey),
        ];
        for subject in subjects.into_iter().flatten() {
            let Some(block) = self.blocklist.get(subject, now) else {
                continue;
            };
            match block.restriction {
                Restriction::Block => return Admission::Blocked(block),
                Restriction::Throttle { per_minute } => {
                    let t = secs(now);
                    let minute = t / 60;
                    let key = self.hasher.subject(subject);
                    let mut counts = self
                        .throttled
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if counts.len() > 100_000 {
                        counts.retain(|_, (m, _)| *m == minute);
                    }
                    let entry = counts.entry(key).or_insert((minute, 0));
                    if entry.0 != minute {
                        *entry = (minute, 0);
                    }
                    if entry.1 >= per_minute {
                        let retry_after = Duration::from_secs(u64::from(60 - t % 60));
                        return Admission::Throttled { block, retry_after };
                    }
                    entry.1 += 1;
                }
            }
        }
        Admission::Allow
    }

    /// An operator's block or throttle on `subject` for `ttl`.
    pub fn block(
        &self,
        subject: Subject,
        restriction: Restriction,
        ttl: Duration,
        reason: &str,
        now: SystemTime,
    ) {
        self.blocklist.insert(Block {
            subject,
            restriction,
            kind: None,
            reason: reason.to_owned(),
            since: now,
            until: now + ttl,
        });
    }

    /// Lifts the block on `subject` (an operator's unblock).
    pub fn unblock(&self, subject: SubjectRef<'_>) -> Option<Block> {
        self.blocklist.remove(subject)
    }

    /// Blocks and throttles in force at `now`.
    pub fn blocks(&self, now: SystemTime) -> Vec<Block> {
        self.blocklist.list(now)
    }

    /// The latest detections (at most 500), newest first.
    pub fn recent(&self) -> Vec<Detection> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.iter().rev().cloned().collect()
    }

    /// Counters for metrics. Walks every table: call it at scrape time,
    /// not per request.
    pub fn stats(&self, now: SystemTime) -> DetectorStats {
        let tables = [&self.principals, &self.keys, &self.ips, &self.usernames];
        DetectorStats {
            tracked_subjects: tables.iter().map(|t| t.len()).sum(),
            approximate_bytes: tables.iter().map(|t| t.approximate_bytes()).sum(),
            detections_total: std::array::from_fn(|i| self.detections[i].load(Ordering::Relaxed)),
            blocks_active: self.blocklist.list(now).len(),
        }
    }
}
