//! Semantic checks: what a well-typed configuration can still get wrong.
//!
//! Every check runs, so one `rampart check` shows every problem, each at the
//! line of the offending key or value. Checks that need the filesystem (does
//! the spec exist, is the key readable) are the caller's: they must run again
//! on every reload, while these depend only on the text.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{ConfigError, one_line};
use crate::locate::{SourceMap, index_path, key_path};
use crate::monitoring::{MIN_ROTATE_BYTES, StoreSink};
use crate::types::{ApiConfig, Config, Limits, MAX_JSON_DEPTH, MIN_HEADER_LIST_BYTES};

/// Longest user value quoted back in a message.
const MAX_QUOTED_CHARS: usize = 80;

/// Checks `config` and returns every problem found, in file order.
pub(crate) fn validate(config: &Config, map: &SourceMap, file: &Path) -> Vec<ConfigError> {
    let mut report = Report {
        map,
        file,
        errors: Vec::new(),
    };
    check_tls(config, &mut report);
    check_apis(config, &mut report);
    check_limits(&config.limits, &mut report);
    check_contract(config, &mut report);
    check_log(config, &mut report);
    check_store(config, &mut report);
    check_detection(config, &mut report);
    crate::validate_limits::check(config, &mut report);
    crate::validate_disclosure::check(config, &mut report);
    crate::telemetry::check(config, &mut report);
    // Stable sort: errors on the same spot keep the order the checks found them.
    report
        .errors
        .sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
    report.errors
}

pub(crate) struct Report<'a> {
    pub(crate) map: &'a SourceMap,
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    /// Records a problem with the setting at `path`; the message is prefixed
    /// with the path so it reads on its own: `apis[1].upstream: ...`.
    pub(crate) fn error(&mut self, path: &str, message: impl AsRef<str>) {
        let position = self.map.position(path);
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            message: format!("{path}: {}", message.as_ref()),
        });
    }
}

/// A user value quoted for a message: one line, bounded length.
pub(crate) fn quoted(value: &str) -> String {
    format!("`{}`", one_line(value, MAX_QUOTED_CHARS))
}

fn check_tls(config: &Config, report: &mut Report<'_>) {
    if let Some(tls) = &config.tls {
        if tls.cert.as_os_str().is_empty() {
            report.error("tls.cert", "must be the path of a PEM certificate file");
        }
        if tls.key.as_os_str().is_empty() {
            report.error("tls.key", "must be the path of a PEM private key file");
        }
    }
}

fn check_apis(config: &Config, report: &mut Report<'_>) {
    if config.apis.is_empty() {
        report.error("apis", "at least one API is required");
    }
    let mut first_by_name: HashMap<&str, usize> = HashMap::new();
    for (index, api) in config.apis.iter().enumerate() {
        let path = index_path("apis", index);
        check_api(api, &path, report);
        if api.max_concurrent_requests == Some(0) {
            report.error(
                &key_path(&path, "max_concurrent_requests"),
                "must be greater than 0",
            );
        }
        match first_by_name.get(api.name.as_str()) {
            Some(first) => {
                let first_path = key_path(&index_path("apis", *first), "name");
                let first_line = report
                    .map
                    .position(&first_path)
                    .map_or(String::new(), |p| format!(" at line {}", p.line));
                report.error(
                    &key_path(&path, "name"),
                    format!(
                        "duplicate API name {}, already used by apis[{first}]{first_line}",
                        quoted(&api.name)
                    ),
                );
            }
            None => {
                first_by_name.insert(&api.name, index);
            }
        }
    }
}

fn check_api(api: &ApiConfig, path: &str, report: &mut Report<'_>) {
    if !is_valid_api_name(&api.name) {
        report.error(
            &key_path(path, "name"),
            format!(
                "invalid API name {}: use 1 to 64 characters from a-z, 0-9, `_` and `-`",
                quoted(&api.name)
            ),
        );
    }
    if api.spec.as_os_str().is_empty() {
        report.error(
            &key_path(path, "spec"),
            "must be the path of an OpenAPI document",
        );
    }
    if let Err(reason) = check_upstream(&api.upstream) {
        report.error(
            &key_path(path, "upstream"),
            format!("invalid upstream URL {}: {reason}", quoted(&api.upstream)),
        );
    }
    if let Some(base_path) = &api.base_path
        && let Err(reason) = check_base_path(base_path)
    {
        report.error(
            &key_path(path, "base_path"),
            format!("invalid base path {}: {reason}", quoted(base_path)),
        );
    }
    let operations = key_path(path, "operations");
    for operation_id in api.operations.keys() {
        if operation_id.trim().is_empty() {
            report.error(
                &key_path(&operations, operation_id),
                "an operationId must not be empty",
            );
        }
    }
}

