//! Shadow and zombie endpoints: common undeclared paths (debug, admin,
//! actuator...) and older versions of declared routes.
//!
//! Control: a path that cannot exist (a random segment under the same
//! base). If it answers 2xx the server answers everything (a catch-all or
//! a single-page app) and nothing is judged. A probe is a finding when it
//! answers 2xx with a JSON body unlike the control's, on a route the
//! contract does not declare.

use http::Method;
use rampart_contract::Matched;

use super::Ctx;
use crate::client::{Req, Who};
use crate::diff;
use crate::finding::{Check, Evidence, Finding, Severity};

/// Undeclared paths worth knocking on, relative to the base path and to `/`.
const COMMON: [&str; 14] = [
    "internal/debug",
    "debug",
    "debug/vars",
    "debug/pprof/",
    "internal",
    "admin",
    "actuator",
    "actuator/env",
    "actuator/heapdump",
    ".env",
    "config",
    "server-status",
    "_debug",
    "console",
];

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(who) = (0..ctx.client.identities().len()).next() else {
        return out;
    };
    let base = ctx.contract.base_path.trim_end_matches('/').to_string();
    let control_path = format!("{base}/rampart-scan-{}", crate::nonce());
    let Some(control) = ctx.client.send(&Req::get(control_path, Who::Id(who))).await else {
        return out;
    };
    if control.ok() {
        return out;
    }
    let mut candidates: Vec<(String, &'static str)> = Vec::new();
    for p in COMMON {
        candidates.push((
            format!("{base}/{p}"),
            "a common debug or administration path",
        ));
        if !base.is_empty() {
            candidates.push((format!("/{p}"), "a common debug or administration path"));
        }
    }
    for (path, why) in old_versions(ctx) {
        candidates.push((path, why));
    }
    candidates.sort();
    candidates.dedup_by(|a, b| a.0 == b.0);
    for (path, what) in candidates {
        let route_path = path.split('?').next().unwrap_or_default();
        if !matches!(
            ctx.contract.route(&Method::GET, route_path),
            Matched::NotFound
        ) {
            continue;
        }
        let Some(probe) = ctx.client.send(&Req::get(path.clone(), Who::Id(who))).await else {
            continue;
        };
        let Some(json) = probe.json.as_ref() else {
            continue;
        };
        if !probe.ok() || control.json.as_ref() == Some(json) {
            continue;
        }
        let secrets = diff::secret_fields(json);
        let mut fields = secrets.clone();
        if fields.is_empty() {
            fields = match json {
                serde_json::Value::Object(o) => o.keys().cloned().collect(),
                serde_json::Value::Array(a) => vec![format!("[{} items]", a.len())],
                _ => Vec::new(),
            };
        }
        let severity = if secrets.is_empty() {
            Severity::High
        } else {
            Severity::Critical
        };
        out.push(Finding::new(
            Check::ShadowEndpoint,
            severity,
            path.clone(),
            format!("undeclared endpoint {path} answers"),
            Evidence {
                probe,
                control: control.clone(),
                steps: Vec::new(),
                fields,
                why: format!(
                    "{path} is {what} and the contract declares no such route; it answered 2xx with data while a random path under the same base (the control) answered {}{}",
                    control.status,
                    if secrets.is_empty() { "" } else { "; the answer holds secret-looking fields" }
                ),
            },
        ));
    }
    out
}

/// Older versions of declared GET routes, filled with baseline values:
/// `/api/v2/x` -> `/api/v1/x`; unversioned `/api/x` -> `/api/v1/x`.
fn old_versions(ctx: &Ctx<'_>) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut done = Vec::new();
    for b in &ctx.baseline {
        // One probe per operation is enough to show the old version answers.
        if done.contains(&b.op) {
            continue;
        }
        done.push(b.op);
        let Some(op) = ctx.ops.get(b.op) else {
            continue;
        };
        let path = b.path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let version_at = segments.iter().position(|s| version(s).is_some());
        match version_at {
            Some(i) => {
                let n = segments.get(i).and_then(|s| version(s)).unwrap_or(0);
                for older in 0..n {
                    let mut s = segments.clone();
                    let v = format!("v{older}");
                    if let Some(slot) = s.get_mut(i) {
                        *slot = &v;
                    }
                    out.push((s.join("/"), "an older version of a declared route"));
                }
            }
            None => {
                let base = ctx.contract.base_path.trim_end_matches('/');
                let rest = path.strip_prefix(base).unwrap_or(path);
                if op.route.starts_with(base) {
                    out.push((
                        format!("{base}/v1{rest}"),
                        "an older version of a declared route",
                    ));
                }
            }
        }
    }
    out
}

/// `v2` -> 2.
fn version(segment: &str) -> Option<u32> {
    segment.strip_prefix('v')?.parse().ok()
}
