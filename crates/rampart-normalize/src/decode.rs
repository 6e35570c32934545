//! The strict percent-decoder shared by the path and the query.
//!
//! `percent_encoding::percent_decode` is deliberately lenient (a stray `%`
//! passes through), which is what lets two parsers disagree. This decoder
//! refuses instead: every `%` starts an escape of exactly two hex digits,
//! every raw byte is classified before it is accepted, and the decoded result
//! must be valid UTF-8 without control characters or a second layer of
//! encoding. One pass, one allocation per component.

use crate::NormalizeError;

/// Which part of the target a component comes from; the raw alphabets and
/// the bytes refused after decoding differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    /// One path segment (between two '/').
    PathSegment,
    /// One query key or value (`+` means space).
    Query,
}

/// Decodes one raw component to its UTF-8 value, or says why it is ambiguous.
pub(crate) fn decode(raw: &str, component: Component) -> Result<String, NormalizeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'%' => {
                let decoded = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&hi), Some(&lo)) => hex_pair(hi, lo),
                    _ => None,
                }
                .ok_or(NormalizeError::BadPercentEncoding)?;
                check_decoded_byte(decoded, component)?;
                out.push(decoded);
                i += 3;
                continue;
            }
            b'+' if component == Component::Query => out.push(b' '),
            _ => {
                check_raw_byte(byte, component)?;
                out.push(byte);
            }
        }
        i += 1;
    }

    // Any '%' left in `out` came from `%25`, since a raw '%' always starts an
    // escape. If two hex digits follow it, an upstream (or a WAF, or a
    // framework) that decodes twice sees a different byte than we did.
    if out
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
    {
        return Err(NormalizeError::DoubleEncoding);
    }
    // UTF-8 validation is what rejects overlong forms (`%C0%AF` for '/'),
    // encoded surrogates and stray continuation bytes.
    let decoded = String::from_utf8(out).map_err(|_| NormalizeError::InvalidUtf8)?;
    // C0 and DEL were refused byte by byte; this catches the C1 controls
    // (U+0080..U+009F, e.g. NEL) that some software treats as line breaks.
    if decoded.chars().any(char::is_control) {
        return Err(NormalizeError::ControlCharacter);
    }
    Ok(decoded)
}

/// RFC 3986 `unreserved`.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 `pchar` minus `%` (handled as an escape) and minus `;`, which we
/// never accept in a path.
fn is_path_char(byte: u8) -> bool {
    is_unreserved(byte)
        || matches!(
            byte,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@'
        )
}

fn check_raw_byte(byte: u8, component: Component) -> Result<(), NormalizeError> {
    match byte {
        0x00..=0x1F | 0x7F => Err(NormalizeError::ControlCharacter),
        0x80..=0xFF => Err(NormalizeError::NonAsciiRaw),
        b'#' => Err(NormalizeError::Fragment),
        _ => match component {
            Component::PathSegment => match byte {
                b';' => Err(NormalizeError::MatrixParameter),
                b'\\' => Err(NormalizeError::Backslash),
                b if is_path_char(b) => Ok(()),
                _ => Err(NormalizeError::DisallowedCharacter),
            },
            // Query data is always re-encoded before it is forwarded, so a
            // visible ASCII character has one meaning to everybody; only the
            // space (request-line splitting) is refused.
            Component::Query => match byte {
                b' ' => Err(NormalizeError::DisallowedCharacter),
                _ => Ok(()),
            },
        },
    }
}

fn check_decoded_byte(byte: u8, component: Component) -> Result<(), NormalizeError> {
    match (byte, component) {
        (0x00..=0x1F | 0x7F, _) => Err(NormalizeError::ControlCharacter),
        (b'/', Component::PathSegment) => Err(NormalizeError::EncodedSlash),
        (b'\\', Component::PathSegment) => Err(NormalizeError::Backslash),
        (b';', Component::PathSegment) => Err(NormalizeError::MatrixParameter),
        _ => Ok(()),
    }
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    Some((hex_digit(hi)? << 4) | hex_digit(lo)?)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Component, decode};
    use crate::NormalizeError;

    fn seg(raw: &str) -> Result<String, NormalizeError> {
        decode(raw, Component::PathSegment)
    }

    #[test]
    fn decodes_upper_and_lower_hex_alike() {
        assert_eq!(seg("%41%62%C3%A9"), Ok("Abé".to_owned()));
        assert_eq!(seg("%41%62%c3%a9"), Ok("Abé".to_owned()));
    }

    #[test]
    fn escape_needs_two_hex_digits() {
        for raw in ["%", "a%", "%4", "%G1", "%4g", "%%41", "%-1"] {
            assert_eq!(seg(raw), Err(NormalizeError::BadPercentEncoding), "{raw}");
        }
    }

    #[test]
    fn plus_is_a_space_only_in_the_query() {
        assert_eq!(seg("a+b"), Ok("a+b".to_owned()));
        assert_eq!(decode("a+b", Component::Query), Ok("a b".to_owned()));
        assert_eq!(decode("a%2Bb", Component::Query), Ok("a+b".to_owned()));
    }

    #[test]
    fn c1_controls_are_refused() {
        assert_eq!(seg("a%C2%85b"), Err(NormalizeError::ControlCharacter));
    }

    #[test]
    fn literal_percent_not_followed_by_hex_is_data() {
        assert_eq!(seg("100%25"), Ok("100%".to_owned()));
        assert_eq!(seg("%25zz"), Ok("%zz".to_owned()));
        assert_eq!(seg("%254"), Ok("%4".to_owned()));
    }

    #[test]
    fn double_encoding_is_seen_across_escapes() {
        // "%25" "%32" "%46" decodes to "%2F": refused whichever bytes were escaped.
        assert_eq!(seg("%25%32%46"), Err(NormalizeError::DoubleEncoding));
        assert_eq!(seg("%252f"), Err(NormalizeError::DoubleEncoding));
    }
}
