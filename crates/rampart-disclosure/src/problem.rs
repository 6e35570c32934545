//! RFC 9457 problem details for the intake's errors.
//!
//! Problems carry a fixed title per status and a detail that names the
//! field at fault; none quotes the submitted value back, so an error
//! page can never echo a payload.

use http::StatusCode;
use serde::Serialize;

/// The media type of a problem.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// The problem document for `status` with `detail`.
pub(crate) fn body(status: StatusCode, slug: &str, detail: &str) -> Vec<u8> {
    let kind = format!("https://rampart.dev/problems/disclosure/{slug}");
    let problem = Problem {
        kind: &kind,
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
    };
    serde_json::to_vec(&problem).unwrap_or_default()
}