fn is_valid_api_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks an upstream base URL with the same parser the proxy uses to build
/// upstream requests (`http::Uri`), plus what that parser tolerates but a
/// base URL must not carry.
fn check_upstream(upstream: &str) -> Result<(), String> {
    // `http::Uri` drops a fragment silently; a base URL with one is a mistake.
    if upstream.contains('#') {
        return Err("a fragment (`#...`) is not allowed".to_owned());
    }
    let uri: http::Uri = upstream.parse().map_err(|e: http::uri::InvalidUri| {
        format!("{e}; expected e.g. `http://127.0.0.1:3000`")
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "scheme {} is not supported, use http or https",
                quoted(other)
            ));
        }
        None => return Err("the scheme is missing, use http:// or https://".to_owned()),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| "the host is missing".to_owned())?;
    if authority.as_str().contains('@') {
        return Err(
            "user info (`user:password@`) is not allowed; credentials do not belong in the config"
                .to_owned(),
        );
    }
    if authority.host().is_empty() {
        return Err("the host is missing".to_owned());
    }
    if authority.as_str().contains(':') && !authority.as_str().ends_with(']') {
        match authority.port_u16() {
            Some(0) | None => return Err("the port must be between 1 and 65535".to_owned()),
            Some(_) => {}
        }
    }
    if uri.query().is_some() {
        return Err("a query (`?...`) is not allowed".to_owned());
    }
    Ok(())
}

/// A base path is a clean absolute path prefix: requests are matched against
/// it after normalization, so a prefix that is not itself normal could never
/// match, or would match more than the author meant.
fn check_base_path(base_path: &str) -> Result<(), &'static str> {
    if !base_path.starts_with('/') {
        return Err("must start with `/`");
    }
    if base_path == "/" {
        return Ok(());
    }
    if base_path.ends_with('/') {
        return Err("must not end with `/`");
    }
    if base_path.contains(['?', '#']) {
        return Err("must be a path only, without query or fragment");
    }
    if base_path
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
    {
        return Err(
            "must contain only printable ASCII without spaces or backslashes (percent-encode others)",
        );
    }
    if base_path[1..]
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err("must not contain empty, `.` or `..` segments");
    }
    Ok(())
}

