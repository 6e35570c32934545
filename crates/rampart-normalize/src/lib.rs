//! The gateway's *normalize* phase: one canonical form of the method, path
//! and query, settled once, before routing.
//!
//! # Threat
//!
//! A gateway that checks one reading of a URL while the upstream acts on
//! another can be walked past: `/admin%2F..`, `/%2e%2e/admin`,
//! `/riders/%252e%252e`, overlong UTF-8 (`%C0%AF`), Tomcat's `/a;x=1/b` and
//! `/..;/`, IIS's `\`. This crate closes that gap two ways:
//!
//! 1. **Ambiguity is refused, not resolved.** Whenever two well-known
//!    parsers could read a target differently, the request is rejected with
//!    a [`NormalizeError`] whose [`rule_id`](NormalizeError::rule_id) names
//!    the rule. Legitimate clients do not send these spellings.
//! 2. **The upstream gets what we validated.** Routing uses
//!    [`NormalizedTarget::route_path`] (decoded) and the request is forwarded
//!    with [`NormalizedTarget::canonical_path`] and
//!    [`NormalizedTarget::canonical_query`], which decode to exactly those
//!    values under any conforming decoder. Normalizing the canonical form
//!    again is a fixed point.
//!
//! # Rules
//!
//! | rule id | refused | why |
//! |---|---|---|
//! | `normalize.too-long` | path + `?` + query longer than [`NormalizeOptions::max_target_len`] | bounds all later work |
//! | `normalize.not-origin-form` | a path not starting with `/` (`*`, authority-form, empty) | only origin-form names a resource we route |
//! | `normalize.too-many-segments` | more than [`NormalizeOptions::max_segments`] non-empty segments | bounds routing work |
//! | `normalize.control-character` | C0, DEL or C1 controls, raw or encoded (`%00`, `%0D%0A`, `%C2%85`) | NUL truncation, header and log injection |
//! | `normalize.non-ascii-raw` | raw bytes above 0x7F | their encoding is a guess; UTF-8 must be percent-encoded |
//! | `normalize.fragment` | `#` | fragments never reach a server; one here means a confused client or a smuggling attempt |
//! | `normalize.backslash` | `\` in the path, raw or `%5C` | IIS, Windows stacks and some URL parsers read it as `/` |
//! | `normalize.matrix-parameter` | `;` in the path, raw or `%3B` | Tomcat and Spring strip `;...` from segments: `/admin;x=1`, `/..;/` |
//! | `normalize.disallowed-character` | in the path: any byte outside RFC 3986 `pchar` and `/` (space, `"<>[]{}|^` and backquote, `?`); in the query: a raw space | not valid there; parsers repair it differently |
//! | `normalize.bad-percent-encoding` | `%` not followed by two hex digits | lenient decoders pass it through, strict ones fail or guess |
//! | `normalize.encoded-slash` | `%2F` in a path segment | one segment to us, two to an upstream that decodes before splitting |
//! | `normalize.double-encoding` | a decoded `%` followed by two hex digits (`%252e`) | an upstream or framework that decodes twice sees another byte |
//! | `normalize.invalid-utf8` | decoded bytes that are not UTF-8 (`%C0%AF`, `%E0%80%AF`, `%ED%A0%80`, `%FF`) | overlong forms decode to `/` or `.` in lax decoders |
//! | `normalize.dot-segment` | a segment that decodes to `.` or `..` (`%2e`, `.%2E`) | rejected rather than resolved: clients resolve them before sending, so one on the wire is a traversal attempt |
//! | `normalize.unicode-confusable` | a decoded path character whose NFKC form contains `.`, `/`, `\`, `;`, `%`, `?` or `#` (`%EF%BC%8E` is U+FF0E) | an upstream that folds compatibility characters would read `..` or `/` after we checked |
//! | `normalize.too-many-query-pairs` | more than [`NormalizeOptions::max_query_pairs`] non-empty pairs | bounds validation work |
//! | `normalize.method-override` | a query key in [`METHOD_OVERRIDE_QUERY_KEYS`] (`_method`, case-insensitive) | the framework would run another operation than the one we checked |
//! | `normalize.method` | see [`check_method`] | methods are case-sensitive; unknown ones have no contract |
//!
//! # What is *not* an error, and why
//!
//! - **Empty segments** (`//a//b`) are collapsed, and the upstream is sent the
//!   collapsed path, so it cannot disagree. A trailing `/` is recorded in
//!   [`NormalizedTarget::trailing_slash`] and left out of both paths; the
//!   gateway decides from the matched template whether to forward it.
//! - **Case is preserved**: paths are case-sensitive.
//! - **No Unicode normalization.** NFC `caf%C3%A9` and NFD `cafe%CC%81` are two
//!   different paths, to us and to the upstream, which receives the same code
//!   points we validated. The one exception is characters that NFKC folds
//!   into a delimiter (U+FF0E to `.`): those are refused
//!   (`normalize.unicode-confusable`), since an upstream that folds them
//!   would see a different path than the one we checked.
//! - **Query data is re-encoded**, so any visible ASCII byte is accepted raw
//!   in the query (`ids[]=1`); `;` is data, not a separator; `+` is a space;
//!   a key without `=` has the value `""` and is forwarded as `key=`.
//!
//! # Canonical encoding
//!
//! [`encode_segment`] keeps `unreserved`, the sub-delims except `;`, `:` and
//! `@`; [`encode_query_component`] keeps only `unreserved`. Both escape every
//! other byte with uppercase hex. Whatever spelling a client used, one decoded
//! path has one canonical spelling.
//!
//! # Absolute-form
//!
//! The gateway passes `uri.path()` and `uri.query()`. hyper reports the path
//! of `GET http://host/admin` as `/admin`, so absolute-form is invisible here:
//! the gateway must refuse a request URI with a scheme or authority itself and
//! can use [`NormalizeError::NotOriginForm`] for it.

