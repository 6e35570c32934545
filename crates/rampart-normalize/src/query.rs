//! Query normalization: raw `uri.query()` to decoded pairs and one canonical
//! spelling.
//!
//! Pairs are split on '&' only. Some stacks also split on ';' (older Python,
//! some Java containers), which lets `a=1;b=2` mean one pair to us and two to
//! them ("parameter cloaking"); since the canonical form re-encodes every
//! byte outside `unreserved`, the upstream receives `a=1%3Bb%3D2` and sees the
//! one pair we validated. Order and duplicates are kept as sent.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::NormalizeError;
use crate::decode::{Component, decode};

/// Query keys that ask a framework to treat the request as another method:
/// `_method` (Rails, Laravel, Symfony, Express `method-override`) and the
/// override header names, which some frameworks also read from the query.
/// Compared ASCII-case-insensitively against the decoded key.
pub const METHOD_OVERRIDE_QUERY_KEYS: &[&str] = &[
    "_method",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Bytes `encode_query_component` escapes: everything except `unreserved`.
const QUERY_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query part of a [`crate::NormalizedTarget`].
#[derive(Debug)]
pub(crate) struct NormalizedQuery {
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) canonical: Option<String>,
}

/// Normalizes a raw query string (without the leading '?').
pub(crate) fn normalize_query(
    raw: Option<&str>,
    max_pairs: usize,
) -> Result<NormalizedQuery, NormalizeError> {
    let mut pairs = Vec::new();
    let mut canonical = String::new();
    for raw_pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        if pairs.len() == max_pairs {
            return Err(NormalizeError::TooManyQueryPairs);
        }
        let (raw_key, raw_value) = raw_pair.split_once('=').unwrap_or((raw_pair, ""));
        let key = decode(raw_key, Component::Query)?;
        let value = decode(raw_value, Component::Query)?;
        if is_method_override_key(&key) {
            return Err(NormalizeError::MethodOverride);
        }
        if !canonical.is_empty() {
            canonical.push('&');
        }
        canonical.extend(utf8_percent_encode(&key, QUERY_ENCODE_SET));
        canonical.push('=');
        canonical.extend(utf8_percent_encode(&value, QUERY_ENCODE_SET));
        pairs.push((key, value));
    }
    Ok(NormalizedQuery {
        canonical: (!pairs.is_empty()).then_some(canonical),
        pairs,
    })
}