fn check_limits(limits: &Limits, report: &mut Report<'_>) {
    let positive: [(&str, u64); 15] = [
        ("max_request_body_bytes", limits.max_request_body_bytes),
        ("max_response_body_bytes", limits.max_response_body_bytes),
        ("max_headers", to_u64(limits.max_headers)),
        ("header_read_timeout_ms", limits.header_read_timeout_ms),
        ("request_body_timeout_ms", limits.request_body_timeout_ms),
        (
            "upstream_connect_timeout_ms",
            limits.upstream_connect_timeout_ms,
        ),
        ("upstream_timeout_ms", limits.upstream_timeout_ms),
        ("max_json_depth", u64::from(limits.max_json_depth)),
        ("max_json_array_items", to_u64(limits.max_json_array_items)),
        (
            "max_json_string_bytes",
            to_u64(limits.max_json_string_bytes),
        ),
        ("max_connections", to_u64(limits.max_connections)),
        ("max_rate_limit_keys", limits.max_rate_limit_keys),
        (
            "upstream_max_concurrent",
            to_u64(limits.upstream_max_concurrent),
        ),
        ("upstream_max_queued", to_u64(limits.upstream_max_queued)),
        (
            "upstream_queue_timeout_ms",
            limits.upstream_queue_timeout_ms,
        ),
    ];
    for (name, value) in positive {
        if value == 0 {
            report.error(
                &key_path("limits", name),
                "must be greater than 0 (there is no unlimited)",
            );
        }
    }
    if limits.max_header_list_bytes < MIN_HEADER_LIST_BYTES {
        report.error(
            "limits.max_header_list_bytes",
            format!(
                "must be at least {MIN_HEADER_LIST_BYTES} (the HTTP server's smallest read buffer), got {}",
                limits.max_header_list_bytes
            ),
        );
    } else if u32::try_from(limits.max_header_list_bytes).is_err() {
        report.error(
            "limits.max_header_list_bytes",
            "must fit in 32 bits (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE)",
        );
    }
    if limits.max_json_depth > MAX_JSON_DEPTH {
        report.error(
            "limits.max_json_depth",
            format!(
                "must be at most {MAX_JSON_DEPTH}, got {}",
                limits.max_json_depth
            ),
        );
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn check_contract(config: &Config, report: &mut Report<'_>) {
    for (index, name) in config.contract.allowed_headers.iter().enumerate() {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            report.error(
                &index_path("contract.allowed_headers", index),
                format!(
                    "invalid header name {}: use letters, digits and !#$%&'*+-.^_`|~",
                    quoted(name)
                ),
            );
        }
    }
}

fn check_log(config: &Config, report: &mut Report<'_>) {
    if config.log.level.trim().is_empty() {
        report.error(
            "log.level",
            "must be a log filter such as `info` or `info,rampart_gateway=debug`",
        );
    }
}

fn check_store(config: &Config, report: &mut Report<'_>) {
    let store = &config.store;
    let positive: [(&str, u64); 4] = [
        ("retention_hours", store.retention_hours),
        ("retention_check_seconds", store.retention_check_seconds),
        ("batch_max_events", to_u64(store.batch_max_events)),
        ("batch_max_delay_ms", store.batch_max_delay_ms),
    ];
    for (name, value) in positive {
        if value == 0 {
            report.error(&key_path("store", name), "must be greater than 0");
        }
    }
    if store.queue_capacity < store.batch_max_events {
        report.error(
            "store.queue_capacity",
            format!(
                "must be at least store.batch_max_events ({}), got {}",
                store.batch_max_events, store.queue_capacity
            ),
        );
    }
    if store.commit_before_response && store.sink == StoreSink::Off {
        report.error(
            "store.commit_before_response",
            "needs a store: with store.sink off there is nothing to commit to",
        );
    }
    match store.sink {
        StoreSink::Sqlite if store.sqlite.path.as_os_str().is_empty() => {
            report.error("store.sqlite.path", "must be the path of a database file");
        }
        StoreSink::File if store.file.path.as_os_str().is_empty() => {
            report.error("store.file.path", "must be the path of a file");
        }
        _ => {}
    }
    if store.file.max_bytes < MIN_ROTATE_BYTES {
        report.error(
            "store.file.max_bytes",
            format!(
                "must be at least {MIN_ROTATE_BYTES}, got {}",
                store.file.max_bytes
            ),
        );
    }
    if store.file.keep == 0 {
        report.error("store.file.keep", "must keep at least 1 rotated file");
    }
    let pg = &store.postgres;
    if !is_env_name(&pg.url_env) {
        report.error(
            "store.postgres.url_env",
            format!(
                "invalid environment variable name {}: use A-Z, 0-9 and `_`",
                quoted(&pg.url_env)
            ),
        );
    }
    if !is_pg_identifier(&pg.schema) {
        report.error(
            "store.postgres.schema",
            format!(
                "invalid schema name {}: use 1 to 63 characters from a-z, 0-9 and `_`, not starting with a digit",
                quoted(&pg.schema)
            ),
        );
    }
    if pg.max_connections == 0 {
        report.error("store.postgres.max_connections", "must be greater than 0");
    }
}

fn check_detection(config: &Config, report: &mut Report<'_>) {
    let d = &config.detection;
    if d.short_window_seconds == 0 {
        report.error("detection.short_window_seconds", "must be greater than 0");
    }
    if d.long_window_seconds <= d.short_window_seconds {
        report.error(
            "detection.long_window_seconds",
            format!(
                "must be longer than detection.short_window_seconds ({}), got {}",
                d.short_window_seconds, d.long_window_seconds
            ),
        );
    }
    let positive: [(&str, u64); 8] = [
        ("max_subjects", to_u64(d.max_subjects)),
        ("shared_ip_factor", u64::from(d.shared_ip_factor)),
        ("throttle_per_minute", u64::from(d.throttle_per_minute)),
        (
            "enumeration.sequential_gap",
            u64::from(d.enumeration.sequential_gap),
        ),
        ("enumeration.ttl_seconds", d.enumeration.ttl_seconds),
        ("bola_probing.ttl_seconds", d.bola_probing.ttl_seconds),
        (
            "credential_stuffing.ttl_seconds",
            d.credential_stuffing.ttl_seconds,
        ),
        ("exfiltration.ttl_seconds", d.exfiltration.ttl_seconds),
    ];
    for (name, value) in positive {
        if value == 0 {
            report.error(&key_path("detection", name), "must be greater than 0");
        }
    }
    if d.exfiltration.baseline_factor == 0 {
        report.error(
            "detection.exfiltration.baseline_factor",
            "must be at least 1",
        );
    }
    if let Some(webhook) = &d.webhook {
        if let Err(reason) = check_webhook_url(&webhook.url) {
            report.error(
                "detection.webhook.url",
                format!("invalid webhook URL {}: {reason}", quoted(&webhook.url)),
            );
        }
        if let Some(env) = &webhook.token_env
            && !is_env_name(env)
        {
            report.error(
                "detection.webhook.token_env",
                format!(
                    "invalid environment variable name {}: use A-Z, 0-9 and `_`",
                    quoted(env)
                ),
            );
        }
        if webhook.timeout_ms == 0 {
            report.error("detection.webhook.timeout_ms", "must be greater than 0");
        }
        if webhook.queue_capacity == 0 {
            report.error("detection.webhook.queue_capacity", "must be greater than 0");
        }
    }
}

/// A webhook URL is an absolute http(s) URL without user info (a secret
/// belongs in `token_env`); unlike an upstream, it may carry a query.
pub(crate) fn check_webhook_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| format!("{e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err("use an http:// or https:// URL".to_owned());
    }
    match uri.authority() {
        Some(a) if a.as_str().contains('@') => {
            Err("user info is not allowed; put a secret in token_env".to_owned())
        }
        Some(a) if !a.host().is_empty() => Ok(()),
        _ => Err("the host is missing".to_owned()),
    }
}

