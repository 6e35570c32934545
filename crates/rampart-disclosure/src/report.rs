//! What a report holds, and the strict validation of what strangers send.
//!
//! Reports come from anyone on the internet, so every field is bounded,
//! must be valid UTF-8 text, and may hold no control characters (beyond
//! line breaks and tabs in the description) and no bidirectional
//! overrides, which can make text display differently from what it is.
//! Values are stored exactly as validated, as plain text; nothing is ever
//! interpreted as markup (the status page escapes every value).
//!
//! Reporters cannot give a webhook of their own: Rampart would then make
//! requests to any address a stranger names (SSRF into the operator's
//! network). They follow their report on its status page (HTML or JSON),
//! and the operator's webhook receives every change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::patch::VirtualPatch;
use crate::state::{Evidence, State};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest affected endpoint, in characters.
pub const MAX_ENDPOINT_CHARS: usize = 500;
/// Longest contact, in characters (an email address's limit).
pub const MAX_CONTACT_CHARS: usize = 254;

/// A report as submitted (JSON, or the form's fields of the same names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// One line summing the issue up.
    pub title: String,
    /// What was found and how to reproduce it.
    pub description: String,
    /// The affected endpoint or operation, as the reporter names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// An email address for questions (optional: reports may be anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// Why a submitted report was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidReport {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl NewReport {
    /// Checks every field and returns the report normalized: surrounding
    /// whitespace trimmed, CRLF turned into LF, empty optional fields
    /// dropped. `max_description_bytes` bounds the description.
    pub fn validate(self, max_description_bytes: usize) -> Result<NewReport, InvalidReport> {
        let title = single_line("title", &self.title, MAX_TITLE_CHARS)?;
        if title.is_empty() {
            return Err(invalid("title", "is required"));
        }
        let description = self.description.replace("\r\n", "\n");
        let description = description.trim().to_owned();
        if description.is_empty() {
            return Err(invalid("description", "is required"));
        }
        if description.len() > max_description_bytes {
            return Err(invalid(
                "description",
                format!("is longer than {max_description_bytes} bytes"),
            ));
        }
        if let Some(c) = description
            .chars()
            .find(|c| (c.is_control() && *c != '\n' && *c != '\t') || is_bidi_control(*c))
        {
            return Err(invalid(
                "description",
                format!("holds the control character U+{:04X}", u32::from(c)),
            ));
        }
        let endpoint = optional("endpoint", self.endpoint, MAX_ENDPOINT_CHARS)?;
        let contact = optional("contact", self.contact, MAX_CONTACT_CHARS)?;
        if let Some(contact) = &contact
            && !is_email(contact)
        {
            return Err(invalid("contact", "must be an email address"));
        }
        Ok(NewReport {
            title,
            description,
            endpoint,
            contact,
        })
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidReport {
    InvalidReport {
        field,
        reason: reason.into(),
    }
}

fn single_line(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, InvalidReport> {
    let value = value.trim();
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || is_bidi_control(*c))
    {
        return Err(invalid(
            field,
            format!("holds the control character U+{:04X}", u32::from(c)),
        ));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("is longer than {max_chars} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn optional(
    field: &'static str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, InvalidReport> {
    match value {
        None => Ok(None),
        Some(v) => {
            let v = single_line(field, &v, max_chars)?;
            Ok((!v.is_empty()).then_some(v))
        }
    }
}

/// Bidirectional formatting characters (Trojan Source, CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// A plausible address: one `@`, non-empty local part, a dotted domain,
/// no spaces. Deliverability is not Rampart's to judge.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// How bad a vulnerability is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Little impact.
    Low,
    /// Limited impact.
    Medium,
    /// Significant data or access at risk.
    High,
    /// Broad compromise (e.g. every user's private data).
    Critical,
}

impl Severity {
    /// The name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("unknown severity `{s}`, expected low, medium, high or critical"))
    }
}

/// A tracked report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The report's id.
    pub id: i64,
    /// Where it is.
    pub state: State,
    /// What the reporter sent, validated.
    #[serde(flatten)]
    pub submitted: NewReport,
    /// When it was received (ms since the epoch).
    pub received_ms: i64,
    /// When it last changed (ms since the epoch).
    pub updated_ms: i64,
    /// Set at triage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Affected operationIds, set at triage.
    pub operations: Vec<String>,
    /// The scanner check that must pass, set at triage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Virtual patches applied, oldest first.
    pub patches: Vec<VirtualPatch>,
    /// The verification evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The report this duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<i64>,
}

/// One row of a report's append-only history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// The row's id (increasing).
    pub seq: i64,
    /// The report.
    pub report_id: i64,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Who: `reporter` for intake, else the operator's name.
    pub actor: String,
    /// The state before (none for the first entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// What the reporter is shown for this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The action's full data (JSON), for operators.
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(title: &str, description: &str) -> NewReport {
        NewReport {
            title: title.into(),
            description: description.into(),
            endpoint: None,
            contact: None,
        }
    }

    #[test]
    fn valid_reports_are_normalized() {
        let r = NewReport {
            contact: Some("  ".into()),
            ..report("  Leak ", "line 1\r\nline 2\t.\n")
        }
        .validate(1000)
        .unwrap();
        assert_eq!(r.title, "Leak");
        assert_eq!(r.description, "line 1\nline 2\t.");
        assert_eq!(r.contact, None);
    }

    #[test]
    fn hostile_fields_are_refused_with_their_name() {
        let cases = [
            (report("", "x"), "title"),
            (report("a\nb", "x"), "title"),
            (report("t", ""), "description"),
            (report("t", "a\u{0}b"), "description"),
            (report("t", "a\u{1b}[31mred"), "description"),
            (report("t", "a\u{202E}b"), "description"),
            (report(&"x".repeat(201), "d"), "title"),
            (report("t", &"x".repeat(1001)), "description"),
            (
                NewReport {
                    contact: Some("not-an-email".into()),
                    ..report("t", "d")
                },
                "contact",
            ),
        ];
        for (r, field) in cases {
            let err = r.clone().validate(1000).unwrap_err();
            assert_eq!(err.field, field, "{r:?}");
        }
    }
}
