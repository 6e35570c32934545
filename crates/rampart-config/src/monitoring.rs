//! Monitoring settings: the durable audit store (`store`) and behavioural
//! detection (`detection`).
//!
//! Both sections are optional and their defaults are the safe choice for a
//! single instance: events go to an embedded SQLite file kept for 30 days,
//! a sink slower than traffic pushes back rather than losing events, and
//! detection is on with thresholds well above what a person using an app
//! produces. Every threshold can be set to 0 to turn its check off.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern a PostgreSQL schema name must match (an unquoted identifier).
pub(crate) const PG_SCHEMA_PATTERN: &str = "^[a-z_][a-z0-9_]{0,62}$";
/// Smallest accepted `store.file.max_bytes`: a file must hold a batch.
pub(crate) const MIN_ROTATE_BYTES: u64 = 64 * 1024;

/// The durable audit store: one event per exchange, written in batches off
/// the request path, queryable by `rampart events` and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Where events go: `sqlite` (embedded, the default), `postgres` (for
    /// clusters), `file` (JSON lines with rotation), `stdout`, or `off`.
    pub sink: StoreSink,
    /// The embedded SQLite store.
    pub sqlite: SqliteStoreConfig,
    /// The PostgreSQL store.
    pub postgres: PostgresStoreConfig,
    /// The JSON-lines file store.
    pub file: FileStoreConfig,
    /// How long SQL stores keep events, in hours; older ones are deleted
    /// periodically. Files are bounded by rotation instead.
    #[schemars(range(min = 1))]
    pub retention_hours: u64,
    /// How often expired events are deleted, in seconds.
    #[schemars(range(min = 1))]
    pub retention_check_seconds: u64,
    /// Largest number of events written (and fsync'd or committed) together.
    #[schemars(range(min = 1))]
    pub batch_max_events: usize,
    /// Longest an event waits for its batch to fill before it is written
    /// anyway, in milliseconds.
    #[schemars(range(min = 1))]
    pub batch_max_delay_ms: u64,
    /// Events held in memory waiting for the sink; what happens past this
    /// is `overflow`. At least `batch_max_events`.
    #[schemars(range(min = 1))]
    pub queue_capacity: usize,
    /// What happens when the sink is slower than traffic and the queue is full.
    pub overflow: Overflow,
    /// Hold each response until its event is durable (committed or
    /// fsync'd), and answer 503 instead when the store cannot take it: no
    /// client ever gets an answer the audit trail does not hold. Costs up
    /// to `batch_max_delay_ms` of latency per exchange; off by default.
    pub commit_before_response: bool,
    /// Classify the fields of one JSON response in this many (classes such
    /// as email or card number, never values) for `rampart inventory`;
    /// 0 turns sampling off. SQL stores only.
    pub field_sample_every: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            sink: StoreSink::Sqlite,
            sqlite: SqliteStoreConfig::default(),
            postgres: PostgresStoreConfig::default(),
            file: FileStoreConfig::default(),
            retention_hours: 30 * 24,
            retention_check_seconds: 300,
            batch_max_events: 512,
            batch_max_delay_ms: 20,
            queue_capacity: 65_536,
            overflow: Overflow::Backpressure,
            commit_before_response: false,
            field_sample_every: 100,
        }
    }
}

/// The audit store's sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreSink {
    /// An embedded SQLite database (WAL mode), with retention.
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by a cluster, with retention.
    Postgres,
    /// JSON lines appended to a file, rotated by size.
    File,
    /// JSON lines on standard output (not queryable).
    Stdout,
    /// No audit store.
    Off,
}

/// The embedded SQLite store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteStoreConfig {
    /// The database file, created when missing (relative to the
    /// configuration file's directory).
    pub path: PathBuf,
}

impl Default for SqliteStoreConfig {
    fn default() -> Self {
        SqliteStoreConfig {
            path: PathBuf::from("rampart-events.db"),
        }
    }
}

