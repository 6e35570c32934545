//! Limits as compiled once per configuration load: parsed, scoped, with
//! their header values and Redis key prefixes prepared, so a check only
//! hashes and counts.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use rampart_config::{CountOn, LimitKey, MAX_BURST, Rate, RateLimitRule};
use serde::Deserialize;

use crate::headers::sf_string;
use crate::local::LocalBuckets;

/// A limit as an operation declares it in the spec:
///
/// ```yaml
/// x-rampart-rate-limit: {rate: 10/s, key: [principal], burst: 20, on: request, name: search}
/// ```
///
/// The same fields as a `rate_limits` entry of the config, minus the scope
/// (the operation is the scope) and with an optional name (the
/// operationId by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Name shown in headers and logs; `None` uses the operationId.
    pub name: Option<String>,
    /// What is counted together.
    pub key: Vec<LimitKey>,
    /// The sustained rate.
    pub rate: Rate,
    /// The burst; `None` is the rate's `N`.
    pub burst: Option<u32>,
    /// What is counted.
    pub on: CountOn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    #[serde(default)]
    name: Option<String>,
    key: Vec<LimitKey>,
    rate: Rate,
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default)]
    on: CountOn,
}

/// Parses an operation's `x-rampart-rate-limit` extension value. The error
/// is one line, ready to be reported at the extension's JSON pointer.
pub fn from_extension(value: &serde_json::Value) -> Result<RuleSpec, String> {
    let ext = Extension::deserialize(value).map_err(|e| format!("x-rampart-rate-limit: {e}"))?;
    let spec = RuleSpec {
        name: ext.name,
        key: ext.key,
        rate: ext.rate,
        burst: ext.burst,
        on: ext.on,
    };
    check_spec(&spec).map_err(|e| format!("x-rampart-rate-limit: {e}"))?;
    Ok(spec)
}

fn check_spec(spec: &RuleSpec) -> Result<(), String> {
    if let Some(name) = &spec.name
        && !is_plain_name(name)
    {
        return Err(format!(
            "invalid name `{name}`: use 1 to 64 characters from a-z, 0-9, `_` and `-`"
        ));
    }
    if spec.key.is_empty() {
        return Err("`key` needs at least one part, e.g. [principal]".to_owned());
    }
    for (i, part) in spec.key.iter().enumerate() {
        if spec.key[..i].contains(part) {
            return Err(format!("key part `{part}` is listed twice"));
        }
    }
    match spec.burst {
        Some(0) => Err("`burst` must be at least 1".to_owned()),
        Some(b) if b > MAX_BURST => Err(format!("`burst` must be at most {MAX_BURST}")),
        _ => Ok(()),
    }
}

fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Where a limit comes from; part of its identity (and so of its Redis keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Origin {
    /// `rate_limits[]` in the config, by name.
    Config,
    /// An operation's `x-rampart-rate-limit`.
    Operation { api: String, operation: String },
}

/// Which requests a config limit counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Scope {
    pub apis: Vec<String>,
    pub operations: Vec<String>,
}

impl Scope {
    pub(crate) fn covers(&self, api: &str, operation: &str) -> bool {
        (self.apis.is_empty() || self.apis.iter().any(|a| a == api))
            && (self.operations.is_empty() || self.operations.iter().any(|o| o == operation))
    }
}

/// What makes two limits "the same" across a reload: same origin, name,
/// key, rate, burst and counting. Such a limit keeps its in-process state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    pub origin: Origin,
    pub name: String,
    pub key: Vec<LimitKey>,
    pub rate: Rate,
    pub burst: u32,
    pub on: CountOn,
}

/// A compiled limit.
pub(crate) struct Rule {
    pub identity: Identity,
    pub scope: Scope,
    /// Whether a key part reads the body (checked by `check_body` only).
    pub needs_body: bool,
    pub interval: Duration,
    pub burst: u32,
    pub local: Arc<LocalBuckets>,
    /// `RateLimit-Policy` value: `"name";q=N;w=seconds`.
    pub policy: HeaderValue,
    /// The name as a structured-field string, for `RateLimit` values.
    pub sf_name: String,
    /// What the SHA-256 of a key is prefixed with to name its Redis key.
    pub redis_prefix: String,
    /// Identity bytes hashed into every Redis key, so limits that share a
    /// name (a config limit and an operation's) never share buckets.
    pub redis_salt: Vec<u8>,
}

impl Rule {
    pub(crate) fn name(&self) -> &str {
        &self.identity.name
    }

    pub(crate) fn counts_requests(&self) -> bool {
        self.identity.on == CountOn::Request
    }
}

/// The identity of a `rate_limits` entry.
pub(crate) fn config_identity(rule: &RateLimitRule) -> (Identity, Scope) {
    (
        Identity {
            origin: Origin::Config,
            name: rule.name.clone(),
            key: rule.key.clone(),
            rate: rule.rate,
            burst: rule.effective_burst(),
            on: rule.on,
        },
        Scope {
            apis: rule.apis.clone(),
            operations: rule.operations.clone(),
        },
    )
}

