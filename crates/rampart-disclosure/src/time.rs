//! Milliseconds since the Unix epoch: how the tracker stores instants (an
//! integer sorts, compares and survives both databases unchanged).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// `t` as milliseconds since the epoch (0 before it, saturating far after).
pub(crate) fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The instant `ms` milliseconds after the epoch.
pub(crate) fn instant(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// `ms` as RFC 3339 UTC, to the second.
pub(crate) fn rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_seconds(instant(ms)).to_string()
}
