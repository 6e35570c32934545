//! Property tests: no two spellings of one target route differently, the
//! canonical form is a fixed point, and arbitrary input never panics or
//! yields a forbidden decoded value.
//!
//! 256 cases per property by default; set `PROPTEST_CASES` for a deeper run.

use proptest::prelude::*;
use rampart_normalize::{
    METHOD_OVERRIDE_QUERY_KEYS, NormalizeOptions, NormalizedTarget, encode_query_component,
    encode_segment, normalize_target,
};

fn opts() -> NormalizeOptions {
    NormalizeOptions {
        max_target_len: usize::MAX,
        ..NormalizeOptions::default()
    }
}

/// Bytes a path segment may carry raw (RFC 3986 pchar minus '%' and ';').
fn raw_ok_in_path(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&byte)
}

/// Bytes a query component may carry raw, other than ' ' (spelled '+').
fn raw_ok_in_query(byte: u8, is_key: bool) -> bool {
    (0x21..=0x7E).contains(&byte) && !b"#%&+".contains(&byte) && !(is_key && byte == b'=')
}

/// Turns arbitrary text into a value that must be accepted: no controls, no
/// `%XX` (double encoding), and for segments no '/', '\\', ';', look-alike
/// of a delimiter or dot segment.
fn sanitize(text: &str, segment: bool) -> String {
    let mut out: Vec<char> = text
        .chars()
        .map(|c| {
            let bad = c.is_control()
                || (segment
                    && (matches!(c, '/' | '\\' | ';')
                        || rampart_normalize::is_delimiter_look_alike(c)));
            if bad { 'x' } else { c }
        })
        .collect();
    for i in 0..out.len() {
        let hex = |j: usize| out.get(j).is_some_and(char::is_ascii_hexdigit);
        if out[i] == '%' && hex(i + 1) && hex(i + 2) {
            out[i] = 'x';
        }
    }
    let mut value: String = out.into_iter().collect();
    if segment && (value.is_empty() || value == "." || value == "..") {
        value.push('x');
    }
    value
}

fn escape(byte: u8, upper: bool) -> String {
    if upper {
        format!("%{byte:02X}")
    } else {
        format!("%{byte:02x}")
    }
}

/// One decoded value plus, per UTF-8 byte, (escape if optional?, upper hex?).
fn with_spelling(value: String) -> impl Strategy<Value = (String, Vec<(bool, bool)>)> {
    let n = value.len();
    (
        Just(value),
        proptest::collection::vec(any::<(bool, bool)>(), n),
    )
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9._~%;/\\\\:@!$&'()*+,= -]{1,12}",]
        .prop_map(|s| sanitize(&s, true))
}

fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9._~%;/:@!$&'()*+,= #?\\[\\]-]{0,12}"
    ]
    .prop_map(|s| sanitize(&s, false))
}

fn spell_segment(value: &str, choices: &[(bool, bool)]) -> String {
    let mut out = String::new();
    for (&byte, &(encode, upper)) in value.as_bytes().iter().zip(choices) {
        if raw_ok_in_path(byte) && !encode {
            out.push(char::from(byte));
        } else {
            out.push_str(&escape(byte, upper));
        }
    }
    out
}

fn spell_query_component(value: &str, choices: &[(bool, bool)], is_key: bool) -> String {
    let mut out = String::new();
    for (&byte, &(encode, upper)) in value.as_bytes().iter().zip(choices) {
        match byte {
            b' ' if !encode => out.push('+'),
            _ if raw_ok_in_query(byte, is_key) && !encode => out.push(char::from(byte)),
            _ => out.push_str(&escape(byte, upper)),
        }
    }
    out
}

type Spelled = (String, Vec<(bool, bool)>);

