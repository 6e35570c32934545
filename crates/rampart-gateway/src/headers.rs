//! Which request headers are infrastructure rather than API parameters.
//!
//! The contract allowlists parameters, but HTTP clients, browsers, proxies and
//! tracing send standard headers no OpenAPI document declares. Those are
//! always allowed; any other undeclared header is refused (unless the config
//! allows it or lists it), since custom headers are a common backdoor
//! (`X-Debug`, `X-Admin`, `X-Original-URL`).

/// Standard and infrastructure header names (lowercase).
const STANDARD: &[&str] = &[
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "baggage",
    "cache-control",
    "connection",
    "content-encoding",
    "content-language",
    "content-length",
    "content-type",
    "cookie",
    "date",
    "dnt",
    "expect",
    "forwarded",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "max-forwards",
    "origin",
    "pragma",
    "prefer",
    "priority",
    "range",
    "referer",
    "te",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "upgrade-insecure-requests",
    "user-agent",
    "via",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "x-request-id",
    "x-requested-with",
];

/// Whether `name` (lowercase) is a standard header.
pub fn is_standard(name: &str) -> bool {
    STANDARD.binary_search(&name).is_ok()
        || name.starts_with("sec-")
        || name.starts_with("access-control-request-")
}

/// Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded in either direction.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_list_is_sorted_for_binary_search() {
        let mut sorted = STANDARD.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STANDARD);
        assert!(is_standard("user-agent"));
        assert!(is_standard("sec-fetch-mode"));
        assert!(!is_standard("x-debug"));
    }
}
