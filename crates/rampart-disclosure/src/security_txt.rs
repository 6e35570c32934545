//! `/.well-known/security.txt` (RFC 9116): rendered from config, and
//! checked for expiry.
//!
//! RFC 9116 makes `Expires` mandatory so that a stale file is visibly
//! stale: researchers are told to distrust an expired one. A gateway that
//! serves an expired file is therefore telling researchers not to report,
//! which is why `rampart check` warns well before the date.

use std::time::{Duration, SystemTime};

use rampart_config::SecurityTxtConfig;

/// Days before expiry from which [`check`] warns.
pub const WARN_DAYS_BEFORE_EXPIRY: u64 = 30;
/// RFC 9116 §2.5.5: the expiry should be less than a year ahead.
const MAX_RECOMMENDED_DAYS: u64 = 366;
const DAY: Duration = Duration::from_secs(86_400);

/// The media type RFC 9116 requires.
pub const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Why a file cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityTxtError {
    /// `expires` is not RFC 3339 UTC.
    #[error("disclosure.security_txt.expires: `{0}` is not an RFC 3339 UTC time")]
    BadExpires(String),
    /// No contact (config validation refuses this too).
    #[error("disclosure.security_txt.contact: at least one contact is required")]
    NoContact,
    /// A value holds a line break, which would inject a field.
    #[error("disclosure.security_txt: a value holds a line break or control character")]
    ControlCharacter,
}

/// Renders the file: one `Field: value` line per value, in the order RFC
/// 9116 lists the fields, LF line endings, UTF-8.
pub fn render(config: &SecurityTxtConfig) -> Result<String, SecurityTxtError> {
    if config.contact.is_empty() {
        return Err(SecurityTxtError::NoContact);
    }
    let expires = expiry(config)?;
    let mut lines: Vec<(&str, String)> = Vec::new();
    lines.extend(config.contact.iter().map(|c| ("Contact", c.clone())));
    lines.push((
        "Expires",
        humantime::format_rfc3339_seconds(expires).to_string(),
    ));
    lines.extend(config.encryption.iter().map(|v| ("Encryption", v.clone())));
    lines.extend(
        config
            .acknowledgments
            .iter()
            .map(|v| ("Acknowledgments", v.clone())),
    );
    if !config.preferred_languages.is_empty() {
        lines.push(("Preferred-Languages", config.preferred_languages.join(", ")));
    }
    lines.extend(config.canonical.iter().map(|v| ("Canonical", v.clone())));
    if let Some(policy) = &config.policy {
        lines.push(("Policy", policy.clone()));
    }
    let mut out = String::new();
    for (field, value) in lines {
        if value.chars().any(char::is_control) {
            return Err(SecurityTxtError::ControlCharacter);
        }
        out.push_str(field);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

/// The file's `Expires` instant.
pub fn expiry(config: &SecurityTxtConfig) -> Result<SystemTime, SecurityTxtError> {
    humantime::parse_rfc3339(&config.expires)
        .map_err(|_| SecurityTxtError::BadExpires(config.expires.clone()))
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpiryStatus {
    /// Valid for more than [`WARN_DAYS_BEFORE_EXPIRY`] days and at most a year.
    Valid {
        /// Whole days left.
        days_left: u64,
    },
    /// Expires within [`WARN_DAYS_BEFORE_EXPIRY`] days.
    ExpiresSoon {
        /// Whole days left.
        days_left: u64,
    },
    /// Already expired: researchers are told to distrust it.
    Expired {
        /// Whole days since it expired.
        days_ago: u64,
    },
    /// Expires more than a year ahead, against RFC 9116's advice.
    TooFarAhead {
        /// Whole days left.
        days_left: u64,
    },
}

impl ExpiryStatus {
    /// Whether `rampart check` should warn.
    pub fn is_warning(&self) -> bool {
        !matches!(self, ExpiryStatus::Valid { .. })
    }
}

impl std::fmt::Display for ExpiryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpiryStatus::Valid { days_left } => {
                write!(f, "security.txt is valid for {days_left} more days")
            }
            ExpiryStatus::ExpiresSoon { days_left } => write!(
                f,
                "security.txt expires in {days_left} days: move disclosure.security_txt.expires forward"
            ),
            ExpiryStatus::Expired { days_ago } => write!(
                f,
                "security.txt expired {days_ago} days ago: researchers are told to ignore an expired file; move disclosure.security_txt.expires forward"
            ),
            ExpiryStatus::TooFarAhead { days_left } => write!(
                f,
                "security.txt expires in {days_left} days; RFC 9116 advises less than a year"
            ),
        }
    }
}

/// Checks the file's expiry against `now`.
pub fn check(
    config: &SecurityTxtConfig,
    now: SystemTime,
) -> Result<ExpiryStatus, SecurityTxtError> {
    let expires = expiry(config)?;
    Ok(match expires.duration_since(now) {
        Ok(left) => {
            let days_left = left.as_secs() / DAY.as_secs();
            if days_left < WARN_DAYS_BEFORE_EXPIRY {
                ExpiryStatus::ExpiresSoon { days_left }
            } else if days_left > MAX_RECOMMENDED_DAYS {
                ExpiryStatus::TooFarAhead { days_left }
            } else {
                ExpiryStatus::Valid { days_left }
            }
        }
        Err(past) => ExpiryStatus::Expired {
            days_ago: past.duration().as_secs() / DAY.as_secs(),
        },
    })
}
