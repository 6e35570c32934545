//! Vulnerability disclosure settings: the `security.txt` file (RFC 9116),
//! the public report intake, the SLA clock and where reports are tracked.
//!
//! The section is optional and off by default: an intake is a public write
//! endpoint, so an operator turns it on knowingly. Its defaults bound what
//! strangers can do with it: a small body, a few reports per address per
//! hour, and a cap on open reports so a flood cannot fill the disk.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest accepted `disclosure.intake.max_body_bytes`: a report is prose,
/// and the cap times `max_open_reports` bounds the disk a flood can use.
pub(crate) const MAX_REPORT_BODY_BYTES: u64 = 1024 * 1024;

/// Vulnerability disclosure: `/.well-known/security.txt`, a report intake,
/// and a tracker with an SLA clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureConfig {
    /// The `security.txt` file served at `/.well-known/security.txt`.
    /// Absent: none is served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_txt: Option<SecurityTxtConfig>,
    /// The public report intake: a form, a JSON endpoint and status pages.
    pub intake: IntakeConfig,
    /// Days from receipt within which a report should be fixed and disclosed.
    #[schemars(range(min = 1))]
    pub sla_days: u32,
    /// Reminders are due this many days before the SLA deadline, once each.
    /// Every value must be smaller than `sla_days`.
    pub remind_before_days: Vec<u32>,
    /// Where every state change (and reminder) is posted, signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<DisclosureWebhookConfig>,
    /// Where reports and their history are kept.
    pub store: DisclosureStoreConfig,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        DisclosureConfig {
            security_txt: None,
            intake: IntakeConfig::default(),
            sla_days: 90,
            remind_before_days: vec![30, 7, 1],
            webhook: None,
            store: DisclosureStoreConfig::default(),
        }
    }
}

/// The fields of an RFC 9116 `security.txt` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityTxtConfig {
    /// How to reach the security team, most preferred first: `mailto:`,
    /// `https://` or `tel:` URIs. At least one.
    #[schemars(length(min = 1))]
    pub contact: Vec<String>,
    /// When the file stops being valid, in RFC 3339 UTC
    /// (`2027-06-30T00:00:00Z`). RFC 9116 advises less than a year ahead;
    /// `rampart check` warns when it is near or past.
    pub expires: String,
    /// `https://` URL of the disclosure policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Languages reports may be written in (RFC 5646 tags, e.g. `en`, `fr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_languages: Vec<String>,
    /// `https://` URLs where this file is published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical: Vec<String>,
    /// Keys for encrypted reports: `https://`, `dns:` or `openpgp4fpr:` URIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encryption: Vec<String>,
    /// `https://` URLs of pages thanking reporters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledgments: Vec<String>,
}

/// The public report intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// Whether the form and the report endpoint are served.
    pub enabled: bool,
    /// Path of the form (GET) and of report submission (POST).
    pub path: String,
    /// Path prefix of status pages: `<status_path>/<token>`.
    pub status_path: String,
    /// Largest report accepted, in bytes (at most 1 MiB).
    #[schemars(range(min = 1, max = MAX_REPORT_BODY_BYTES))]
    pub max_body_bytes: u64,
    /// Reports accepted per client address per hour.
    #[schemars(range(min = 1))]
    pub per_ip_per_hour: u32,
    /// Reports open at once (not yet disclosed, rejected or marked
    /// duplicate); past it, new reports are refused with 503. With
    /// `max_body_bytes` this bounds the disk a flood can use.
    #[schemars(range(min = 1))]
    pub max_open_reports: u64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            enabled: false,
            path: "/disclosures/report".to_owned(),
            status_path: "/disclosures/status".to_owned(),
            max_body_bytes: 16 * 1024,
            per_ip_per_hour: 5,
            max_open_reports: 1_000,
        }
    }
}

/// The operator's webhook: a signed JSON POST per state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureWebhookConfig {
    /// An `http` or `https` URL.
    pub url: String,
    /// File holding the HMAC-SHA256 key; each body is then signed in the
    /// `X-Rampart-Signature: sha256=<hex>` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// Time allowed for one delivery attempt, in milliseconds.
    #[serde(default = "default_disclosure_webhook_timeout")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Attempts per notification before it is given up (and logged).
    #[serde(default = "default_disclosure_webhook_attempts")]
    #[schemars(range(min = 1))]
    pub max_attempts: u32,
    /// Notifications waiting for delivery; past this, new ones are dropped
    /// and logged (the history in the store keeps every change regardless).
    #[serde(default = "default_disclosure_webhook_queue")]
    #[schemars(range(min = 1))]
    pub queue_capacity: usize,
}

fn default_disclosure_webhook_timeout() -> u64 {
    5_000
}

fn default_disclosure_webhook_attempts() -> u32 {
    5
}

fn default_disclosure_webhook_queue() -> usize {
    256
}

/// Where reports are tracked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureStoreConfig {
    /// `sqlite` (embedded, the default) or `postgres`.
    pub backend: DisclosureBackend,
    /// The SQLite file (relative to the configuration file's directory).
    /// Its own file rather than the audit store's: reports must outlive the
    /// audit retention and are backed up differently.
    pub sqlite_path: PathBuf,
    /// Environment variable holding the PostgreSQL URL.
    pub postgres_url_env: String,
    /// PostgreSQL schema holding the tracker's tables, created when missing.
    #[schemars(regex(pattern = crate::monitoring::PG_SCHEMA_PATTERN))]
    pub postgres_schema: String,
}

impl Default for DisclosureStoreConfig {
    fn default() -> Self {
        DisclosureStoreConfig {
            backend: DisclosureBackend::Sqlite,
            sqlite_path: PathBuf::from("rampart-disclosures.db"),
            postgres_url_env: "DATABASE_URL".to_owned(),
            postgres_schema: "rampart".to_owned(),
        }
    }
}

/// The tracker's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum DisclosureBackend {
    /// An embedded SQLite file.
    #[default]
    Sqlite,
    /// A PostgreSQL database (URL from `postgres_url_env`).
    Postgres,
}
