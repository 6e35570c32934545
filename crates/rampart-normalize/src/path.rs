//! Path normalization: raw `uri.path()` to decoded segments and one
//! canonical spelling.
//!
//! The path is split on raw '/' first and each segment is decoded on its
//! own, so a `%2F` can never create a new segment boundary; it is refused
//! outright, because upstreams disagree on whether it is one. Empty segments
//! are dropped, so `//a//b/` and `/a/b` route the same, and the upstream is
//! sent the collapsed spelling, so it cannot see them differently.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::NormalizeError;
use crate::decode::{Component, decode};

/// Bytes `encode_segment` escapes: everything except `unreserved`, the
/// sub-delims other than ';', ':' and '@'.
const SEGMENT_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// The path part of a [`crate::NormalizedTarget`].
#[derive(Debug)]
pub(crate) struct NormalizedPath {
    pub(crate) segments: Vec<String>,
    pub(crate) trailing_slash: bool,
    pub(crate) route_path: String,
    pub(crate) canonical_path: String,
}

/// Normalizes a raw origin-form path, or names the rule it breaks.
pub(crate) fn normalize_path(
    raw: &str,
    max_segments: usize,
) -> Result<NormalizedPath, NormalizeError> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(NormalizeError::NotOriginForm);
    };

    let mut segments = Vec::new();
    for raw_segment in rest.split('/').filter(|s| !s.is_empty()) {
        if segments.len() == max_segments {
            return Err(NormalizeError::TooManySegments);
        }
        let segment = decode(raw_segment, Component::PathSegment)?;
        if segment == "." || segment == ".." {
            return Err(NormalizeError::DotSegment);
        }
        if segment.chars().any(is_delimiter_look_alike) {
            return Err(NormalizeError::UnicodeConfusable);
        }
        segments.push(segment);
    }

    let trailing_slash = !segments.is_empty() && raw.ends_with('/');
    let mut route_path = String::with_capacity(raw.len());
    let mut canonical_path = String::with_capacity(raw.len());
    for segment in &segments {
        route_path.push('/');
        route_path.push_str(segment);
        canonical_path.push('/');
        canonical_path.extend(utf8_percent_encode(segment, SEGMENT_ENCODE_SET));
    }
    if segments.is_empty() {
        route_path.push('/');
        canonical_path.push('/');
    }

    Ok(NormalizedPath {
        segments,
        trailing_slash,
        route_path,
        canonical_path,
    })
}

/// Whether `c` is a character whose NFKC form is, or contains, a path
/// delimiter: `.`, `/`, `\`, `;`, `%`, `?` or `#`.
///
/// No Unicode normalization is applied to paths (NFC and NFD spellings stay
/// two different paths, forwarded as validated), but an upstream or
/// filesystem that folds compatibility characters would turn
/// `\u{FF0E}\u{FF0E}` into `..` or `\u{FF0F}` into `/` *after* the gateway
/// checked the path. These characters have no business in a resource name,
/// so they are refused like their ASCII originals. The list is the complete
/// set of non-ASCII code points whose NFKC form includes one of those
/// delimiters (52 of them, listed with Python's `unicodedata`).
pub fn is_delimiter_look_alike(c: char) -> bool {
    matches!(
        c,
        // `;`: Greek question mark, vertical, small and fullwidth semicolons
        '\u{037E}' | '\u{FE14}' | '\u{FE54}' | '\u{FF1B}'
        // `.`: dot leaders, ellipses, small and fullwidth full stops
        | '\u{2024}' | '\u{2025}' | '\u{2026}' | '\u{FE19}' | '\u{FE30}' | '\u{FE52}' | '\u{FF0E}'
        // `.` inside: "1." to "20.", "0.", and the squared a.m., Co., p.m.
        | '\u{2488}'
            ..='\u{249B}' | '\u{1F100}' | '\u{33C2}' | '\u{33C7}' | '\u{33D8}'
        // `/` inside: a/c, a/s, c/o, c/u; and the fullwidth solidus
        | '\u{2100}' | '\u{2101}' | '\u{2105}' | '\u{2106}' | '\u{FF0F}'
        // `\`: small and fullwidth reverse solidus
        | '\u{FE68}' | '\u{FF3C}'
        // `?`: ??, ?!, !?, vertical, small and fullwidth question marks
        | '\u{2047}' | '\u{2048}' | '\u{2049}' | '\u{FE16}' | '\u{FE56}' | '\u{FF1F}'
        // `%` and `#`: small and fullwidth
        | '\u{FE6A}' | '\u{FF05}' | '\u{FE5F}' | '\u{FF03}'
    )
}

