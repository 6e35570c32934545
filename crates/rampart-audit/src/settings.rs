//! The rule config: enable, disable and re-grade rules.
//!
//! ```yaml
//! rules:
//!   audit.limit.string-pattern: off        # disable
//!   audit.auth.http-basic: critical        # re-grade
//!   owasp:api4:2023-string-limit: off      # Spectral and vacuum ids are accepted too
//! ```
//!
//! Values are `off`, `on` (the default severity) or a severity. Unknown rule
//! ids and values are errors, so a typo cannot silently keep a rule on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::{self, AuditRule, Severity};

/// Errors reading a rule config.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("{}: cannot read the rule config: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid rule config.
    #[error("{}: {message}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: BTreeMap<String, String>,
}

/// What the config says about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// Not run.
    Off,
    /// Run, reporting at this severity.
    On(Severity),
}

/// Effective settings for every rule.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    overrides: BTreeMap<&'static str, RuleSetting>,
}

impl Settings {
    /// Read a rule config (YAML or JSON).
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::parse(&text).map_err(|message| SettingsError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parse a rule config's text.
    pub fn parse(text: &str) -> Result<Settings, String> {
        let file: File = if text.trim().is_empty() {
            File {
                rules: BTreeMap::new(),
            }
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid rule config")
                    .to_string()
            })?
        };
        let mut overrides = BTreeMap::new();
        for (id, value) in file.rules {
            let rule = catalog::lookup(&id).ok_or_else(|| {
                format!("unknown rule \"{id}\" (see `rampart audit --list-rules`)")
            })?;
            let setting = match value.as_str() {
                "off" => RuleSetting::Off,
                "on" => RuleSetting::On(rule.severity),
                other => RuleSetting::On(Severity::parse(other).ok_or_else(|| {
                    format!(
                        "rule \"{id}\": \"{other}\" is not off, on, info, low, medium, high or critical"
                    )
                })?),
            };
            overrides.insert(rule.id(), setting);
        }
        Ok(Settings { overrides })
    }

    /// The setting for a rule.
    pub fn rule(&self, rule: &AuditRule) -> RuleSetting {
        self.overrides
            .get(rule.id())
            .copied()
            .unwrap_or(RuleSetting::On(rule.severity))
    }

    /// Whether a rule runs.
    pub fn enabled(&self, rule: &AuditRule) -> bool {
        self.rule(rule) != RuleSetting::Off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disables_regrades_and_rejects_typos() {
        let s = Settings::parse(
            "rules:\n  audit.limit.string-pattern: off\n  owasp:api2:2023-no-http-basic: critical\n",
        )
        .unwrap();
        assert_eq!(s.rule(&catalog::STRING_RESTRICTED), RuleSetting::Off);
        assert_eq!(
            s.rule(&catalog::HTTP_BASIC),
            RuleSetting::On(Severity::Critical)
        );
        assert_eq!(
            s.rule(&catalog::NUMERIC_ID),
            RuleSetting::On(Severity::Medium)
        );
        assert!(Settings::parse("rules:\n  audit.nope: off\n").is_err());
        assert!(Settings::parse("rules:\n  audit.id.numeric: severe\n").is_err());
        assert!(Settings::parse("rulez: {}\n").is_err());
    }
}