fn is_method_override_key(key: &str) -> bool {
    METHOD_OVERRIDE_QUERY_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

/// Canonical percent-encoding of one decoded query key or value.
///
/// Keeps only `unreserved` (ALPHA, DIGIT, `-._~`) and escapes every other
/// byte as `%XX` with uppercase hex: a space becomes `%20` (never `+`), and
/// `+`, `=`, `&`, `;` and `%` are escaped, so the result is read the same way
/// by form decoders and plain percent-decoders alike.
pub fn encode_query_component(decoded: &str) -> String {
    utf8_percent_encode(decoded, QUERY_ENCODE_SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::{encode_query_component, normalize_query};
    use crate::NormalizeError;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        match normalize_query(Some(raw), 128) {
            Ok(query) => query.pairs,
            Err(err) => panic!("{raw:?} was rejected: {err}"),
        }
    }

    fn canonical(raw: Option<&str>) -> Option<String> {
        match normalize_query(raw, 128) {
            Ok(query) => query.canonical,
            Err(err) => panic!("{raw:?} was rejected: {err}"),
        }
    }

    fn rejects(raw: &str) -> NormalizeError {
        match normalize_query(Some(raw), 128) {
            Ok(query) => panic!("{raw:?} was accepted as {query:?}"),
            Err(err) => err,
        }
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn absent_or_empty_query_has_no_canonical_form() {
        assert_eq!(canonical(None), None);
        assert_eq!(canonical(Some("")), None);
        assert_eq!(canonical(Some("&&")), None);
    }

    #[test]
    fn splits_on_ampersand_only_and_at_the_first_equals() {
        assert_eq!(
            pairs("a=1&&b=2&c"),
            owned(&[("a", "1"), ("b", "2"), ("c", "")])
        );
        assert_eq!(pairs("a=1;b=2"), owned(&[("a", "1;b=2")]));
        assert_eq!(pairs("a=b=c&=v"), owned(&[("a", "b=c"), ("", "v")]));
    }

    #[test]
    fn order_and_duplicates_are_kept() {
        assert_eq!(
            pairs("b=2&a=1&b=3"),
            owned(&[("b", "2"), ("a", "1"), ("b", "3")])
        );
        assert_eq!(
            canonical(Some("b=2&a=1&b=3")).as_deref(),
            Some("b=2&a=1&b=3")
        );
    }

    #[test]
    fn plus_is_a_space_and_everything_but_unreserved_is_reencoded() {
        assert_eq!(pairs("q=a+b%2Bc"), owned(&[("q", "a b+c")]));
        assert_eq!(
            canonical(Some(
                "q=a+b%2Bc&flag&ids[]=1&f=%7b%22x%22:1%7d&e=%C3%A9&m=a%3Db%26c"
            ))
            .as_deref(),
            Some("q=a%20b%2Bc&flag=&ids%5B%5D=1&f=%7B%22x%22%3A1%7D&e=%C3%A9&m=a%3Db%26c")
        );
    }

    #[test]
    fn bad_percent_encoding_is_refused() {
        for raw in ["a=%", "a=%2", "a%zz=1", "a=100%"] {
            assert_eq!(rejects(raw), NormalizeError::BadPercentEncoding, "{raw}");
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        for raw in ["a=%ff", "a=%c0%af", "%e0%80%af=1", "a=%ED%A0%80"] {
            assert_eq!(rejects(raw), NormalizeError::InvalidUtf8, "{raw}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        for raw in [
            "a=%00",
            "a=1%0d%0aX-Injected:1",
            "a%7f=1",
            "a=\t",
            "a=%C2%85",
        ] {
            assert_eq!(rejects(raw), NormalizeError::ControlCharacter, "{raw}");
        }
    }

    #[test]
    fn double_encoding_is_refused() {
        assert_eq!(
            rejects("path=%252e%252e%252f"),
            NormalizeError::DoubleEncoding
        );
        assert_eq!(pairs("discount=100%25"), owned(&[("discount", "100%")]));
    }

    #[test]
    fn method_override_keys_are_refused() {
        for raw in [
            "_method=DELETE",
            "a=1&_METHOD=put",
            "%5Fmethod=PATCH",
            "X-HTTP-Method-Override=DELETE",
        ] {
            assert_eq!(rejects(raw), NormalizeError::MethodOverride, "{raw}");
        }
        assert_eq!(
            pairs("method=x&_methods=y"),
            owned(&[("method", "x"), ("_methods", "y")])
        );
    }

    #[test]
    fn fragment_raw_bytes_and_spaces_are_refused() {
        assert_eq!(rejects("a=1#frag"), NormalizeError::Fragment);
        assert_eq!(rejects("a=é"), NormalizeError::NonAsciiRaw);
        assert_eq!(rejects("a=b c"), NormalizeError::DisallowedCharacter);
    }

    #[test]
    fn pair_limit_counts_non_empty_pairs() {
        assert!(normalize_query(Some("a&&b&&"), 2).is_ok());
        assert_eq!(
            normalize_query(Some("a&b&c"), 2).map(|_| ()),
            Err(NormalizeError::TooManyQueryPairs)
        );
    }

    #[test]
    fn encode_query_component_keeps_only_unreserved() {
        assert_eq!(encode_query_component("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            encode_query_component("a b+c=d&e;f%"),
            "a%20b%2Bc%3Dd%26e%3Bf%25"
        );
        assert_eq!(encode_query_component("é"), "%C3%A9");
    }
}