/// The PostgreSQL store. The connection URL carries credentials, so it is
/// read from the environment rather than written in this file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresStoreConfig {
    /// Environment variable holding the connection URL
    /// (`postgres://user:password@host:5432/db`).
    pub url_env: String,
    /// Schema holding Rampart's tables, created when missing.
    #[schemars(regex(pattern = PG_SCHEMA_PATTERN))]
    pub schema: String,
    /// Largest number of connections to the database.
    #[schemars(range(min = 1))]
    pub max_connections: u32,
}

impl Default for PostgresStoreConfig {
    fn default() -> Self {
        PostgresStoreConfig {
            url_env: "DATABASE_URL".to_owned(),
            schema: "rampart".to_owned(),
            max_connections: 4,
        }
    }
}

/// The JSON-lines file store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FileStoreConfig {
    /// The file events are appended to (relative to the configuration
    /// file's directory). Rotated files get `.1`, `.2`, ... appended.
    pub path: PathBuf,
    /// Size at which the file is rotated, in bytes (at least 65536).
    #[schemars(range(min = MIN_ROTATE_BYTES))]
    pub max_bytes: u64,
    /// Rotated files kept besides the current one; older ones are deleted.
    #[schemars(range(min = 1))]
    pub keep: u32,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        FileStoreConfig {
            path: PathBuf::from("rampart-events.jsonl"),
            max_bytes: 100 * 1024 * 1024,
            keep: 5,
        }
    }
}

/// What the gateway does when the audit queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Exchanges wait for room: no event is lost, but a stalled sink slows
    /// traffic (an attacker cannot flood the audit trail away).
    #[default]
    Backpressure,
    /// The event is dropped and counted (`dropped_total`); traffic never waits.
    Drop,
}

/// Behavioural detection: per principal, API key, IP and attempted user
/// name, over a short and a long sliding window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DetectionConfig {
    /// Whether detection runs at all.
    pub enabled: bool,
    /// The short window (bursts), in seconds.
    #[schemars(range(min = 1))]
    pub short_window_seconds: u64,
    /// The long window (slow walks, volumes), in seconds; longer than the short one.
    #[schemars(range(min = 1))]
    pub long_window_seconds: u64,
    /// Largest number of subjects (principals, keys, IPs, user names) tracked
    /// at once, which bounds memory (under 1 KB each); the least recently
    /// seen are forgotten first.
    #[schemars(range(min = 1))]
    pub max_subjects: usize,
    /// Thresholds for a client IP are this many times those for a principal,
    /// since several people may share an address (NAT, offices). Credential
    /// stuffing's per-IP thresholds are per address already and not scaled.
    #[schemars(range(min = 1))]
    pub shared_ip_factor: u32,
    /// Enumeration and scraping: many distinct objects, sequential id walks,
    /// restricted views of other people's objects.
    pub enumeration: EnumerationRule,
    /// BOLA probing: bursts of 403 and 404 on object routes.
    pub bola_probing: BolaProbingRule,
    /// Credential stuffing and token guessing: bursts of 401.
    pub credential_stuffing: CredentialStuffingRule,
    /// Exfiltration: records or bytes far above the subject's baseline.
    pub exfiltration: ExfiltrationRule,
    /// Requests per minute a throttled subject is allowed.
    #[schemars(range(min = 1))]
    pub throttle_per_minute: u32,
    /// Subjects never flagged: `principal:<id>`, `key:<id>`,
    /// `username:<name>`, `ip:<address>` or `ip:<address>/<prefix>`.
    pub allowlist: Vec<AllowEntry>,
    /// Where alerts are posted (a JSON body per detection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            enabled: true,
            short_window_seconds: 60,
            long_window_seconds: 600,
            max_subjects: 1_000_000,
            shared_ip_factor: 5,
            enumeration: EnumerationRule::default(),
            bola_probing: BolaProbingRule::default(),
            credential_stuffing: CredentialStuffingRule::default(),
            exfiltration: ExfiltrationRule::default(),
            throttle_per_minute: 30,
            allowlist: Vec::new(),
            webhook: None,
        }
    }
}

