//! The audit event (one per exchange) and the query that reads events back.
//!
//! The event is what every sink stores, whole, as JSON: SQL sinks add a few
//! indexed columns beside it (time, principal, IP, operation, decision,
//! status) so queries filter without decoding, while the JSON keeps the
//! schema open to new fields without migrations. Every field added later
//! must be `#[serde(default)]` so that older rows and lines still decode.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How an exchange ended, from the security point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Passed every check.
    Allowed,
    /// Refused by Rampart.
    Blocked,
    /// Would have been refused, but the mode is `monitor`.
    Flagged,
    /// Passed, with the response changed (properties stripped, restricted view).
    Modified,
    /// Not checked (`off` mode).
    Unchecked,
}

impl Verdict {
    /// The verdict as written in events and accepted by queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::Flagged => "flagged",
            Verdict::Modified => "modified",
            Verdict::Unchecked => "unchecked",
        }
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allowed" => Ok(Verdict::Allowed),
            "blocked" => Ok(Verdict::Blocked),
            "flagged" => Ok(Verdict::Flagged),
            "modified" => Ok(Verdict::Modified),
            "unchecked" => Ok(Verdict::Unchecked),
            other => Err(format!(
                "unknown decision `{other}`, expected one of allowed, blocked, flagged, modified, unchecked"
            )),
        }
    }
}

/// One exchange, as recorded: who asked for what, what Rampart decided and
/// why, and how much came back.
///
/// Static strings (`mode`, rule ids) are `Cow` so the gateway fills them
/// without allocating; events read back from a store own them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the request arrived (RFC 3339 UTC, millisecond precision).
    #[serde(with = "rfc3339")]
    pub ts: SystemTime,
    /// The request id (also in the response's `x-request-id`).
    pub request_id: String,
    /// Client address.
    pub client_ip: String,
    /// Method.
    pub method: String,
    /// Canonical path (clipped).
    pub path: String,
    /// API name, when routed.
    #[serde(default)]
    pub api: Option<String>,
    /// operationId, when routed.
    #[serde(default)]
    pub operation: Option<String>,
    /// Route template, when routed.
    #[serde(default)]
    pub route: Option<String>,
    /// Effective mode (`enforce`, `monitor`, `off`).
    pub mode: Cow<'static, str>,
    /// The verdict.
    pub decision: Verdict,
    /// Status sent to the client.
    pub status: u16,
    /// Status the upstream answered, when it was called.
    #[serde(default)]
    pub upstream_status: Option<u16>,
    /// Rule ids that fired (e.g. `authz.view.restricted`).
    #[serde(default)]
    pub rules: Vec<Cow<'static, str>>,
    /// Short reason, when a rule fired.
    #[serde(default)]
    pub reason: Option<String>,
    /// The authenticated principal's id, when there is one.
    #[serde(default)]
    pub principal: Option<String>,
    /// The API key's id, when the caller used one (never the key itself).
    #[serde(default)]
    pub key_id: Option<String>,
    /// The issuer (`iss`) of the bearer token the caller authenticated
    /// with, when it used one (the inventory reports which issuers each
    /// operation actually sees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Names of the query parameters the request carried, never their
    /// values (see [`query_names`]); the inventory drafts shadow endpoints
    /// from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_keys: Vec<String>,
    /// The user name a login attempt named, when the gateway saw one
    /// (credential stuffing is counted per user name).
    #[serde(default)]
    pub username: Option<String>,
    /// Ids of the Cedar policies that decided.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Ids of the objects the exchange touched (path parameters and the
    /// declared owner/id pointers of the response).
    #[serde(default)]
    pub objects: Vec<String>,
    /// Response body bytes sent to the client.
    #[serde(default)]
    pub bytes_out: u64,
    /// Records returned: 1 for an object, the item count for a list.
    #[serde(default)]
    pub records: u32,
    /// Time from request to response head, in milliseconds.
    pub latency_ms: f64,
}

impl AuditEvent {
    /// An event with the identifying fields set and everything else empty:
    /// a starting point for tests and tools.
    pub fn new(
        ts: SystemTime,
        request_id: impl Into<String>,
        client_ip: impl Into<String>,
    ) -> Self {
        AuditEvent {
            ts,
            request_id: request_id.into(),
            client_ip: client_ip.into(),
            method: "GET".to_owned(),
            path: "/".to_owned(),
            api: None,
            operation: None,
            route: None,
            mode: Cow::Borrowed("enforce"),
            decision: Verdict::Allowed,
            status: 200,
            upstream_status: None,
            rules: Vec::new(),
            reason: None,
            principal: None,
            key_id: None,
            issuer: None,
            query_keys: Vec::new(),
            username: None,
            policies: Vec::new(),
            objects: Vec::new(),
            bytes_out: 0,
            records: 0,
            latency_ms: 0.0,
        }
    }

    /// The event's time in milliseconds since the Unix epoch (the indexed
    /// column of SQL stores; times before the epoch clamp to 0).
    pub fn ts_millis(&self) -> i64 {
        unix_millis(self.ts)
    }
}

