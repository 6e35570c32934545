//! The effective config as operators may see it: every secret replaced.
//!
//! The config names most secrets by reference (`secret_file`, `token_env`),
//! and those references are shown: they say where a secret lives, not what
//! it is. What is replaced is any value under a key that holds a secret
//! itself, and the password inside any URL (a Redis or PostgreSQL URL may
//! carry one), and everything after the host of a webhook URL (Slack-style
//! hooks carry their secret in the path). Redaction works on the serialized config, so a section added
//! later is covered without a change here.

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// Whether a key names a secret value (not a reference to one).
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.ends_with("_file") || k.ends_with("_env") || k.ends_with("_path") {
        return false;
    }
    [
        "secret",
        "password",
        "passwd",
        "token",
        "private_key",
        "api_key",
        "credential",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Replace every secret in `value`, in place.
pub fn redact(value: &mut Value) {
    redact_under(value, false);
}

fn redact_under(value: &mut Value, in_webhook: bool) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if secret_key(k) && !v.is_null() && !v.is_boolean() && !v.is_number() {
                    *v = Value::String(REDACTED.to_owned());
                } else if in_webhook && k == "url" {
                    if let Value::String(s) = v {
                        *s = origin_only(s);
                    }
                } else {
                    redact_under(v, in_webhook || k.to_ascii_lowercase().contains("webhook"));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_under(v, in_webhook)),
        Value::String(s) => {
            if let Some(clean) = strip_url_password(s) {
                *s = clean;
            }
        }
        _ => {}
    }
}

/// `scheme://host[:port]/[redacted]`: a webhook URL without its path,
/// query or userinfo.
fn origin_only(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return REDACTED.to_owned();
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}/{REDACTED}")
}

/// `scheme://user:password@host...` with the password replaced, or `None`
/// when `s` has no password in it.
fn strip_url_password(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = authority.rfind('@')?;
    let userinfo = &authority[..at];
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => user,
        // A lone userinfo with no colon may itself be a secret (Redis
        // accepts `redis://password@host`).
        None => "",
    };
    let sep = if user.is_empty() { "" } else { ":" };
    Some(format!(
        "{scheme}://{user}{sep}{REDACTED}@{}",
        &rest[at + 1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_go_and_references_stay() {
        let mut v = json!({
            "identity": { "issuers": [ { "keys": [
                { "kid": "a", "secret": "hunter2", "secret_file": "./k.secret" }
            ] } ] },
            "admin": { "token_env": "RAMPART_ADMIN_TOKEN", "token": "abc" },
            "cluster": { "redis_url": "redis://default:s3cret@redis.internal:6379/0" },
            "store": { "url": "postgres://rampart:pw@db/rampart?sslmode=require" },
            "plain": "redis://redis.internal:6379",
            "auth_password": null,
            "password_min": 12,
        });
        redact(&mut v);
        let text = v.to_string();
        for secret in ["hunter2", "s3cret", "\"abc\"", ":pw@"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            v["identity"]["issuers"][0]["keys"][0]["secret_file"],
            "./k.secret"
        );
        assert_eq!(v["admin"]["token_env"], "RAMPART_ADMIN_TOKEN");
        assert_eq!(
            v["cluster"]["redis_url"],
            "redis://default:[redacted]@redis.internal:6379/0"
        );
        assert_eq!(
            v["store"]["url"],
            "postgres://rampart:[redacted]@db/rampart?sslmode=require"
        );
        assert_eq!(v["plain"], "redis://redis.internal:6379");
        assert_eq!(v["auth_password"], Value::Null);
        assert_eq!(v["password_min"], 12);
    }

    #[test]
    fn webhook_urls_keep_only_their_origin() {
        let mut v = json!({ "detection": { "webhook": {
            "url": "https://hooks.example/services/T0/B0/XXXXsecret?x=1",
            "token_env": "HOOK_TOKEN"
        } } });
        redact(&mut v);
        assert_eq!(
            v["detection"]["webhook"]["url"],
            "https://hooks.example/[redacted]"
        );
        assert_eq!(v["detection"]["webhook"]["token_env"], "HOOK_TOKEN");
    }

    #[test]
    fn a_password_only_userinfo_is_redacted_too() {
        let mut v = json!("redis://hunter2@cache:6379");
        redact(&mut v);
        assert_eq!(v, "redis://[redacted]@cache:6379");
    }
}
