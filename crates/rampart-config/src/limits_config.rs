//! Rate limits, the client address they key on, and the Redis cluster that
//! shares them between gateway instances.
//!
//! Three sections, each with a safe default:
//!
//! - `rate_limits`: GCRA limits keyed on who or what is calling. Empty by
//!   default (the spec's `x-rampart-rate-limit` extensions may still add some).
//! - `client_ip`: which peers may tell us the client's address through
//!   `X-Forwarded-For` or `Forwarded`. Nobody by default, so the address is
//!   the TCP peer's and cannot be spoofed by a header.
//! - `cluster`: the Redis server that makes limits cluster-wide. Absent by
//!   default (limits are per process).
//!
//! Values that have a syntax of their own (`100/min`, `claim:tenant`,
//! `10.0.0.0/8`) are parsed here, while loading, into typed values: a typo is
//! a load error at its line, and the limiter never parses anything at run time.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern a rate limit's name must match (it is written into response
/// headers, logs and Redis keys, so it is kept plain).
pub(crate) const RULE_NAME_PATTERN: &str = "^[a-z0-9_-]{1,64}$";
/// Highest accepted rate, per second: the cluster script counts time in
/// microseconds, so one request per microsecond is the finest interval.
pub const MAX_RATE_PER_SECOND: u64 = 1_000_000;
/// Largest accepted burst.
pub const MAX_BURST: u32 = 1_000_000;
/// Longest accepted rate period (one year): quotas beyond that are not rate limits.
pub const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

/// One rate limit: at most `rate` requests per key, with bursts up to `burst`.
///
/// Limits use GCRA (the generic cell rate algorithm): each key may make one
/// request every `period / N` on average, and may save up to `burst` requests
/// when idle. Unlike fixed windows, there is no window edge at which a client
/// can send two windows' worth at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// Unique name of the limit, used in logs, metrics, the `RateLimit` and
    /// `RateLimit-Policy` response headers and Redis keys: 1 to 64 characters
    /// from `a-z`, `0-9`, `_` and `-`.
    #[schemars(regex(pattern = RULE_NAME_PATTERN))]
    pub name: String,
    /// What is counted together: one or more of `principal`, `api_key`, `ip`,
    /// `api`, `operation`, `claim:<name>`, `header:<name>` and
    /// `body:<JSON pointer>`. `[principal, operation]` gives each caller its
    /// own budget per operation. A request lacking one of the parts (an
    /// anonymous caller for `principal`, a missing header or claim) is not
    /// counted by this limit: pair such limits with an `ip` limit.
    #[schemars(length(min = 1))]
    pub key: Vec<LimitKey>,
    /// The sustained rate: `N/s`, `N/min`, `N/h` or `N/d`, optionally with a
    /// multiple of the unit, e.g. `100/min`, `5/15min`, `10000/d`.
    pub rate: Rate,
    /// How many requests a key may make at once after being idle. Defaults to
    /// the rate's `N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_BURST))]
    pub burst: Option<u32>,
    /// Only requests to these APIs (by name) are counted. Empty: every API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<String>,
    /// Only requests to these operations (by `operationId`) are counted.
    /// Empty: every operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// What is counted: every request (`request`), or only failed
    /// authentications and 401/403 answers (`failure`), for login
    /// protection. Either way, a key whose budget is spent is refused (429)
    /// until it recovers.
    #[serde(default)]
    pub on: CountOn,
}

