//! The one error type of the crate, and its stable rule ids.
//!
//! Every variant is one reason to refuse a request. The `Display` message is
//! written for the client (it ends up in an RFC 9457 problem `detail`), so it
//! names the rule that was broken and never echoes the offending input.
//! [`NormalizeError::rule_id`] is the stable id that the audit log, metrics
//! and the problem `type` use; renaming one is a breaking change.

/// Why a request's method, path or query was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The path does not start with '/' (absolute-form, authority-form, `*` or empty).
    #[error("the request target must be an absolute path starting with '/'")]
    NotOriginForm,
    /// The raw path and query together exceed `max_target_len`.
    #[error("the request target is too long")]
    TooLong,
    /// The path has more segments than `max_segments`.
    #[error("the request path has too many segments")]
    TooManySegments,
    /// The query has more pairs than `max_query_pairs`.
    #[error("the query string has too many parameters")]
    TooManyQueryPairs,
    /// A raw (unescaped) byte outside ASCII.
    #[error("the request target contains unescaped non-ASCII characters")]
    NonAsciiRaw,
    /// A raw byte that is not allowed in this part of the target (space, `"`, `<`, `[`, ...).
    #[error("the request target contains a character that must be percent-encoded")]
    DisallowedCharacter,
    /// A control character, raw or percent-encoded (C0, DEL, C1, including NUL, CR and LF).
    #[error("the request target contains a control character")]
    ControlCharacter,
    /// A backslash in the path, raw or encoded as `%5C`.
    #[error("the request path contains a backslash")]
    Backslash,
    /// A `#`: fragments are never sent to a server.
    #[error("the request target contains a fragment")]
    Fragment,
    /// A `;` in the path, raw or encoded as `%3B` (matrix parameters).
    #[error("the request path contains a ';' (matrix parameters are not accepted)")]
    MatrixParameter,
    /// A `%` not followed by two hex digits.
    #[error("the request target contains a malformed percent-escape")]
    BadPercentEncoding,
    /// Percent-decoded bytes that are not valid UTF-8 (including overlong forms and surrogates).
    #[error("the request target does not decode to valid UTF-8")]
    InvalidUtf8,
    /// A `/` encoded as `%2F` inside a path segment.
    #[error("the request path contains an encoded '/'")]
    EncodedSlash,
    /// A `%25` followed by two hex digits, which a second decoder would turn into another byte.
    #[error("the request target is percent-encoded more than once")]
    DoubleEncoding,
    /// A `.` or `..` path segment, raw or encoded.
    #[error("the request path contains a '.' or '..' segment")]
    DotSegment,
    /// A decoded path character whose Unicode compatibility form (NFKC) is
    /// one of the path's delimiters (`.`, `/`, `\`, `;`, `%`, `?`, `#`).
    #[error("the request path contains a look-alike of a path delimiter")]
    UnicodeConfusable,
    /// A method outside the set the gateway proxies.
    #[error("the request method is not supported")]
    Method,
    /// A header or query parameter asking the upstream to treat the request as another method.
    #[error("method override parameters are not accepted")]
    MethodOverride,
}

impl NormalizeError {
    /// The stable rule id (`normalize.*`) used in audit events, metrics and problem types.
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::NotOriginForm => "normalize.not-origin-form",
            Self::TooLong => "normalize.too-long",
            Self::TooManySegments => "normalize.too-many-segments",
            Self::TooManyQueryPairs => "normalize.too-many-query-pairs",
            Self::NonAsciiRaw => "normalize.non-ascii-raw",
            Self::DisallowedCharacter => "normalize.disallowed-character",
            Self::ControlCharacter => "normalize.control-character",
            Self::Backslash => "normalize.backslash",
            Self::Fragment => "normalize.fragment",
            Self::MatrixParameter => "normalize.matrix-parameter",
            Self::BadPercentEncoding => "normalize.bad-percent-encoding",
            Self::InvalidUtf8 => "normalize.invalid-utf8",
            Self::EncodedSlash => "normalize.encoded-slash",
            Self::DoubleEncoding => "normalize.double-encoding",
            Self::DotSegment => "normalize.dot-segment",
            Self::UnicodeConfusable => "normalize.unicode-confusable",
            Self::Method => "normalize.method",
            Self::MethodOverride => "normalize.method-override",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NormalizeError;

    #[test]
    fn rule_ids_are_namespaced_and_distinct() {
        let all = [
            NormalizeError::NotOriginForm,
            NormalizeError::TooLong,
            NormalizeError::TooManySegments,
            NormalizeError::TooManyQueryPairs,
            NormalizeError::NonAsciiRaw,
            NormalizeError::DisallowedCharacter,
            NormalizeError::ControlCharacter,
            NormalizeError::Backslash,
            NormalizeError::Fragment,
            NormalizeError::MatrixParameter,
            NormalizeError::BadPercentEncoding,
            NormalizeError::InvalidUtf8,
            NormalizeError::EncodedSlash,
            NormalizeError::DoubleEncoding,
            NormalizeError::DotSegment,
            NormalizeError::UnicodeConfusable,
            NormalizeError::Method,
            NormalizeError::MethodOverride,
        ];
        let mut ids: Vec<_> = all.iter().map(NormalizeError::rule_id).collect();
        assert!(ids.iter().all(|id| id.starts_with("normalize.")));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }
}