/// Canonical percent-encoding of one decoded path segment.
///
/// Keeps ALPHA, DIGIT, `-._~`, the sub-delims `!$&'()*+,=` and `:@` as they
/// are and escapes every other byte (including each byte of a non-ASCII
/// character, '/', '%' and ';') as `%XX` with uppercase hex, so
/// `decode(encode_segment(s)) == s` for any `s`.
///
/// The result is one segment, but the caller must not pass `"."` or `".."`:
/// those come back unchanged and would be dot segments. [`crate::normalize_target`]
/// never produces them.
pub fn encode_segment(decoded: &str) -> String {
    utf8_percent_encode(decoded, SEGMENT_ENCODE_SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::{encode_segment, is_delimiter_look_alike, normalize_path};
    use crate::NormalizeError;

    fn rejects(raw: &str) -> NormalizeError {
        match normalize_path(raw, 64) {
            Ok(path) => panic!("{raw:?} was accepted as {path:?}"),
            Err(err) => err,
        }
    }

    fn canonical(raw: &str) -> (String, String) {
        match normalize_path(raw, 64) {
            Ok(path) => (path.route_path, path.canonical_path),
            Err(err) => panic!("{raw:?} was rejected: {err}"),
        }
    }

    #[test]
    fn must_start_with_a_slash() {
        for raw in [
            "",
            "*",
            "admin",
            "http://evil.example/admin",
            "evil.example:443",
        ] {
            assert_eq!(rejects(raw), NormalizeError::NotOriginForm, "{raw}");
        }
    }

    #[test]
    fn root_has_no_segments_and_no_trailing_slash() {
        for raw in ["/", "//", "///"] {
            let path = normalize_path(raw, 64).expect("root");
            assert!(path.segments.is_empty());
            assert!(!path.trailing_slash);
            assert_eq!(
                (path.route_path.as_str(), path.canonical_path.as_str()),
                ("/", "/")
            );
        }
    }

    #[test]
    fn empty_segments_collapse_and_trailing_slash_is_recorded() {
        let path = normalize_path("//a//b//", 64).expect("valid");
        assert_eq!(path.segments, ["a", "b"]);
        assert!(path.trailing_slash);
        assert_eq!(path.route_path, "/a/b");
        assert_eq!(path.canonical_path, "/a/b");
        assert!(!normalize_path("/a/b", 64).expect("valid").trailing_slash);
    }

    #[test]
    fn case_is_preserved() {
        assert_eq!(
            canonical("/Admin/USERS"),
            ("/Admin/USERS".into(), "/Admin/USERS".into())
        );
    }

    #[test]
    fn canonical_spelling_decodes_unreserved_and_uppercases_escapes() {
        assert_eq!(
            canonical("/%61%64min/caf%c3%a9"),
            ("/admin/café".into(), "/admin/caf%C3%A9".into())
        );
        assert_eq!(
            canonical("/a%20b/%7e%21%40%3a"),
            ("/a b/~!@:".into(), "/a%20b/~!@:".into())
        );
        assert_eq!(
            canonical("/100%25/%3F%23"),
            ("/100%/?#".into(), "/100%25/%3F%23".into())
        );
    }

    #[test]
    fn unicode_is_not_normalized() {
        // NFC "é" and NFD "e\u{301}" are two paths, to us and to the upstream.
        assert_eq!(canonical("/caf%C3%A9").1, "/caf%C3%A9");
        assert_eq!(canonical("/cafe%CC%81").1, "/cafe%CC%81");
    }

    #[test]
    fn encoded_slash_is_refused() {
        assert_eq!(rejects("/admin%2F.."), NormalizeError::EncodedSlash);
        assert_eq!(rejects("/a%2fb"), NormalizeError::EncodedSlash);
    }

    #[test]
    fn dot_segments_are_refused_in_any_spelling() {
        for raw in [
            "/.",
            "/..",
            "/a/./b",
            "/a/../admin",
            "/%2e%2e/admin",
            "/%2E%2e",
            "/.%2E/x",
            "/a/%2e",
        ] {
            assert_eq!(rejects(raw), NormalizeError::DotSegment, "{raw}");
        }
        assert_eq!(
            canonical("/.../.a/a."),
            ("/.../.a/a.".into(), "/.../.a/a.".into())
        );
    }

    #[test]
    fn double_encoding_is_refused() {
        assert_eq!(
            rejects("/riders/%252e%252e"),
            NormalizeError::DoubleEncoding
        );
        assert_eq!(rejects("/admin%252F"), NormalizeError::DoubleEncoding);
    }

    #[test]
    fn bad_percent_encoding_is_refused() {
        for raw in ["/a%", "/a%2", "/a%zz", "/%%2e"] {
            assert_eq!(rejects(raw), NormalizeError::BadPercentEncoding, "{raw}");
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        // Overlong '/', overlong '/' in three bytes, a lone byte, a surrogate, a stray continuation.
        for raw in [
            "/a/%c0%af",
            "/a/%e0%80%af",
            "/%ff",
            "/%ED%A0%80",
            "/%80",
            "/%C3",
        ] {
            assert_eq!(rejects(raw), NormalizeError::InvalidUtf8, "{raw}");
        }
    }

    #[test]
    fn backslash_is_refused_raw_and_encoded() {
        assert_eq!(rejects("/a\\b"), NormalizeError::Backslash);
        assert_eq!(rejects("/a%5cb"), NormalizeError::Backslash);
        assert_eq!(rejects("/..%5C..%5Cadmin"), NormalizeError::Backslash);
    }

    #[test]
    fn control_characters_are_refused_raw_and_encoded() {
        for raw in [
            "/a/%00",
            "/a%0d%0aSet-Cookie:x",
            "/a%7F",
            "/a\tb",
            "/a\0",
            "/a%09",
        ] {
            assert_eq!(rejects(raw), NormalizeError::ControlCharacter, "{raw}");
        }
    }

    #[test]
    fn matrix_parameters_are_refused_raw_and_encoded() {
        for raw in [
            "/a;jsessionid=1/b",
            "/A/..;/b",
            "/admin;",
            "/a%3Bb",
            "/a%3b/b",
        ] {
            assert_eq!(rejects(raw), NormalizeError::MatrixParameter, "{raw}");
        }
    }

    #[test]
    fn raw_non_ascii_is_refused() {
        assert_eq!(rejects("/café"), NormalizeError::NonAsciiRaw);
    }

    #[test]
    fn fragment_is_refused() {
        assert_eq!(rejects("/a#b"), NormalizeError::Fragment);
    }

    #[test]
    fn characters_outside_pchar_are_refused() {
        for raw in [
            "/a b", "/a\"b", "/a<b>", "/a[0]", "/a{b}", "/a|b", "/a^b", "/a`b", "/a?b",
        ] {
            assert_eq!(rejects(raw), NormalizeError::DisallowedCharacter, "{raw}");
        }
    }

    #[test]
    fn segment_limit_counts_collapsed_segments() {
        assert!(normalize_path("/a/b", 2).is_ok());
        assert!(normalize_path("/a//b///", 2).is_ok());
        assert_eq!(
            normalize_path("/a/b/c", 2).map(|_| ()),
            Err(NormalizeError::TooManySegments)
        );
    }

    #[test]
    fn encode_segment_keeps_pchar_and_escapes_the_rest() {
        assert_eq!(
            encode_segment("AZaz09-._~!$&'()*+,=:@"),
            "AZaz09-._~!$&'()*+,=:@"
        );
        assert_eq!(
            encode_segment("a/b;c%d e?f#g\\h"),
            "a%2Fb%3Bc%25d%20e%3Ff%23g%5Ch"
        );
        assert_eq!(encode_segment("é\u{1F600}"), "%C3%A9%F0%9F%98%80");
    }

    #[test]
    fn compatibility_look_alikes_of_delimiters_are_refused() {
        for raw in [
            "/files/%EF%BC%8E%EF%BC%8E", // U+FF0E U+FF0E: NFKC ".."
            "/files/a%EF%BC%8Fb",        // U+FF0F: NFKC "/"
            "/files/a%EF%BC%BCb",        // U+FF3C: NFKC "\\"
            "/files/%E2%80%A5",          // U+2025 two dot leader: NFKC ".."
            "/files/%EF%B9%92",          // U+FE52 small full stop
            "/files/%E2%84%80",          // U+2100 account of: NFKC "a/c"
            "/files/a%CD%BEb",           // U+037E Greek question mark: NFC ";"
        ] {
            assert_eq!(rejects(raw), NormalizeError::UnicodeConfusable, "{raw}");
        }
        // NFC and NFD spellings, and slash-like characters with no
        // compatibility mapping, are ordinary (distinct) path text.
        for ok in [
            "/files/caf%C3%A9",
            "/files/cafe%CC%81",
            "/files/a%E2%88%95b",
        ] {
            assert!(normalize_path(ok, 64).is_ok(), "{ok}");
        }
        assert!(!is_delimiter_look_alike('é'));
        assert!(!is_delimiter_look_alike('.'));
    }
}
