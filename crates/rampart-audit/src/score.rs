//! The score: 0-100 overall and per OWASP category, deterministic.
//!
//! Each rule that fires takes points off its category:
//!
//! ```text
//! penalty(rule) = weight(severity) * (1 - 0.5^findings)
//! category      = max(0, 100 - sum of its rules' penalties), rounded
//! overall       = mean of the assessed categories, rounded
//! ```
//!
//! with weights critical 40, high 20, medium 8, low 3, info 0. One finding
//! costs half the weight, many findings of one rule approach the whole weight
//! and never more, so a thousand unbounded strings cannot outweigh one
//! unauthenticated write, and a large API is not punished for its size alone.
//! A category is *assessed* when at least one of its rules is enabled
//! (API6 and API10 have no static rules and are never assessed). Suppressed
//! findings do not count. Everything is computed in catalogue order with
//! plain `f64` arithmetic, so the same findings always give the same score.

use serde::Serialize;

use crate::catalog::{self, CATEGORIES};
use crate::finding::Finding;
use crate::settings::{RuleSetting, Settings};

/// One category's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryScore {
    /// `API1:2023`.
    pub id: &'static str,
    /// The category's name.
    pub name: &'static str,
    /// 0-100.
    pub score: u8,
    /// Unsuppressed findings in the category.
    pub findings: usize,
}

/// The scores of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// 0-100.
    pub overall: u8,
    /// Assessed categories, in OWASP order.
    pub categories: Vec<CategoryScore>,
}

/// Score unsuppressed `findings` under `settings`.
pub fn score(findings: &[Finding], settings: &Settings) -> Score {
    let mut categories = Vec::new();
    for (id, name) in CATEGORIES {
        let rules: Vec<_> = catalog::ALL
            .iter()
            .filter(|r| r.owasp() == *id && settings.enabled(r))
            .collect();
        if rules.is_empty() {
            continue;
        }
        let mut penalty = 0.0;
        let mut count = 0;
        for r in rules {
            let n = findings.iter().filter(|f| f.rule.id() == r.id()).count();
            count += n;
            if n == 0 {
                continue;
            }
            let severity = match settings.rule(r) {
                RuleSetting::On(s) => s,
                RuleSetting::Off => continue,
            };
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            penalty += severity.weight() * (1.0 - 0.5f64.powi(n));
        }
        categories.push(CategoryScore {
            id,
            name,
            score: to_score(100.0 - penalty),
            findings: count,
        });
    }
    let overall = if categories.is_empty() {
        100
    } else {
        let sum: f64 = categories.iter().map(|c| f64::from(c.score)).sum();
        to_score(sum / categories.len() as f64)
    };
    Score {
        overall,
        categories,
    }
}

fn to_score(x: f64) -> u8 {
    // Clamped to 0..=100 first, so the cast cannot truncate.
    x.clamp(0.0, 100.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{STRING_MAX_LENGTH, WRITE_UNPROTECTED};

    fn finding(rule: &'static crate::catalog::AuditRule, ptr: &str) -> Finding {
        Finding {
            rule,
            severity: rule.severity,
            pointer: ptr.into(),
            message: String::new(),
            location: None,
            suppressed: None,
        }
    }

    #[test]
    fn many_low_findings_weigh_less_than_one_high() {
        let settings = Settings::default();
        let clean = score(&[], &settings);
        assert_eq!(clean.overall, 100);
        assert!(clean.categories.iter().all(|c| c.score == 100));
        let strings: Vec<_> = (0..1000)
            .map(|i| finding(&STRING_MAX_LENGTH, &format!("/s/{i}")))
            .collect();
        let api4 = |s: &Score| {
            s.categories
                .iter()
                .find(|c| c.id == "API4:2023")
                .map(|c| c.score)
        };
        assert_eq!(api4(&score(&strings, &settings)), Some(97));
        let write = [finding(&WRITE_UNPROTECTED, "/p")];
        let api2 = score(&write, &settings);
        assert_eq!(
            api2.categories
                .iter()
                .find(|c| c.id == "API2:2023")
                .map(|c| c.score),
            Some(90)
        );
    }
}