/// Most query parameter names kept per event.
pub const MAX_QUERY_KEYS: usize = 16;

/// The query parameter names worth recording for `names`: distinct, in
/// order, at most [`MAX_QUERY_KEYS`], and only names that look like names
/// (1 to 64 of `A-Z a-z 0-9 _ - . [ ]`). A "name" outside that shape is
/// more likely a value sent without `=` (a token, an email), and the audit
/// store keeps no values.
pub fn query_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if out.len() == MAX_QUERY_KEYS {
            break;
        }
        let plain = (1..=64).contains(&name.len())
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']')
            });
        if plain && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Milliseconds since the Unix epoch, clamped to `0..=i64::MAX`.
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `ms` milliseconds after the Unix epoch.
pub(crate) fn from_unix_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Which events to read back. Every filter is optional; results are newest
/// first, at most `limit` of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
    /// Only this principal's events.
    pub principal: Option<String>,
    /// Only events from this client IP.
    pub client_ip: Option<String>,
    /// Only this operation's events.
    pub operation: Option<String>,
    /// Only events with this verdict.
    pub decision: Option<Verdict>,
    /// Largest number of events returned; 0 means [`EventQuery::DEFAULT_LIMIT`],
    /// and anything above [`EventQuery::MAX_LIMIT`] is capped.
    pub limit: usize,
}

impl EventQuery {
    /// Events returned when `limit` is 0.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Most events one query returns, so one call cannot exhaust memory.
    pub const MAX_LIMIT: usize = 10_000;

    /// The limit in force.
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// Whether `event` passes every filter (the file sink filters in
    /// memory; SQL sinks filter in the database with the same meaning).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let ts = event.ts_millis();
        self.since.is_none_or(|s| ts >= unix_millis(s))
            && self.until.is_none_or(|u| ts < unix_millis(u))
            && same(&self.principal, event.principal.as_deref())
            && self
                .client_ip
                .as_ref()
                .is_none_or(|ip| *ip == event.client_ip)
            && same(&self.operation, event.operation.as_deref())
            && self.decision.is_none_or(|d| d == event.decision)
    }
}

fn same(filter: &Option<String>, value: Option<&str>) -> bool {
    filter.as_deref().is_none_or(|f| value == Some(f))
}

/// Serde for `SystemTime` as an RFC 3339 UTC string with milliseconds.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_at_millisecond_precision() {
        let mut event = AuditEvent::new(from_unix_millis(1_700_000_000_123), "r1", "192.0.2.1");
        event.rules.push(Cow::Borrowed("authz.view.restricted"));
        event.objects.push("42".to_owned());
        event.records = 3;
        let text = serde_json::to_string(&event).expect("serialize");
        assert!(
            text.contains(r#""ts":"2023-11-14T22:13:20.123Z""#),
            "{text}"
        );
        let back: AuditEvent = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, event);
    }

    #[test]
    fn the_gateways_older_lines_still_decode() {
        let line = r#"{"ts":"2026-01-01T00:00:00.000Z","request_id":"r","client_ip":"::1",
            "method":"GET","path":"/x","api":null,"operation":null,"route":null,"mode":"enforce",
            "decision":"blocked","status":404,"upstream_status":null,"rules":["contract.route.unknown"],
            "reason":"no route","principal":null,"policies":[],"objects":[],"latency_ms":0.2}"#;
        let event: AuditEvent = serde_json::from_str(line).expect("parse");
        assert_eq!(event.decision, Verdict::Blocked);
        assert_eq!((event.bytes_out, event.records), (0, 0));
    }

    #[test]
    fn query_names_keep_names_never_values() {
        let names = query_names(["q", "limit", "q", "eyJhbGciOi.x+y/z=", "a b", "page[size]"]);
        assert_eq!(names, ["q", "limit", "page[size]"]);
        let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        assert_eq!(
            query_names(many.iter().map(String::as_str)).len(),
            MAX_QUERY_KEYS
        );
    }

    #[test]
    fn queries_filter_and_cap() {
        let mut event = AuditEvent::new(from_unix_millis(10_000), "r", "10.0.0.1");
        event.principal = Some("alice".to_owned());
        let q = EventQuery {
            since: Some(from_unix_millis(10_000)),
            until: Some(from_unix_millis(10_001)),
            principal: Some("alice".to_owned()),
            ..EventQuery::default()
        };
        assert!(q.matches(&event));
        let later = EventQuery {
            since: Some(from_unix_millis(10_001)),
            ..EventQuery::default()
        };
        assert!(!later.matches(&event));
        let bob = EventQuery {
            principal: Some("bob".to_owned()),
            ..EventQuery::default()
        };
        assert!(!bob.matches(&event));
        assert_eq!(EventQuery::default().effective_limit(), 100);
        let huge = EventQuery {
            limit: 1 << 40,
            ..EventQuery::default()
        };
        assert_eq!(huge.effective_limit(), EventQuery::MAX_LIMIT);
    }
}
