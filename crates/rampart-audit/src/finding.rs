//! Findings, and the sink that keeps exactly one per rule and location.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalog::{AuditRule, Severity};

/// Where a finding is in the source, once located.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceLocation {
    /// The file (as given, or the referenced file for bundled parts).
    pub file: PathBuf,
    /// JSON pointer inside that file.
    pub pointer: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (Unicode scalar values).
    pub column: u32,
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static AuditRule,
    /// Effective severity (after the rule config).
    pub severity: Severity,
    /// JSON pointer in the bundled document.
    pub pointer: String,
    /// What is wrong here.
    pub message: String,
    /// Source file, line and column.
    pub location: Option<SourceLocation>,
    /// Why it is suppressed (`x-rampart-ignore`), when it is.
    pub suppressed: Option<String>,
}

impl Finding {
    /// The sort key every output uses: file, line, column, rule id, pointer.
    pub fn sort_key(&self) -> (Option<(&PathBuf, u32, u32)>, &str, &str) {
        (
            self.location.as_ref().map(|l| (&l.file, l.line, l.column)),
            self.rule.id(),
            self.pointer.as_str(),
        )
    }
}

/// Collects findings; a second report of the same rule at the same pointer is dropped.
/// This is what makes every rule count once per location, however many
/// operations reach a shared schema or response.
#[derive(Debug, Default)]
pub struct Sink {
    found: BTreeMap<(&'static str, String), (&'static AuditRule, String)>,
}

impl Sink {
    /// Report `rule` at `pointer`.
    pub fn report(
        &mut self,
        rule: &'static AuditRule,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.found
            .entry((rule.id(), pointer.into()))
            .or_insert_with(|| (rule, message.into()));
    }

    /// Whether `rule` was reported at `pointer`.
    pub fn has(&self, rule: &AuditRule, pointer: &str) -> bool {
        self.found.contains_key(&(rule.id(), pointer.to_string()))
    }

    /// The findings, in (rule, pointer) order, at their default severity.
    pub fn into_findings(self) -> Vec<Finding> {
        self.found
            .into_iter()
            .map(|((_, pointer), (rule, message))| Finding {
                rule,
                severity: rule.severity,
                pointer,
                message,
                location: None,
                suppressed: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn one_finding_per_rule_and_location() {
        let mut s = Sink::default();
        s.report(
            &catalog::STRING_MAX_LENGTH,
            "/components/schemas/A",
            "first",
        );
        s.report(
            &catalog::STRING_MAX_LENGTH,
            "/components/schemas/A",
            "second",
        );
        s.report(
            &catalog::STRING_RESTRICTED,
            "/components/schemas/A",
            "other rule",
        );
        let f = s.into_findings();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].message, "first");
    }
}