/// Segments, their spellings, slashes before each one, and a trailing slash.
fn spelled_path() -> impl Strategy<Value = (Vec<Spelled>, Vec<usize>, bool)> {
    proptest::collection::vec(segment().prop_flat_map(with_spelling), 0..6).prop_flat_map(|segs| {
        let n = segs.len();
        (
            Just(segs),
            proptest::collection::vec(1..4usize, n),
            any::<bool>(),
        )
    })
}

/// Pairs, their spellings, whether to omit '=' for an empty value, and `&` runs before each pair.
fn spelled_query() -> impl Strategy<Value = (Vec<(Spelled, Spelled, bool)>, Vec<usize>)> {
    let pair = (
        query_value().prop_filter("method override key", |k| !is_override_key(k)),
        query_value(),
    )
        .prop_flat_map(|(k, v)| (with_spelling(k), with_spelling(v), any::<bool>()));
    proptest::collection::vec(pair, 0..6).prop_flat_map(|pairs| {
        let n = pairs.len();
        (Just(pairs), proptest::collection::vec(1..3usize, n))
    })
}

fn canonical_of(segments: &[&str]) -> (String, String) {
    let route = format!("/{}", segments.join("/"));
    let canonical = format!(
        "/{}",
        segments
            .iter()
            .map(|s| encode_segment(s))
            .collect::<Vec<_>>()
            .join("/")
    );
    (route, canonical)
}

fn canonical_query_of(pairs: &[(&str, &str)]) -> Option<String> {
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                encode_query_component(k),
                encode_query_component(v)
            )
        })
        .collect();
    (!joined.is_empty()).then(|| joined.join("&"))
}

/// Normalizes a target that the property says must be accepted.
fn accepted(path: &str, query: Option<&str>) -> Result<NormalizedTarget, TestCaseError> {
    normalize_target(path, query, &opts())
        .map_err(|err| TestCaseError::fail(format!("{path:?} ? {query:?} rejected: {err:?}")))
}

fn is_override_key(key: &str) -> bool {
    METHOD_OVERRIDE_QUERY_KEYS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(key))
}

/// Normalizing the canonical output again must give the same target.
fn assert_fixed_point(target: &NormalizedTarget) -> Result<(), TestCaseError> {
    let again = normalize_target(
        &target.canonical_path,
        target.canonical_query.as_deref(),
        &opts(),
    );
    let expected = NormalizedTarget {
        trailing_slash: false,
        ..target.clone()
    };
    prop_assert_eq!(again, Ok(expected));
    Ok(())
}

