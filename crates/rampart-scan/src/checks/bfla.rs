//! Broken function level authorization: an administrator's operation
//! called by a member.
//!
//! An operation is an administrator's when its path, tag or id says so
//! (`/admin/...`, tag `admin`). The benign explanation, that the caller is
//! an administrator, is ruled out by the caller's own token: only
//! identities whose JWT claims roles, none of them privileged, are used.
//! The control is the same member's read of an ordinary operation, showing
//! the token is a working member's token; the probe must return data.

use super::Ctx;
use crate::client::{Req, Who};
use crate::finding::{Check, Evidence, Finding, Severity};

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let privileged = ctx.privileged_roles();
    for who in 0..ctx.client.identities().len() {
        let Some(roles) = ctx.roles(who).await else {
            continue;
        };
        if roles.is_empty() || roles.iter().any(|r| privileged.contains(r)) {
            continue;
        }
        let Some(control) = ctx
            .baseline
            .iter()
            .find(|b| b.who == who && ctx.ops.get(b.op).is_some_and(|o| !o.looks_admin()))
        else {
            continue;
        };
        for (i, op) in ctx.ops.iter().enumerate() {
            if !op.is_read() || !op.looks_admin() {
                continue;
            }
            // Its baseline read, if any, is this member's call already.
            let probe = match ctx.baseline_of(i, who) {
                Some(b) => Some(b.exchange.clone()),
                None => match ctx.own_values(op, who).and_then(|v| op.build(&v)) {
                    Some(path) => ctx.client.send(&Req::get(path, Who::Id(who))).await,
                    None => None,
                },
            };
            let Some(probe) = probe else { continue };
            let has_data = match &probe.json {
                Some(serde_json::Value::Array(a)) => !a.is_empty(),
                Some(serde_json::Value::Object(o)) => !o.is_empty(),
                _ => false,
            };
            if !probe.ok() || !has_data {
                continue;
            }
            let fields = match &probe.json {
                Some(serde_json::Value::Array(a)) => vec![format!("[{} items]", a.len())],
                Some(serde_json::Value::Object(o)) => o.keys().cloned().collect(),
                _ => Vec::new(),
            };
            out.push(Finding::new(
                Check::Bfla,
                Severity::High,
                op.id.clone(),
                format!("{} (roles {}) calls the administrator's {}", ctx.name(who), roles.join(","), op.id),
                Evidence {
                    probe,
                    control: control.exchange.clone(),
                    steps: Vec::new(),
                    fields,
                    why: format!(
                        "{} is an administrator's operation (path, tag or id); {}'s token claims roles [{}], none privileged ({}), and its ordinary read (the control) works, yet the administrator's operation returned data",
                        op.id,
                        ctx.name(who),
                        roles.join(", "),
                        privileged.join(", ")
                    ),
                },
            ));
        }
    }
    out
}