impl RateLimitRule {
    /// The burst in force: the configured one, else the rate's `N`.
    pub fn effective_burst(&self) -> u32 {
        self.burst.unwrap_or(self.rate.count)
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum CountOn {
    /// Every request.
    #[default]
    Request,
    /// Only failures: failed authentications and 401 or 403 answers.
    Failure,
}

/// One part of a rate limit's key.
///
/// Written as a string: `principal`, `api_key`, `ip`, `api`, `operation`,
/// `claim:<name>`, `header:<name>` or `body:<JSON pointer>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// The authenticated principal's id (JWT subject or API key subject).
    Principal,
    /// The id of the API key used (not the key itself).
    ApiKey,
    /// The client's address (see `client_ip`); IPv6 addresses are grouped
    /// by `client_ip.ipv6_prefix`.
    Ip,
    /// The API's name.
    Api,
    /// The operation (its API and `operationId`).
    Operation,
    /// A claim of the verified token, e.g. `claim:tenant`.
    Claim(String),
    /// A request header (name lowercased), e.g. `header:x-device-id`.
    Header(String),
    /// A value in the JSON request body, by JSON pointer, e.g.
    /// `body:/username`. Such limits are checked once the body is read.
    Body(String),
}

/// Longest accepted claim name, header name or JSON pointer in a key.
const MAX_KEY_ARG_CHARS: usize = 256;

/// Why a key part does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseLimitKeyError(String);

impl FromStr for LimitKey {
    type Err = ParseLimitKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |m: String| Err(ParseLimitKeyError(m));
        let (kind, arg) = match s.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (s, None),
        };
        if let Some(arg) = arg
            && (arg.is_empty() || arg.chars().count() > MAX_KEY_ARG_CHARS)
        {
            return err(format!(
                "`{kind}:` needs a name of 1 to {MAX_KEY_ARG_CHARS} characters"
            ));
        }
        match (kind, arg) {
            ("principal", None) => Ok(LimitKey::Principal),
            ("api_key", None) => Ok(LimitKey::ApiKey),
            ("ip", None) => Ok(LimitKey::Ip),
            ("api", None) => Ok(LimitKey::Api),
            ("operation", None) => Ok(LimitKey::Operation),
            ("claim", Some(name)) => Ok(LimitKey::Claim(name.to_owned())),
            ("header", Some(name)) => match http::HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) => Ok(LimitKey::Header(h.as_str().to_owned())),
                Err(_) => err(format!("`{name}` is not a valid header name")),
            },
            ("body", Some(pointer)) if pointer.starts_with('/') => {
                Ok(LimitKey::Body(pointer.to_owned()))
            }
            ("body", Some(_)) => err("`body:` needs a JSON pointer such as `/username`".into()),
            ("claim" | "header" | "body", None) => err(format!(
                "`{kind}` needs a name, e.g. `{kind}:{}`",
                match kind {
                    "claim" => "tenant",
                    "header" => "x-device-id",
                    _ => "/username",
                }
            )),
            _ => err(format!(
                "unknown key `{}`, expected principal, api_key, ip, api, operation, \
                 claim:<name>, header:<name> or body:<JSON pointer>",
                crate::error::one_line(s, 64)
            )),
        }
    }
}

impl fmt::Display for LimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitKey::Principal => f.write_str("principal"),
            LimitKey::ApiKey => f.write_str("api_key"),
            LimitKey::Ip => f.write_str("ip"),
            LimitKey::Api => f.write_str("api"),
            LimitKey::Operation => f.write_str("operation"),
            LimitKey::Claim(n) => write!(f, "claim:{n}"),
            LimitKey::Header(n) => write!(f, "header:{n}"),
            LimitKey::Body(p) => write!(f, "body:{p}"),
        }
    }
}

/// A rate: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed per period (at least 1).
    pub count: u32,
    /// The period (at least one second).
    pub period: Duration,
}

impl Rate {
    /// The GCRA emission interval: the average time between two requests
    /// at this rate (`period / count`).
    pub fn interval(&self) -> Duration {
        self.period / self.count.max(1)
    }
}

/// Why a rate does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate `{text}`: {reason}; expected e.g. `100/min`, `10/s`, `5/15min` or `1000/d`")]
pub struct ParseRateError {
    text: String,
    reason: &'static str,
}