/// The identity of an operation's limit.
pub(crate) fn operation_identity(api: &str, operation: &str, spec: &RuleSpec) -> Identity {
    Identity {
        origin: Origin::Operation {
            api: api.to_owned(),
            operation: operation.to_owned(),
        },
        name: spec.name.clone().unwrap_or_else(|| display_name(operation)),
        key: spec.key.clone(),
        rate: spec.rate,
        burst: spec.burst.unwrap_or(spec.rate.count),
        on: spec.on,
    }
}

/// An operationId made fit for headers and Redis keys: 64 characters at
/// most, anything outside `[A-Za-z0-9_.-]` replaced by `_`.
fn display_name(operation: &str) -> String {
    let name: String = operation
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "operation".into()
    } else {
        name
    }
}

/// Compiles a limit around its (new or reused) buckets.
pub(crate) fn compile(
    identity: Identity,
    scope: Scope,
    local: Arc<LocalBuckets>,
    key_prefix: &str,
) -> Rule {
    let interval = identity.rate.interval();
    let sf_name = sf_string(&identity.name);
    let policy = format!(
        "{sf_name};q={};w={}",
        identity.rate.count,
        identity.rate.period.as_secs()
    );
    let mut salt = Vec::new();
    match &identity.origin {
        Origin::Config => salt.extend_from_slice(b"config\0"),
        Origin::Operation { api, operation } => {
            for part in [
                b"operation".as_slice(),
                api.as_bytes(),
                operation.as_bytes(),
            ] {
                salt.extend_from_slice(
                    &u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes(),
                );
                salt.extend_from_slice(part);
            }
        }
    }
    salt.extend_from_slice(identity.name.as_bytes());
    Rule {
        needs_body: identity.key.iter().any(|k| matches!(k, LimitKey::Body(_))),
        burst: identity.burst,
        interval,
        local,
        // Built from digits and an sf-string: always a valid header value.
        policy: HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("")),
        redis_prefix: format!("{key_prefix}rl:{}:", display_name(&identity.name)),
        redis_salt: salt,
        sf_name,
        identity,
        scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extensions_parse_like_config_entries() {
        let spec = from_extension(&json!({"rate": "10/s", "key": ["principal", "claim:tenant"]}))
            .expect("valid");
        assert_eq!(
            spec,
            RuleSpec {
                name: None,
                key: vec![LimitKey::Principal, LimitKey::Claim("tenant".into())],
                rate: "10/s".parse().expect("rate"),
                burst: None,
                on: CountOn::Request,
            }
        );
        let login = from_extension(&json!({
            "name": "login-user", "rate": "5/15min", "key": ["body:/username"],
            "burst": 3, "on": "failure"
        }))
        .expect("valid");
        assert_eq!((login.burst, login.on), (Some(3), CountOn::Failure));
    }

    #[test]
    fn extension_errors_are_one_line_and_say_what() {
        for (value, expected) in [
            (json!({"rate": "10/s"}), "missing field `key`"),
            (json!({"rate": "10/week", "key": ["ip"]}), "unknown unit"),
            (
                json!({"rate": "1/s", "key": ["ip"], "per": 1}),
                "unknown field `per`",
            ),
            (json!({"rate": "1/s", "key": []}), "at least one part"),
            (json!({"rate": "1/s", "key": ["ip", "ip"]}), "listed twice"),
            (
                json!({"rate": "1/s", "key": ["ip"], "burst": 0}),
                "at least 1",
            ),
            (
                json!({"rate": "1/s", "key": ["ip"], "name": "Bad Name"}),
                "invalid name",
            ),
            (json!("10/s"), "expected struct"),
        ] {
            let error = from_extension(&value).expect_err(&value.to_string());
            assert!(error.starts_with("x-rampart-rate-limit: "), "{error}");
            assert!(error.contains(expected), "{value}: {error}");
            assert!(!error.contains('\n'));
        }
    }

    #[test]
    fn scopes() {
        let all = Scope::default();
        assert!(all.covers("riders", "login"));
        let login = Scope {
            apis: vec![],
            operations: vec!["login".into()],
        };
        assert!(login.covers("riders", "login"));
        assert!(!login.covers("riders", "getRider"));
        let riders_login = Scope {
            apis: vec!["riders".into()],
            operations: vec!["login".into()],
        };
        assert!(!riders_login.covers("drivers", "login"));
    }

    #[test]
    fn operation_names_are_sanitized() {
        assert_eq!(display_name("getRider"), "getRider");
        assert_eq!(display_name("get rider/{id}"), "get_rider__id_");
        assert_eq!(display_name(""), "operation");
        assert_eq!(display_name(&"x".repeat(100)).len(), 64);
    }
}