/// What happens to a subject when a detection fires. Every detection is
/// logged, counted and sent to the webhook (when one is set) whatever the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum DetectionAction {
    /// Report only.
    Alert,
    /// Limit the subject to `throttle_per_minute` requests for the TTL.
    Throttle,
    /// Refuse the subject's requests for the TTL.
    #[default]
    Block,
}

/// Enumeration and scraping thresholds, per principal or key (times
/// `shared_ip_factor` per IP), over the long window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnumerationRule {
    /// Distinct object ids read through one operation.
    pub distinct_objects: u32,
    /// Distinct numeric ids visited in order (each within `sequential_gap`
    /// of the previous, same direction): an id walk.
    pub sequential_run: u32,
    /// Largest step between two ids still counted as a walk.
    #[schemars(range(min = 1))]
    pub sequential_gap: u32,
    /// Distinct objects of other people's seen as restricted views
    /// (`authz.view.restricted`): the Peloton pattern. The same object
    /// viewed again does not count twice.
    pub restricted_views: u32,
    /// What happens when it fires.
    pub action: DetectionAction,
    /// How long a block or throttle lasts, in seconds.
    #[schemars(range(min = 1))]
    pub ttl_seconds: u64,
}

impl Default for EnumerationRule {
    fn default() -> Self {
        EnumerationRule {
            distinct_objects: 100,
            sequential_run: 15,
            sequential_gap: 3,
            restricted_views: 30,
            action: DetectionAction::Block,
            ttl_seconds: 3600,
        }
    }
}

/// BOLA probing thresholds: 403 and 404 answers on routes with object ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BolaProbingRule {
    /// Denials within the short window.
    pub denials_short: u32,
    /// Denials within the long window.
    pub denials_long: u32,
    /// What happens when it fires.
    pub action: DetectionAction,
    /// How long a block or throttle lasts, in seconds.
    #[schemars(range(min = 1))]
    pub ttl_seconds: u64,
}

impl Default for BolaProbingRule {
    fn default() -> Self {
        BolaProbingRule {
            denials_short: 20,
            denials_long: 50,
            action: DetectionAction::Block,
            ttl_seconds: 900,
        }
    }
}

/// Credential stuffing and token guessing thresholds (401 answers), over
/// the long window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialStuffingRule {
    /// Failures from one IP.
    pub failures_per_ip: u32,
    /// Distinct user names failing from one IP.
    pub usernames_per_ip: u32,
    /// Failures for one user name, from anywhere.
    pub failures_per_username: u32,
    /// What happens to the IP when it fires.
    pub action: DetectionAction,
    /// What happens to the user name when it fires. Blocking it would lock
    /// its owner out, so the default only throttles.
    pub username_action: DetectionAction,
    /// How long a block or throttle lasts, in seconds.
    #[schemars(range(min = 1))]
    pub ttl_seconds: u64,
}

impl Default for CredentialStuffingRule {
    fn default() -> Self {
        CredentialStuffingRule {
            failures_per_ip: 30,
            usernames_per_ip: 8,
            failures_per_username: 10,
            action: DetectionAction::Block,
            username_action: DetectionAction::Throttle,
            ttl_seconds: 3600,
        }
    }
}

/// Exfiltration thresholds: volume returned to one subject over the long
/// window. It fires above the floor *and* above `baseline_factor` times
/// what the subject usually gets per window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExfiltrationRule {
    /// Records (list items and objects) returned: the floor.
    pub records: u32,
    /// Response bytes returned: the floor.
    pub bytes: u64,
    /// How far above the subject's own baseline the volume must be.
    #[schemars(range(min = 1))]
    pub baseline_factor: u32,
    /// What happens when it fires.
    pub action: DetectionAction,
    /// How long a block or throttle lasts, in seconds.
    #[schemars(range(min = 1))]
    pub ttl_seconds: u64,
}