impl FromStr for Rate {
    type Err = ParseRateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseRateError {
            text: crate::error::one_line(s, 40),
            reason,
        };
        let (count, per) = s.trim().split_once('/').ok_or_else(|| fail("no `/`"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| fail("the count must be a whole number"))?;
        if count == 0 {
            return Err(fail("the count must be at least 1"));
        }
        let per = per.trim();
        let digits = per.bytes().take_while(u8::is_ascii_digit).count();
        let (multiple, unit) = per.split_at(digits);
        let multiple: u64 = if multiple.is_empty() {
            1
        } else {
            multiple
                .parse()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| fail("the period's multiple must be at least 1"))?
        };
        let unit_secs: u64 = match unit {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(fail("unknown unit (use s, min, h or d)")),
        };
        let secs = multiple
            .checked_mul(unit_secs)
            .filter(|s| *s <= MAX_PERIOD.as_secs())
            .ok_or_else(|| fail("the period is longer than a year"))?;
        if u64::from(count) > secs.saturating_mul(MAX_RATE_PER_SECOND) {
            return Err(fail("more than 1000000 per second"));
        }
        Ok(Rate {
            count,
            period: Duration::from_secs(secs),
        })
    }
}

impl fmt::Display for Rate {
    /// The canonical spelling: `N/s`, `N/min`, `N/h`, `N/d`, or with a multiple.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        let (multiple, unit) = if secs.is_multiple_of(86_400) {
            (secs / 86_400, "d")
        } else if secs.is_multiple_of(3600) {
            (secs / 3600, "h")
        } else if secs.is_multiple_of(60) {
            (secs / 60, "min")
        } else {
            (secs, "s")
        };
        match multiple {
            1 => write!(f, "{}/{unit}", self.count),
            m => write!(f, "{}/{m}{unit}", self.count),
        }
    }
}

/// Implements serde and schemars for a type written as a string in the file.
macro_rules! string_value {
    ($ty:ty, $name:literal, $description:literal, $pattern:expr, [$($example:literal),*]) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": $description,
                    "type": "string",
                    "pattern": $pattern,
                    "examples": [$($example),*]
                })
            }
        }
    };
}

string_value!(
    Rate,
    "Rate",
    "`N/unit` or `N/<multiple><unit>` with unit s, min, h or d.",
    r"^[1-9][0-9]*/([1-9][0-9]*)?(s|sec|second|m|min|minute|h|hour|d|day)$",
    ["100/min", "10/s", "5/15min", "10000/d"]
);

string_value!(
    LimitKey,
    "LimitKey",
    "principal, api_key, ip, api, operation, claim:<name>, header:<name> or body:<JSON pointer>.",
    r"^(principal|api_key|ip|api|operation|claim:.+|header:.+|body:/.*)$",
    [
        "principal",
        "ip",
        "claim:tenant",
        "header:x-device-id",
        "body:/username"
    ]
);

string_value!(
    IpNetwork,
    "IpNetwork",
    "An IPv4 or IPv6 address, or a network in CIDR notation.",
    r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$",
    ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
);

/// Which peers may report the client's address, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientIpConfig {
    /// Reverse proxies and load balancers in front of Rampart. The client's
    /// address is read from `header` only when the TCP peer is one of these,
    /// walking the header from the right through further trusted proxies and
    /// stopping at the first address that is not one. Empty (the default):
    /// the header is ignored and the client is the TCP peer, so no request
    /// can choose its own address.
    pub trusted_proxies: Vec<IpNetwork>,
    /// The header the trusted proxies append to. Only that one is read: a
    /// header the proxies do not write passes through them unchanged, so it
    /// would be the client's own claim.
    pub header: ForwardedHeader,
    /// IPv6 clients are counted per network of this prefix length (a single
    /// subscriber usually holds a whole /64, so per-address limits would be
    /// trivial to evade). 32 to 128.
    #[schemars(range(min = 32, max = 128))]
    pub ipv6_prefix: u8,
}

impl Default for ClientIpConfig {
    fn default() -> Self {
        ClientIpConfig {
            trusted_proxies: Vec::new(),
            header: ForwardedHeader::XForwardedFor,
            ipv6_prefix: 64,
        }
    }
}

/// The header that carries the client's address through proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// An IP network (`10.0.0.0/8`); a bare address stands for itself alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork(pub ipnet::IpNet);

/// Why a network does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network `{0}`: expected an address or a CIDR network such as 10.0.0.0/8")]
pub struct ParseNetworkError(String);

