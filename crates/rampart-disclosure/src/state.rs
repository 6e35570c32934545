//! A report's lifecycle and the transitions allowed between its states.
//!
//! The states follow what a report goes through, and the rules keep the
//! Peloton failure from being recordable as success: nothing is
//! `verified` without passing scan evidence, nothing is `disclosed`
//! before it is verified, and a closed report (disclosed, rejected,
//! duplicate) stays closed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DisclosureError;
use crate::patch::VirtualPatch;
use crate::report::{Report, Severity};

/// Where a report is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Filed, not yet looked at.
    Received,
    /// Assessed: severity and affected operations known.
    Triaged,
    /// A virtual patch is applied at the gateway.
    Mitigated,
    /// The upstream code is fixed.
    Fixed,
    /// A targeted scan confirmed the fix.
    Verified,
    /// Published. Closed.
    Disclosed,
    /// Not a vulnerability. Closed.
    Rejected,
    /// Same as another report. Closed.
    Duplicate,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 8] = [
        State::Received,
        State::Triaged,
        State::Mitigated,
        State::Fixed,
        State::Verified,
        State::Disclosed,
        State::Rejected,
        State::Duplicate,
    ];

    /// The state's name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Triaged => "triaged",
            State::Mitigated => "mitigated",
            State::Fixed => "fixed",
            State::Verified => "verified",
            State::Disclosed => "disclosed",
            State::Rejected => "rejected",
            State::Duplicate => "duplicate",
        }
    }

    /// Whether the report is closed (no transition leaves it, and it no
    /// longer counts against the open-report cap or the SLA).
    pub fn is_closed(self) -> bool {
        matches!(self, State::Disclosed | State::Rejected | State::Duplicate)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown state `{s}`"))
    }
}

/// The result of a targeted scan run, as `rampart scan` reports it: which
/// check ran against which operations, and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The check's id (e.g. `bola`, `excessive-data-exposure`).
    pub check: String,
    /// The operations the run targeted.
    pub operations: Vec<String>,
    /// Whether the check passed (the vulnerability is no longer found).
    pub passed: bool,
    /// The scan run's id, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Anything else the scanner recorded (requests, answers), kept as is.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// A change an operator makes to a report, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    /// Assess the report.
    Triage {
        /// How bad it is.
        severity: Severity,
        /// The affected operations (the contract's operationIds).
        operations: Vec<String>,
        /// The scanner check that should pass once fixed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<String>,
        /// A note shown to the reporter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Record a virtual patch applied at the gateway.
    Mitigate {
        /// The patch.
        patch: VirtualPatch,
    },
    /// Record that the upstream is fixed.
    Fix {
        /// A note shown to the reporter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Record scan evidence that the fix holds.
    Verify {
        /// The scan's result.
        evidence: Evidence,
    },
    /// Publish.
    Disclose {
        /// A note shown to the reporter (e.g. the advisory's URL).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Not a vulnerability.
    Reject {
        /// Why, shown to the reporter.
        reason: String,
    },
    /// Same as another report.
    Duplicate {
        /// The other report's id.
        of: i64,
    },
}

impl Action {
    /// The state the action leads to.
    pub fn target(&self) -> State {
        match self {
            Action::Triage { .. } => State::Triaged,
            Action::Mitigate { .. } => State::Mitigated,
            Action::Fix { .. } => State::Fixed,
            Action::Verify { .. } => State::Verified,
            Action::Disclose { .. } => State::Disclosed,
            Action::Reject { .. } => State::Rejected,
            Action::Duplicate { .. } => State::Duplicate,
        }
    }

    /// The states the action is allowed from.
    pub fn allowed_from(&self) -> &'static [State] {
        match self {
            Action::Triage { .. } => &[State::Received, State::Triaged],
            // A second patch (e.g. a tighter one) may follow the first.
            Action::Mitigate { .. } => &[State::Triaged, State::Mitigated],
            Action::Fix { .. } => &[State::Triaged, State::Mitigated],
            // Verification may be re-run after a failed attempt left it fixed.
            Action::Verify { .. } => &[State::Fixed],
            Action::Disclose { .. } => &[State::Verified],
            Action::Reject { .. } | Action::Duplicate { .. } => &[State::Received, State::Triaged],
        }
    }

    /// The note the reporter sees on the status page for this step.
    pub fn public_note(&self) -> Option<String> {
        match self {
            Action::Triage { severity, note, .. } => Some(match note {
                Some(n) => format!("severity {severity}: {n}"),
                None => format!("severity {severity}"),
            }),
            Action::Mitigate { patch } => {
                Some(format!("virtual patch applied: {}", patch.description))
            }
            Action::Fix { note } | Action::Disclose { note } => note.clone(),
            Action::Verify { evidence } => Some(format!(
                "scan check `{}` passed on {}",
                evidence.check,
                evidence.operations.join(", ")
            )),
            Action::Reject { reason } => Some(reason.clone()),
            Action::Duplicate { of } => Some(format!("duplicate of report #{of}")),
        }
    }
}

/// The report after `action`, or why the action is refused: it must be
/// allowed from the report's state, and `verify` needs evidence that
/// passed, for the triaged check, on every affected operation.
pub fn next(report: &Report, action: &Action, now_ms: i64) -> Result<Report, DisclosureError> {
    if !action.allowed_from().contains(&report.state) {
        return Err(DisclosureError::IllegalTransition {
            id: report.id,
            from: report.state,
            action: action.target().as_str(),
            allowed: action
                .allowed_from()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
        });
    }
    let mut after = report.clone();
    after.state = action.target();
    after.updated_ms = now_ms;
    match action {
        Action::Triage {
            severity,
            operations,
            check,
            ..
        } => {
            if operations.is_empty() {
                return Err(DisclosureError::Invalid(
                    "triage needs at least one affected operation".to_owned(),
                ));
            }
            after.severity = Some(*severity);
            after.operations = operations.clone();
            after.check = check.clone();
        }
        Action::Mitigate { patch } => after.patches.push(patch.clone()),
        Action::Verify { evidence } => {
            check_evidence(report, evidence)?;
            after.evidence = Some(evidence.clone());
        }
        Action::Duplicate { of } => after.duplicate_of = Some(*of),
        Action::Fix { .. } | Action::Disclose { .. } | Action::Reject { .. } => {}
    }
    Ok(after)
}

fn check_evidence(report: &Report, evidence: &Evidence) -> Result<(), DisclosureError> {
    let refuse = |why: String| {
        Err(DisclosureError::Invalid(format!(
            "report #{} cannot be verified: {why}",
            report.id
        )))
    };
    if !evidence.passed {
        return refuse(format!("the scan check `{}` did not pass", evidence.check));
    }
    if let Some(check) = &report.check
        && *check != evidence.check
    {
        return refuse(format!(
            "the evidence is for check `{}`, the report was triaged to `{check}`",
            evidence.check
        ));
    }
    let missing: Vec<&str> = report
        .operations
        .iter()
        .filter(|op| !evidence.operations.contains(op))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return refuse(format!("the scan did not target {}", missing.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_states_allow_nothing() {
        let actions = [
            Action::Fix { note: None },
            Action::Disclose { note: None },
            Action::Reject { reason: "x".into() },
            Action::Duplicate { of: 1 },
        ];
        for closed in [State::Disclosed, State::Rejected, State::Duplicate] {
            assert!(closed.is_closed());
            for a in &actions {
                assert!(!a.allowed_from().contains(&closed), "{a:?} from {closed}");
            }
        }
    }

    #[test]
    fn states_round_trip_through_text() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>(), Ok(s));
        }
        assert!("open".parse::<State>().is_err());
    }
}