impl Default for ExfiltrationRule {
    fn default() -> Self {
        ExfiltrationRule {
            records: 5_000,
            bytes: 50 * 1024 * 1024,
            baseline_factor: 10,
            action: DetectionAction::Alert,
            ttl_seconds: 3600,
        }
    }
}

/// Where detections are posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// An `http` or `https` URL receiving a POST with a JSON body per detection.
    pub url: String,
    /// Environment variable holding a bearer token sent with each alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Time allowed for one delivery, in milliseconds.
    #[serde(default = "default_webhook_timeout")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Alerts waiting for delivery; past this, new alerts are dropped and counted.
    #[serde(default = "default_webhook_queue")]
    #[schemars(range(min = 1))]
    pub queue_capacity: usize,
}

fn default_webhook_timeout() -> u64 {
    2_000
}

fn default_webhook_queue() -> usize {
    1_024
}

/// One allowlist entry, written `kind:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllowEntry {
    /// An authenticated principal's id.
    Principal(String),
    /// An API key id.
    ApiKey(String),
    /// A user name attempted at login.
    Username(String),
    /// An address or a network (`addr/prefix`).
    Ip(IpNet),
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The network's address.
    pub addr: IpAddr,
    /// The prefix length (32 or 128 for a single address).
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses
    /// match their IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for AllowEntry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, value) = s
            .split_once(':')
            .ok_or("expected `principal:`, `key:`, `username:` or `ip:` before the value")?;
        if value.is_empty() {
            return Err("the value after the kind is empty".to_owned());
        }
        match kind {
            "principal" => Ok(AllowEntry::Principal(value.to_owned())),
            "key" => Ok(AllowEntry::ApiKey(value.to_owned())),
            "username" => Ok(AllowEntry::Username(value.to_owned())),
            "ip" => value.parse().map(AllowEntry::Ip),
            _ => Err(format!(
                "unknown kind `{kind}`, expected principal, key, username or ip"
            )),
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Principal(v) => write!(f, "principal:{v}"),
            AllowEntry::ApiKey(v) => write!(f, "key:{v}"),
            AllowEntry::Username(v) => write!(f, "username:{v}"),
            AllowEntry::Ip(net) => write!(f, "ip:{net}"),
        }
    }
}

impl Serialize for AllowEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AllowEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for AllowEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AllowEntry".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`principal:<id>`, `key:<id>`, `username:<name>`, `ip:<address>` or `ip:<address>/<prefix>`.",
            "type": "string",
            "pattern": "^(principal|key|username|ip):.+$",
            "examples": ["principal:svc-backup", "ip:10.0.0.0/8"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_entries_parse_and_print_back() {
        for text in [
            "principal:alice",
            "key:ci",
            "username:bob",
            "ip:10.0.0.0/8",
            "ip:2001:db8::/32",
        ] {
            let entry: AllowEntry = text.parse().expect(text);
            assert_eq!(entry.to_string(), text);
        }
        assert_eq!(
            "ip:192.0.2.7".parse::<AllowEntry>().map(|e| e.to_string()),
            Ok("ip:192.0.2.7/32".to_owned())
        );
        for bad in ["alice", "user:x", "ip:300.1.1.1", "ip:10.0.0.0/33", "key:"] {
            assert!(bad.parse::<AllowEntry>().is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNet = "10.1.0.0/16".parse().expect("net");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let all: IpNet = "0.0.0.0/0".parse().expect("net");
        assert!(all.contains("203.0.113.1".parse().expect("ip")));
        let v6: IpNet = "2001:db8::/32".parse().expect("net");
        assert!(v6.contains("2001:db8:1::1".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::1".parse().expect("ip")));
    }
}
