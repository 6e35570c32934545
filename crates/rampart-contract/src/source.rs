//! Reading one OpenAPI file from disk into a JSON value.
//!
//! JSON files go through `serde_json` (which handles every JSON escape,
//! including surrogate pairs such as `"\ud83d\udc4d"` that some YAML parsers
//! reject); everything else goes through `serde-saphyr`. Files are size-capped
//! before parsing so a hostile or mistaken path cannot exhaust memory.

use std::path::Path;

use serde_json::Value;

use crate::error::{ContractError, ContractErrorKind};

/// Largest OpenAPI file the loader reads (64 MiB: GitHub's REST description is 13 MB).
pub const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// Read and parse a YAML or JSON file.
pub fn read_document(path: &Path) -> Result<Value, ContractError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ContractError::new(path, ContractErrorKind::Io(e.to_string())))?;
    if meta.len() > MAX_SPEC_BYTES {
        return Err(ContractError::new(
            path,
            ContractErrorKind::TooLarge {
                size: meta.len(),
                limit: MAX_SPEC_BYTES,
            },
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| ContractError::new(path, ContractErrorKind::Io(e.to_string())))?;
    parse_document(&bytes, path)
}

/// Parse bytes as JSON (when they look like JSON) or YAML. `path` is used in messages.
pub fn parse_document(bytes: &[u8], path: &Path) -> Result<Value, ContractError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ContractError::new(
            path,
            ContractErrorKind::Syntax(format!("file is not valid UTF-8 ({e})")),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let looks_json = text.trim_start().starts_with('{');
    if looks_json {
        serde_json::from_str::<Value>(text).map_err(|e| {
            let mut err = ContractError::new(
                path,
                ContractErrorKind::Syntax(json_message(&e.to_string())),
            );
            err.line = Some(e.line());
            err.column = Some(e.column());
            err
        })
    } else {
        serde_saphyr::from_str::<Value>(text).map_err(|e| {
            let mut err = ContractError::new(path, ContractErrorKind::Syntax(first_line(&e)));
            if let Some(loc) = e.location() {
                err.line = usize::try_from(loc.line()).ok();
                err.column = usize::try_from(loc.column()).ok();
            }
            err
        })
    }
}

/// serde_json appends " at line X column Y" which we already report as a position.
fn json_message(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// serde-saphyr renders a code snippet after the message; keep only the cause.
fn first_line(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    full.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_syntax_error_has_line_and_column() {
        let err = parse_document(
            b"{\n  \"openapi\": \"3.1.0\",\n  oops\n}",
            Path::new("a.json"),
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.to_string().starts_with("a.json:3:"), "{err}");
    }

    #[test]
    fn yaml_syntax_error_has_line() {
        let err = parse_document(
            b"openapi: 3.1.0\ninfo:\n  title: [unclosed\n",
            Path::new("a.yaml"),
        )
        .unwrap_err();
        assert!(err.line.is_some(), "{err:?}");
        assert!(matches!(err.kind, ContractErrorKind::Syntax(_)));
    }

    #[test]
    fn json_surrogate_pairs_parse() {
        let v = parse_document(br#"{"x": "\ud83d\udc4d"}"#, Path::new("a.json")).unwrap();
        assert_eq!(v["x"], "\u{1f44d}");
    }
}
