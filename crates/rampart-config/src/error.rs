//! Configuration errors: each one names the file, the line and column when
//! known, and the cause, on a single line.
//!
//! serde-saphyr can render rich multi-line snippets; we deliberately do not use
//! them. `rampart check` prints one line per problem so editors, CI logs and
//! `grep` can consume the output, and so a hostile file cannot make us echo
//! large parts of itself.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{ExternalMessageSource, MessageFormatter, UserMessageFormatter};

use crate::locate::{Position, SourceMap};

/// Longest message we print for a YAML error; longer ones (a huge unknown key,
/// say) are cut, so one error stays one readable line.
const MAX_MESSAGE_CHARS: usize = 400;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file, as the caller named it.
    pub file: PathBuf,
    /// 1-based line of the offending key or value, when known.
    pub line: Option<usize>,
    /// 1-based column of the offending key or value, when known.
    pub column: Option<usize>,
    /// What is wrong, on one line.
    pub message: String,
}

impl ConfigError {
    /// An error that concerns the whole file rather than a place in it.
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Translates a serde-saphyr error (YAML syntax, type, unknown field,
    /// budget) into a one-line error with its position. `map` (empty when the
    /// text is not even YAML) names the setting at that position, and moves a
    /// "missing field" error from the last key serde saw to the mapping that
    /// lacks the field.
    pub(crate) fn from_yaml(file: &Path, err: &serde_saphyr::Error, map: &SourceMap) -> Self {
        let mut position = err.location().and_then(|location| {
            let line = to_usize(location.line());
            let column = to_usize(location.column());
            (line > 0 && column > 0).then_some(Position { line, column })
        });
        let mut message = one_line(&yaml_message(err), MAX_MESSAGE_CHARS);
        let mut setting = None;
        match innermost(err) {
            serde_saphyr::Error::SerdeUnknownField { .. } => {}
            serde_saphyr::Error::SerdeMissingField { .. } => {
                if let Some(at) = position {
                    let owner = map.owner_of_key_at(at).or_else(|| map.path_of_value_at(at));
                    if let Some(owner) = owner {
                        position = map.position(owner).or(position);
                        setting = Some(owner);
                    }
                }
            }
            _ => {
                // serde-saphyr places an error at the offending value, or at
                // its key when the error comes from a nested `Deserialize`.
                let path = position
                    .and_then(|at| map.path_of_key_at(at).or_else(|| map.path_of_value_at(at)));
                if let Some(path) = path {
                    position = map.position(path).or(position);
                    setting = Some(path);
                }
            }
        }
        if let Some(setting) = setting.filter(|s| !s.is_empty()) {
            message = format!("{setting}: {message}");
        }
        ConfigError {
            file: file.to_path_buf(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// All the problems found in a configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line, without a trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The error itself, without the wrappers that add alias or snippet context.
fn innermost(err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    inner
}

/// The cause of a YAML error, without location (we print it ourselves).
fn yaml_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    match innermost(err) {
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        }
        | E::MultipleDocuments { .. } => {
            "the file holds several YAML documents (`---`); expected exactly one".to_owned()
        }
        E::Budget { breach, .. } => describe_breach(breach),
        E::ExternalMessage { source, .. }
            if matches!(
                &**source,
                ExternalMessageSource::Parser(scan)
                    if *scan.kind() == serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded
            ) =>
        {
            rejected("nesting is too deep")
        }
        E::InvalidScalar { ty, .. } => format!("invalid value, expected {}", describe_type(ty)),
        E::Unexpected { expected, .. } => format!("expected {}", describe_expected(expected)),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => {
            "YAML aliases expand to too much data (alias bomb?)".to_owned()
        }
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown_name("field", field, expected),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown_name("value", variant, expected),
        E::DuplicateMappingKey { key: Some(key), .. } => format!("duplicate key `{key}`"),
        E::DuplicateMappingKey { key: None, .. } => "duplicate key".to_owned(),
        other => UserMessageFormatter.format_message(other).into_owned(),
    }
}

fn unknown_name(what: &str, name: &str, expected: &[&str]) -> String {
    let mut message = format!("unknown {what} `{name}`");
    if expected.is_empty() {
        message.push_str(", there are none here");
    } else {
        message.push_str(", expected one of ");
        message.push_str(&expected.join(", "));
    }
    if let Some(suggestion) = closest(name, expected) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    message
}

/// The expected name closest to a misspelled one, if it is close enough to be
/// a likely typo (edit distance of at most a third of its length, and 3).
fn closest<'a>(name: &str, expected: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    expected
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn describe_breach(breach: &BudgetBreach) -> String {
    let what = match breach {
        BudgetBreach::Depth { .. } => "nesting is too deep",
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => "too many YAML nodes",
        BudgetBreach::Aliases { .. } => "too many aliases",
        BudgetBreach::Anchors { .. } => "too many anchors",
        BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "aliases expand to too much data (alias bomb?)"
        }
        BudgetBreach::ScalarBytes { .. } | BudgetBreach::InputBytes { .. } => "too much text",
        BudgetBreach::MergeKeys { .. } => "too many merge keys (`<<`)",
        BudgetBreach::Documents { .. } => "too many YAML documents",
        _ => "too complex",
    };
    rejected(what)
}

fn rejected(what: &str) -> String {
    format!("YAML document rejected: {what}")
}

/// Plain words for the Rust scalar types serde-saphyr names.
fn describe_type(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative whole number".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "bool" => "true or false".to_owned(),
        other => format!("a value of type {other}"),
    }
}

fn describe_expected(expected: &str) -> &str {
    match expected {
        "mapping start" => "a mapping (`key: value` entries)",
        "sequence start" => "a list",
        "string scalar" | "scalar" => "a single value (not a list or mapping)",
        other => other,
    }
}

/// Escapes control characters (so a message stays on one line and cannot
/// drive a terminal) and cuts it to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (count, ch) in text.chars().enumerate() {
        if count == max {
            out.push_str("...");
            break;
        }
        if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}') {
            out.extend(ch.escape_debug());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<usize>, column: Option<usize>) -> ConfigError {
        ConfigError {
            file: PathBuf::from("rampart.yaml"),
            line,
            column,
            message: "boom".to_owned(),
        }
    }

    #[test]
    fn display_omits_unknown_parts() {
        assert_eq!(
            error(Some(7), Some(5)).to_string(),
            "rampart.yaml:7:5: boom"
        );
        assert_eq!(error(Some(7), None).to_string(), "rampart.yaml:7: boom");
        assert_eq!(error(None, None).to_string(), "rampart.yaml: boom");
    }

    #[test]
    fn errors_display_one_per_line() {
        let errors = ConfigErrors(vec![error(Some(1), Some(1)), error(Some(2), None)]);
        assert_eq!(
            errors.to_string(),
            "rampart.yaml:1:1: boom\nrampart.yaml:2: boom"
        );
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let expected = ["name", "spec", "upstream", "base_path"];
        assert_eq!(closest("upstrem", &expected), Some("upstream"));
        assert_eq!(closest("basepath", &expected), Some("base_path"));
        assert_eq!(closest("timeout", &expected), None);
    }

    #[test]
    fn one_line_escapes_and_cuts() {
        assert_eq!(one_line("a\nb", 10), "a\\nb");
        assert_eq!(one_line("abcdef", 3), "abc...");
    }
}