/// Whether a decoded value still holds a `%XX` escape (double encoding).
fn has_escape(decoded: &str) -> bool {
    decoded
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fn assert_path_invariants(target: &NormalizedTarget) -> Result<(), TestCaseError> {
    for segment in &target.segments {
        prop_assert!(!segment.is_empty());
        prop_assert!(segment != "." && segment != "..");
        prop_assert!(!segment.contains(['/', '\\', ';']));
        prop_assert!(!segment.chars().any(char::is_control));
        prop_assert!(!has_escape(segment), "{:?} would decode again", segment);
    }
    prop_assert_eq!(
        &target.route_path,
        &format!("/{}", target.segments.join("/"))
    );
    prop_assert!(target.canonical_path.starts_with('/'));
    Ok(())
}

fn assert_query_invariants(target: &NormalizedTarget) -> Result<(), TestCaseError> {
    for (key, value) in &target.query {
        prop_assert!(!key.chars().chain(value.chars()).any(char::is_control));
        prop_assert!(!has_escape(key) && !has_escape(value));
        prop_assert!(!is_override_key(key));
    }
    prop_assert_eq!(target.canonical_query.is_some(), !target.query.is_empty());
    Ok(())
}

/// Interesting raw text: the bytes that matter to normalization, densely.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("/"),
            Just("//"),
            Just("."),
            Just(".."),
            Just("%"),
            Just("%2e"),
            Just("%2F"),
            Just("%25"),
            Just("%5C"),
            Just("%3B"),
            Just("%00"),
            Just("%C0%AF"),
            Just("%C3%A9"),
            Just("%ff"),
            Just("%e0%80%af"),
            Just("+"),
            Just("&"),
            Just("="),
            Just(";"),
            Just("\\"),
            Just("#"),
            Just("?"),
            Just(" "),
            Just("a"),
            Just("Z"),
            Just("2"),
            Just("f"),
            Just("é"),
            Just("_method"),
            Just("\r\n"),
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn every_spelling_of_a_path_routes_like_the_canonical_one((segs, slashes, trailing) in spelled_path()) {
        let mut raw = String::new();
        for ((value, choices), &n) in segs.iter().zip(&slashes) {
            raw.push_str(&"/".repeat(n));
            raw.push_str(&spell_segment(value, choices));
        }
        if trailing || raw.is_empty() {
            raw.push('/');
        }
        let values: Vec<&str> = segs.iter().map(|(v, _)| v.as_str()).collect();
        let (route, canonical) = canonical_of(&values);

        let target = accepted(&raw, None)?;
        prop_assert_eq!(&target.segments, &values);
        prop_assert_eq!(&target.route_path, &route);
        prop_assert_eq!(&target.canonical_path, &canonical);
        prop_assert_eq!(target.trailing_slash, trailing && !values.is_empty());
        assert_fixed_point(&target)?;
    }

    #[test]
    fn every_spelling_of_a_query_decodes_like_the_canonical_one((pairs, amps) in spelled_query()) {
        let mut raw = String::new();
        for (((key, kc), (value, vc), omit_eq), &n) in pairs.iter().zip(&amps) {
            raw.push_str(&"&".repeat(n));
            raw.push_str(&spell_query_component(key, kc, true));
            if !(value.is_empty() && !key.is_empty() && *omit_eq) {
                raw.push('=');
            }
            raw.push_str(&spell_query_component(value, vc, false));
        }
        let expected: Vec<(&str, &str)> =
            pairs.iter().map(|((k, _), (v, _), _)| (k.as_str(), v.as_str())).collect();

        let target = accepted("/", Some(&raw))?;
        let decoded: Vec<(&str, &str)> =
            target.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(&target.canonical_query, &canonical_query_of(&expected));
        assert_fixed_point(&target)?;
    }

    #[test]
    fn canonical_path_is_a_fixed_point(segs in proptest::collection::vec(segment(), 0..8)) {
        let values: Vec<&str> = segs.iter().map(String::as_str).collect();
        let (route, canonical) = canonical_of(&values);
        let target = accepted(&canonical, None)?;
        prop_assert_eq!(&target.route_path, &route);
        prop_assert_eq!(&target.canonical_path, &canonical);
        assert_fixed_point(&target)?;
    }

    #[test]
    fn canonical_query_is_a_fixed_point(pairs in proptest::collection::vec((query_value(), query_value()), 0..8)) {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !is_override_key(k))
            .collect();
        let canonical = canonical_query_of(&pairs);
        let target = accepted("/", canonical.as_deref())?;
        prop_assert_eq!(&target.canonical_query, &canonical);
        assert_fixed_point(&target)?;
    }

    #[test]
    fn arbitrary_paths_never_panic_and_accepted_ones_are_clean(
        raw in prop_oneof![any::<String>(), tricky_text(), tricky_text().prop_map(|t| format!("/{t}"))]
    ) {
        if let Ok(target) = normalize_target(&raw, None, &opts()) {
            assert_path_invariants(&target)?;
            assert_fixed_point(&target)?;
        }
    }

    #[test]
    fn arbitrary_queries_never_panic_and_accepted_ones_are_clean(
        raw in prop_oneof![any::<String>(), tricky_text()]
    ) {
        if let Ok(target) = normalize_target("/", Some(&raw), &opts()) {
            assert_query_invariants(&target)?;
            assert_fixed_point(&target)?;
        }
    }
}
