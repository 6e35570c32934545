//! What the detector reports: a [`Detection`] names the pattern, the
//! subject, the evidence and the action taken. It is also the webhook's
//! JSON body.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::subject::Subject;

/// The behaviours the detector recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// Enumeration or scraping: many distinct objects, an id walk, or many
    /// restricted views of other people's objects.
    Enumeration,
    /// BOLA probing: bursts of 403/404 on object routes.
    BolaProbing,
    /// Credential stuffing or token guessing: bursts of 401.
    CredentialStuffing,
    /// Exfiltration: records or bytes far above the baseline.
    Exfiltration,
}

impl DetectionKind {
    /// Number of kinds.
    pub const COUNT: usize = 4;
    /// Every kind, in a fixed order (for metrics).
    pub const ALL: [DetectionKind; Self::COUNT] = [
        DetectionKind::Enumeration,
        DetectionKind::BolaProbing,
        DetectionKind::CredentialStuffing,
        DetectionKind::Exfiltration,
    ];

    /// Position in [`DetectionKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            DetectionKind::Enumeration => 0,
            DetectionKind::BolaProbing => 1,
            DetectionKind::CredentialStuffing => 2,
            DetectionKind::Exfiltration => 3,
        }
    }

    /// The kind's name, as in the configuration and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionKind::Enumeration => "enumeration",
            DetectionKind::BolaProbing => "bola_probing",
            DetectionKind::CredentialStuffing => "credential_stuffing",
            DetectionKind::Exfiltration => "exfiltration",
        }
    }
}

/// What was done about a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Action {
    /// Reported only.
    Alert,
    /// The subject is limited to `per_minute` requests until the block ends.
    Throttle {
        /// Requests allowed per minute.
        per_minute: u32,
    },
    /// The subject's requests are refused until the block ends.
    Block,
}

/// The measure that crossed its threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Which measure: `distinct_objects`, `sequential_run`,
    /// `restricted_views`, `denials_short`, `denials_long`,
    /// `failures_per_ip`, `usernames_per_ip`, `failures_per_username`,
    /// `records` or `kbytes`.
    pub metric: &'static str,
    /// Its value over the window (sliding estimate).
    pub observed: f64,
    /// The threshold it reached (already scaled for shared IPs, or raised
    /// to the subject's baseline).
    pub threshold: f64,
    /// The window, in seconds (0 for sequential walks, which have none).
    pub window_seconds: u32,
    /// The operation concerned, when the measure is per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// One detection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// The behaviour recognised.
    pub kind: DetectionKind,
    /// Who it is about.
    pub subject: Subject,
    /// How far past the threshold (1.0 = just reached it).
    pub score: f64,
    /// The measure behind it.
    pub evidence: Evidence,
    /// What was done.
    pub action: Action,
    /// When (the observation's time).
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    /// When a block or throttle ends; `None` for an alert.
    #[serde(serialize_with = "rfc3339_opt")]
    pub until: Option<SystemTime>,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