#![forbid(unsafe_code)]

mod decode;
mod error;
mod method;
mod path;
mod query;

pub use error::NormalizeError;
pub use method::{METHOD_OVERRIDE_HEADERS, check_method, is_method_override_header};
pub use path::{encode_segment, is_delimiter_look_alike};
pub use query::{METHOD_OVERRIDE_QUERY_KEYS, encode_query_component};

/// Options; `Default` gives the safe defaults documented on each field.
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Max length of the raw request target (path + query) in bytes. Default 8192.
    pub max_target_len: usize,
    /// Max number of path segments. Default 64.
    pub max_segments: usize,
    /// Max number of query pairs. Default 128.
    pub max_query_pairs: usize,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self {
            max_target_len: 8192,
            max_segments: 64,
            max_query_pairs: 128,
        }
    }
}

/// A request target in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedTarget {
    /// Decoded path segments (valid UTF-8, never empty strings, never containing '/').
    pub segments: Vec<String>,
    /// Whether the raw path ended in '/' (other than the root path "/").
    pub trailing_slash: bool,
    /// The decoded path used for routing: "/" + segments.join("/") ("/" for the root). No trailing slash.
    pub route_path: String,
    /// The canonical percent-encoded path forwarded upstream (no trailing slash; "/" for the root).
    pub canonical_path: String,
    /// Decoded query pairs, in request order. A key without '=' has value "".
    pub query: Vec<(String, String)>,
    /// Canonical re-encoded query string (no leading '?'), None when there was no query or it was empty.
    pub canonical_query: Option<String>,
}

/// Normalizes a request target (`uri.path()`, `uri.query()`) to its canonical
/// form, or refuses it with the rule it breaks. See the crate docs for the rules.
pub fn normalize_target(
    raw_path: &str,
    raw_query: Option<&str>,
    opts: &NormalizeOptions,
) -> Result<NormalizedTarget, NormalizeError> {
    let target_len = raw_path.len() + raw_query.map_or(0, |q| q.len() + 1);
    if target_len > opts.max_target_len {
        return Err(NormalizeError::TooLong);
    }
    let path = path::normalize_path(raw_path, opts.max_segments)?;
    let query = query::normalize_query(raw_query, opts.max_query_pairs)?;
    Ok(NormalizedTarget {
        segments: path.segments,
        trailing_slash: path.trailing_slash,
        route_path: path.route_path,
        canonical_path: path.canonical_path,
        query: query.pairs,
        canonical_query: query.canonical,
    })
}

#[cfg(test)]
mod tests {
    use super::{NormalizeError, NormalizeOptions, normalize_target};

    fn opts() -> NormalizeOptions {
        NormalizeOptions::default()
    }

    #[test]
    fn path_and_query_are_normalized_together() {
        let target = normalize_target("/a//B%2d/", Some("x=1&y=a+b"), &opts()).expect("valid");
        assert_eq!(target.segments, ["a", "B-"]);
        assert!(target.trailing_slash);
        assert_eq!(target.route_path, "/a/B-");
        assert_eq!(target.canonical_path, "/a/B-");
        assert_eq!(
            target.query,
            [("x".into(), "1".into()), ("y".into(), "a b".into())]
        );
        assert_eq!(target.canonical_query.as_deref(), Some("x=1&y=a%20b"));
    }

    #[test]
    fn target_length_counts_path_question_mark_and_query() {
        let limit = NormalizeOptions {
            max_target_len: 6,
            ..opts()
        };
        assert!(normalize_target("/ab", Some("c="), &limit).is_ok());
        assert_eq!(
            normalize_target("/abc", Some("d="), &limit),
            Err(NormalizeError::TooLong)
        );
        assert_eq!(
            normalize_target("/abcdef", None, &limit),
            Err(NormalizeError::TooLong)
        );
    }

    #[test]
    fn path_errors_come_before_query_errors() {
        assert_eq!(
            normalize_target("/a%2Fb", Some("_method=DELETE"), &opts()),
            Err(NormalizeError::EncodedSlash)
        );
    }

    #[test]
    fn method_override_in_query_is_refused() {
        assert_eq!(
            normalize_target("/orders/1", Some("_method=DELETE"), &opts()),
            Err(NormalizeError::MethodOverride)
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = opts();
        assert_eq!(
            (d.max_target_len, d.max_segments, d.max_query_pairs),
            (8192, 64, 128)
        );
    }
}
