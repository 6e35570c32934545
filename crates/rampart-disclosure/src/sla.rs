//! The SLA clock: how long a report has waited against the deadline.
//!
//! The clock runs from receipt until the report is closed; the deadline
//! is receipt plus `sla_days` (90 by default, the industry's usual
//! disclosure window). Peloton's report sat 90 days with the researcher
//! told nothing; overdue reports are flagged so that cannot go unseen.

use serde::Serialize;

use crate::report::Report;
use crate::time::DAY_MS;

/// Where a report stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaStatus {
    /// Whole days since receipt.
    pub days_open: i64,
    /// The deadline (ms since the epoch).
    pub deadline_ms: i64,
    /// Whole days left before the deadline (negative once past).
    pub days_left: i64,
    /// Past the deadline and still open.
    pub overdue: bool,
}

impl SlaStatus {
    /// The report's status at `now_ms` with an `sla_days` deadline. A
    /// closed report's clock stopped at its last change.
    pub fn at(report: &Report, now_ms: i64, sla_days: u32) -> SlaStatus {
        let stop = if report.state.is_closed() {
            report.updated_ms
        } else {
            now_ms
        };
        let deadline_ms = report.received_ms + i64::from(sla_days) * DAY_MS;
        SlaStatus {
            days_open: (stop - report.received_ms).max(0) / DAY_MS,
            deadline_ms,
            days_left: (deadline_ms - stop).div_euclid(DAY_MS),
            overdue: !report.state.is_closed() && now_ms > deadline_ms,
        }
    }
}
