//! The `RateLimit-Policy` and `RateLimit` response headers of
//! draft-ietf-httpapi-ratelimit-headers, in their structured-field form:
//!
//! ```text
//! RateLimit-Policy: "per-principal";q=100;w=60
//! RateLimit: "per-principal";r=42;t=17
//! ```
//!
//! `q` and `w` are the limit's rate (`q` requests per `w` seconds); `r` is
//! how many more requests the caller may send right now and `t` the seconds
//! until its budget is whole again. Only the most restrictive applicable
//! limit is shown: the one that refused the request, else the one with the
//! fewest requests left. Telling a client how close it is lets a
//! well-behaved one slow down before being refused.

use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// `RateLimit-Policy`.
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The two header values for one response; empty when no limit applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// The `RateLimit-Policy` value.
    pub policy: Option<HeaderValue>,
    /// The `RateLimit` value.
    pub limit: Option<HeaderValue>,
}

impl RateLimitHeaders {
    /// Headers for a limit whose `RateLimit-Policy` value is `policy`, named
    /// `sf_name` (already a structured-field string), with `remaining`
    /// requests left and whole again after `reset` (rounded up to seconds).
    pub(crate) fn new(
        policy: &HeaderValue,
        sf_name: &str,
        remaining: u32,
        reset: Duration,
    ) -> Self {
        let limit = format!("{sf_name};r={remaining};t={}", ceil_secs(reset));
        RateLimitHeaders {
            policy: Some(policy.clone()),
            limit: HeaderValue::from_str(&limit).ok(),
        }
    }

    /// Writes the headers into a response's header map (replacing any the
    /// upstream sent: the gateway's limits are the ones that hold).
    pub fn apply(&self, headers: &mut HeaderMap) {
        if let Some(policy) = &self.policy {
            headers.insert(RATELIMIT_POLICY.clone(), policy.clone());
        }
        if let Some(limit) = &self.limit {
            headers.insert(RATELIMIT.clone(), limit.clone());
        }
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.policy.is_none() && self.limit.is_none()
    }
}

/// Whole seconds, rounded up: a client told `t=0` while its budget is not
/// yet back would retry too early.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `text` as a structured-field string (RFC 9651 §3.3.3): quoted, with `"`
/// and `\` escaped, and anything outside printable ASCII replaced by `?`
/// (sf-strings cannot carry it).
pub(crate) fn sf_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_field_values() {
        let policy = HeaderValue::from_static("\"per-principal\";q=100;w=60");
        let headers = RateLimitHeaders::new(
            &policy,
            &sf_string("per-principal"),
            42,
            Duration::from_millis(16_001),
        );
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        assert_eq!(map["ratelimit-policy"], "\"per-principal\";q=100;w=60");
        assert_eq!(map["ratelimit"], "\"per-principal\";r=42;t=17");
    }

    #[test]
    fn sf_strings_escape_and_stay_ascii() {
        assert_eq!(sf_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(sf_string("café\n"), "\"caf??\"");
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
    }
}
