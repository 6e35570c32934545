//! Semantic checks of `rate_limits`, `client_ip` and `cluster`: what parses
//! but cannot work (a duplicate limit name, a scope naming no API, a Redis
//! URL with a password in it), each reported at its line.

use std::collections::{HashMap, HashSet};

use crate::locate::{index_path, key_path};
use crate::types::{Config, MAX_BURST, RateLimitRule};
use crate::validate::{Report, is_env_name, quoted};

/// Runs every check of this module.
pub(crate) fn check(config: &Config, report: &mut Report<'_>) {
    check_rate_limits(config, report);
    check_client_ip(config, report);
    check_cluster(config, report);
}

fn check_rate_limits(config: &Config, report: &mut Report<'_>) {
    let api_names: HashSet<&str> = config.apis.iter().map(|a| a.name.as_str()).collect();
    let mut first_by_name: HashMap<&str, usize> = HashMap::new();
    for (index, rule) in config.rate_limits.iter().enumerate() {
        let path = index_path("rate_limits", index);
        check_rule(rule, &path, &api_names, report);
        match first_by_name.get(rule.name.as_str()) {
            Some(first) => {
                let first_line = report
                    .map
                    .position(&key_path(&index_path("rate_limits", *first), "name"))
                    .map_or(String::new(), |p| format!(" at line {}", p.line));
                report.error(
                    &key_path(&path, "name"),
                    format!(
                        "duplicate rate limit name {}, already used by rate_limits[{first}]{first_line}",
                        quoted(&rule.name)
                    ),
                );
            }
            None => {
                first_by_name.insert(&rule.name, index);
            }
        }
    }
}

fn check_rule(
    rule: &RateLimitRule,
    path: &str,
    api_names: &HashSet<&str>,
    report: &mut Report<'_>,
) {
    if !is_valid_rule_name(&rule.name) {
        report.error(
            &key_path(path, "name"),
            format!(
                "invalid rate limit name {}: use 1 to 64 characters from a-z, 0-9, `_` and `-`",
                quoted(&rule.name)
            ),
        );
    }
    let key_path_ = key_path(path, "key");
    if rule.key.is_empty() {
        report.error(
            &key_path_,
            "at least one key part is required, e.g. [principal] or [ip]",
        );
    }
    for (index, part) in rule.key.iter().enumerate() {
        if rule.key[..index].contains(part) {
            report.error(
                &index_path(&key_path_, index),
                format!("`{part}` is listed twice"),
            );
        }
    }
    match rule.burst {
        Some(0) => report.error(&key_path(path, "burst"), "must be at least 1"),
        Some(b) if b > MAX_BURST => report.error(
            &key_path(path, "burst"),
            format!("must be at most {MAX_BURST}, got {b}"),
        ),
        _ => {}
    }
    for (index, api) in rule.apis.iter().enumerate() {
        if !api_names.contains(api.as_str()) {
            report.error(
                &index_path(&key_path(path, "apis"), index),
                format!("no API is named {}", quoted(api)),
            );
        }
    }
    for (index, operation) in rule.operations.iter().enumerate() {
        if operation.trim().is_empty() {
            report.error(
                &index_path(&key_path(path, "operations"), index),
                "an operationId must not be empty",
            );
        }
    }
}

/// The same alphabet as API names: rule names end up in headers (as
/// structured-field strings), metric labels and Redis keys.
fn is_valid_rule_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_client_ip(config: &Config, report: &mut Report<'_>) {
    let prefix = config.client_ip.ipv6_prefix;
    if !(32..=128).contains(&prefix) {
        report.error(
            "client_ip.ipv6_prefix",
            format!("must be between 32 and 128, got {prefix}"),
        );
    }
}

fn check_cluster(config: &Config, report: &mut Report<'_>) {
    let cluster = &config.cluster;
    if let Some(url) = &cluster.redis_url
        && let Err(reason) = check_redis_url(url)
    {
        report.error(
            "cluster.redis_url",
            // Not quoted: the URL may hold the very password being refused.
            format!("invalid Redis URL: {reason}"),
        );
    }
    if let Some(env) = &cluster.password_env {
        if !is_env_name(env) {
            report.error(
                "cluster.password_env",
                format!(
                    "{} is not an environment variable name (A-Z, 0-9, `_`)",
                    quoted(env)
                ),
            );
        }
        if cluster.redis_url.is_none() {
            report.error("cluster.password_env", "set `redis_url` too");
        }
    }
    let prefix = &cluster.key_prefix;
    if prefix.is_empty()
        || prefix.len() > 64
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
    {
        report.error(
            "cluster.key_prefix",
            "use 1 to 64 printable ASCII characters, without spaces or braces",
        );
    }
    for (name, value) in [
        ("timeout_ms", cluster.timeout_ms),
        ("retry_interval_ms", cluster.retry_interval_ms),
    ] {
        if value == 0 {
            report.error(&key_path("cluster", name), "must be greater than 0");
        }
    }
}

/// `redis://[user@]host[:port][/db]`, `rediss://...` (TLS), or
/// `unix:///path/to/socket` / `redis+unix:///path`. A password in the URL is
/// refused: URLs end up in logs and process listings.
fn check_redis_url(url: &str) -> Result<(), String> {
    if let Some(path) = url
        .strip_prefix("unix://")
        .or_else(|| url.strip_prefix("redis+unix://"))
    {
        if !path.starts_with('/') {
            return Err("a Unix socket URL needs an absolute path".to_owned());
        }
        if path.contains('@') || path.contains("pass=") {
            return Err("no password in the URL; use `password_env`".to_owned());
        }
        return Ok(());
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| format!("{e}"))?;
    match uri.scheme_str() {
        Some("redis" | "rediss") => {}
        _ => return Err("use redis://, rediss:// (TLS) or unix://".to_owned()),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| "the host is missing".to_owned())?;
    if let Some((user_info, _)) = authority.as_str().rsplit_once('@')
        && user_info.contains(':')
    {
        return Err("no password in the URL; use `password_env`".to_owned());
    }
    if authority.host().is_empty() {
        return Err("the host is missing".to_owned());
    }
    let db = uri.path().trim_start_matches('/');
    if !db.is_empty() && db.parse::<u16>().is_err() {
        return Err("the path must be a database number, e.g. `/0`".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls() {
        for ok in [
            "redis://127.0.0.1:6379",
            "redis://cache.internal/2",
            "rediss://user@redis.internal:6380",
            "unix:///run/redis.sock",
            "redis+unix:///run/redis.sock",
        ] {
            assert_eq!(check_redis_url(ok), Ok(()), "{ok}");
        }
        for (bad, expected) in [
            ("redis://:secret@host", "no password"),
            ("redis://u:p@host", "no password"),
            ("http://host", "use redis://"),
            ("redis://host/db", "database number"),
            ("unix://run/redis.sock", "absolute path"),
            ("127.0.0.1:6379", "use redis://"),
        ] {
            let error = check_redis_url(bad).expect_err(bad);
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }
}
