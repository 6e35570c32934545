//! Method checks: which methods are proxied, and which headers that would
//! change the method behind our back are refused.
//!
//! Methods are case-sensitive (RFC 9110 §9.1), so `get` is not `GET`; a
//! framework that upper-cases it would route a request we matched against
//! no operation, or against a different one. Only the exact uppercase
//! spellings are accepted.

use crate::NormalizeError;

/// The methods we proxy: the RFC 9110 methods plus PATCH (RFC 5789).
const PROXIED_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Header names that ask an upstream framework to treat the request as
/// another method; the gateway rejects requests carrying them, since the
/// contract check would otherwise run against the wrong operation.
pub const METHOD_OVERRIDE_HEADERS: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Accepts exactly the RFC 9110 methods plus PATCH, in uppercase ASCII.
/// Anything else (lowercase `get`, WebDAV's `PROPFIND`, tokens with odd
/// bytes) is [`NormalizeError::Method`].
pub fn check_method(method: &str) -> Result<(), NormalizeError> {
    if PROXIED_METHODS.contains(&method) {
        Ok(())
    } else {
        Err(NormalizeError::Method)
    }
}

/// Whether a header name is one of [`METHOD_OVERRIDE_HEADERS`] (header names
/// are case-insensitive).
pub fn is_method_override_header(name: &str) -> bool {
    METHOD_OVERRIDE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::{check_method, is_method_override_header};
    use crate::NormalizeError;

    #[test]
    fn proxied_methods_are_accepted() {
        for method in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ] {
            assert_eq!(check_method(method), Ok(()), "{method}");
        }
    }

    #[test]
    fn other_spellings_and_methods_are_refused() {
        for method in [
            "get",
            "Get",
            "PROPFIND",
            "MOVE",
            "GET ",
            " GET",
            "GET\0",
            "",
            "G\u{C9}T",
            "PATCH\r\n",
        ] {
            assert_eq!(
                check_method(method),
                Err(NormalizeError::Method),
                "{method:?}"
            );
        }
    }

    #[test]
    fn override_headers_match_case_insensitively() {
        assert!(is_method_override_header("X-HTTP-Method-Override"));
        assert!(is_method_override_header("x-method-override"));
        assert!(!is_method_override_header("x-http-method-overrides"));
    }
}
