//! Verification evidence: what a disclosure report needs before it may be
//! marked verified (see `rampart disclosures verify`). A targeted scan run
//! passes for a check on some operations when it tested something (at
//! least one identity read its own object, so the run was not blind) and
//! found nothing of that check on any of them.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{Check, Report};

/// The evidence, in the shape the disclosure tracker stores.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerificationEvidence {
    /// The check's id (e.g. `bola-read`).
    pub check: String,
    /// The operations it covers.
    pub operations: Vec<String>,
    /// Whether the check passed on every one of them.
    pub passed: bool,
    /// This run's id.
    pub run_id: Option<String>,
    /// What the scan saw: requests, baseline, and the findings that failed it.
    pub details: Value,
}

/// The check's id as written in reports and evidence.
pub fn check_id(check: Check) -> String {
    serde_json::to_value(check)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Judge `report` for `check` on `operations`.
pub fn evidence(report: &Report, check: Check, operations: &[String]) -> VerificationEvidence {
    let failing: Vec<&crate::Finding> = report
        .findings
        .iter()
        .filter(|f| f.check == check && operations.contains(&f.target))
        .collect();
    let ran = report.checks_run.contains(&check);
    let tested = report.baseline_reads > 0;
    VerificationEvidence {
        check: check_id(check),
        operations: operations.to_vec(),
        passed: ran && tested && failing.is_empty() && !report.budget_spent,
        run_id: Some(crate::nonce()),
        details: json!({
            "target": report.target,
            "requests": report.requests,
            "baseline_reads": report.baseline_reads,
            "check_ran": ran,
            "budget_spent": report.budget_spent,
            "elapsed_ms": report.elapsed_ms,
            "failing": failing,
        }),
    }
}