pub(crate) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

pub(crate) fn is_pg_identifier(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        for ok in [
            "http://127.0.0.1:3000",
            "https://api.internal",
            "http://[::1]:8080/prefix",
            "http://example.com/",
        ] {
            assert_eq!(check_upstream(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("ftp://example.com", "scheme `ftp` is not supported"),
            ("example.com:80", "the scheme is missing"),
            ("/just/a/path", "the scheme is missing"),
            ("http://user:pw@example.com", "user info"),
            ("http://example.com/?a=1", "a query"),
            ("http://example.com/#top", "a fragment"),
            ("http://example.com:0", "the port must be"),
            ("http://example.com:99999", "the port must be"),
            ("http://exa mple.com", "invalid uri character"),
            ("", "empty string"),
        ];
        for (url, expected) in cases {
            let error = check_upstream(url).expect_err(url);
            assert!(error.contains(expected), "{url}: {error}");
        }
    }

    #[test]
    fn base_paths() {
        for ok in ["/", "/api", "/api/v1", "/a%20b"] {
            assert_eq!(check_base_path(ok), Ok(()), "{ok}");
        }
        for (bad, expected) in [
            ("api", "must start with `/`"),
            ("/api/", "must not end with `/`"),
            ("/api?x", "without query"),
            ("/a b", "printable ASCII"),
            ("/a//b", "empty, `.` or `..`"),
            ("/a/../b", "empty, `.` or `..`"),
        ] {
            let error = check_base_path(bad).expect_err(bad);
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }

    #[test]
    fn api_names() {
        assert!(is_valid_api_name("riders_v2-beta"));
        assert!(is_valid_api_name(&"a".repeat(64)));
        assert!(!is_valid_api_name(&"a".repeat(65)));
        assert!(!is_valid_api_name(""));
        assert!(!is_valid_api_name("Riders"));
        assert!(!is_valid_api_name("ri ders"));
    }
}