impl FromStr for IpNetwork {
    type Err = ParseNetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(IpNetwork(net.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|ip| IpNetwork(ipnet::IpNet::from(ip)))
            .map_err(|_| ParseNetworkError(crate::error::one_line(s, 64)))
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The Redis server shared by every gateway instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Redis to share rate limits through, e.g. `redis://127.0.0.1:6379` or
    /// `rediss://redis.internal:6380/2` (TLS). A standalone server or a
    /// primary; Redis Cluster is not supported, because one check updates
    /// several keys in one script. The URL must not hold a password: use
    /// `password_env`. Absent: every instance limits on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// Environment variable holding the Redis password (`AUTH`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// What to do while Redis cannot be reached: `fail_open` enforces every
    /// limit per instance (from local state) until Redis is back;
    /// `fail_closed` refuses requests that a limit applies to (503).
    pub on_redis_error: OnRedisError,
    /// Prefix of every Redis key Rampart writes, so several deployments can
    /// share one Redis.
    #[schemars(length(min = 1, max = 64))]
    pub key_prefix: String,
    /// Longest wait for Redis on one request, connecting included, in
    /// milliseconds. Past it, the request is handled as if Redis were down.
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// While Redis is down, how often one request probes it again, in
    /// milliseconds (the others do not wait on it).
    #[schemars(range(min = 1))]
    pub retry_interval_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            password_env: None,
            on_redis_error: OnRedisError::FailOpen,
            key_prefix: "rampart:".to_owned(),
            timeout_ms: 100,
            retry_interval_ms: 1000,
        }
    }
}

/// Behaviour while Redis is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnRedisError {
    /// Keep limiting, with each instance's local state.
    #[default]
    FailOpen,
    /// Refuse requests that a limit applies to.
    FailClosed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_canonically() {
        for (text, count, secs, canonical) in [
            ("100/min", 100, 60, "100/min"),
            ("10/s", 10, 1, "10/s"),
            ("5/15min", 5, 900, "5/15min"),
            ("1000/d", 1000, 86_400, "1000/d"),
            ("2/hour", 2, 3600, "2/h"),
            ("7/90s", 7, 90, "7/90s"),
            (" 3 / 2h ", 3, 7200, "3/2h"),
        ] {
            let rate: Rate = text.parse().expect(text);
            assert_eq!((rate.count, rate.period.as_secs()), (count, secs), "{text}");
            assert_eq!(rate.to_string(), canonical);
        }
        assert_eq!(
            "100/min".parse::<Rate>().map(|r| r.interval()),
            Ok(Duration::from_millis(600))
        );
    }

    #[test]
    fn bad_rates_say_why() {
        for (text, reason) in [
            ("100", "no `/`"),
            ("0/s", "at least 1"),
            ("-1/s", "whole number"),
            ("10/fortnight", "unknown unit"),
            ("10/0s", "multiple must be at least 1"),
            ("1/400d", "longer than a year"),
            ("2000000/s", "more than 1000000 per second"),
        ] {
            let error = text.parse::<Rate>().expect_err(text).to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn key_parts_parse() {
        assert_eq!("ip".parse(), Ok(LimitKey::Ip));
        assert_eq!(
            "header:X-Device-Id".parse(),
            Ok(LimitKey::Header("x-device-id".into()))
        );
        assert_eq!("claim:tenant".parse(), Ok(LimitKey::Claim("tenant".into())));
        assert_eq!(
            "body:/user/name".parse(),
            Ok(LimitKey::Body("/user/name".into()))
        );
        for bad in [
            "",
            "user",
            "claim",
            "claim:",
            "header:bad header",
            "body:name",
        ] {
            assert!(bad.parse::<LimitKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_accept_bare_addresses() {
        assert_eq!(
            "10.1.2.3/8".parse::<IpNetwork>().map(|n| n.to_string()),
            Ok("10.0.0.0/8".to_owned())
        );
        assert_eq!(
            "::1".parse::<IpNetwork>().map(|n| n.to_string()),
            Ok("::1/128".to_owned())
        );
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("proxy.internal".parse::<IpNetwork>().is_err());
    }
}
