//! Mass assignment: an identity writes its own object with properties it
//! must not set (readOnly, role-restricted, undeclared), then reads it back.
//!
//! Only with `--allow-writes`. Control: the read before the write, which
//! shows the old value differs from the one sent; the read-back after shows
//! whether it stuck. A 2xx on the write is not enough: servers that ignore
//! unknown keys are fine. Values changed are put back afterwards where the
//! API allows it (an undeclared key cannot be removed through the API).

use http::Method;
use serde_json::{Value, json};

use super::Ctx;
use crate::client::{Req, Who};
use crate::finding::{Check, Evidence, Finding, Severity};

/// The undeclared property sent.
pub const PROBE_PROPERTY: &str = "rampart_scan_probe";

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !ctx.client.writes_allowed() {
        return out;
    }
    for op in &ctx.ops {
        if !(op.method == Method::PATCH || op.method == Method::PUT) || !ctx.may_write(op) {
            continue;
        }
        let Some(body_shape) = op.body_shape else {
            continue;
        };
        let Some(read_index) = ctx
            .ops
            .iter()
            .position(|r| r.is_read() && r.route == op.route)
        else {
            continue;
        };
        let flat = ctx.contract.shapes.flat(body_shape);
        // One identity is enough: the flaw is the server's, not the caller's.
        let Some(before) = ctx.baseline.iter().find(|b| b.op == read_index) else {
            continue;
        };
        let Some(Value::Object(obj)) = before.exchange.json.as_ref() else {
            continue;
        };
        let roles = ctx.roles(before.who).await.unwrap_or_default();
        let ownership = ctx
            .object_shape(&ctx.ops[read_index])
            .map(|f| f.ownership.clone())
            .unwrap_or_default();
        let id_like = |k: &str| {
            k == "id"
                || [&ownership.owner, &ownership.id]
                    .iter()
                    .any(|p| p.as_deref() == Some(&format!("/{k}")))
        };
        let mut probes: Vec<(String, Value, Value, &str)> = Vec::new();
        let mut names: Vec<&String> = flat.props.keys().collect();
        names.sort();
        // A readOnly property that is not the object's identity.
        if let Some((k, old)) = names
            .iter()
            .filter(|k| flat.props.get(k.as_str()).is_some_and(|p| p.read_only) && !id_like(k))
            .find_map(|k| obj.get(k.as_str()).map(|v| (k.to_string(), v.clone())))
            && let Some(new) = changed(&old)
        {
            probes.push((k, new, old, "readOnly"));
        }
        // A property only other roles may set.
        if let Some((k, old, allowed)) = names.iter().find_map(|k| {
            let p = flat.props.get(k.as_str())?;
            let allowed = p.writable_by.as_ref()?;
            if allowed.iter().any(|r| roles.contains(r)) {
                return None;
            }
            Some((
                k.to_string(),
                obj.get(k.as_str()).cloned().unwrap_or(Value::Null),
                allowed.clone(),
            ))
        }) {
            // Prefer the privileged value itself (`role: admin`).
            let new = allowed
                .first()
                .map(|r| json!(r))
                .filter(|v| v != &old)
                .or_else(|| changed(&old));
            if let Some(new) = new {
                probes.push((k, new, old, "role-restricted"));
            }
        }
        if flat.closed && !obj.contains_key(PROBE_PROPERTY) {
            probes.push((
                PROBE_PROPERTY.to_string(),
                json!(crate::nonce()),
                Value::Null,
                "undeclared",
            ));
        }
        for (prop, new, old, kind) in probes {
            let write = Req {
                method: op.method.clone(),
                path: before.path.clone(),
                who: Who::Id(before.who),
                headers: Vec::new(),
                body: Some(json!({ prop.clone(): new.clone() })),
            };
            let Some(probe) = ctx.client.send(&write).await else {
                continue;
            };
            if !probe.ok() {
                continue;
            }
            let Some(readback) = ctx
                .client
                .send(&Req::get(before.path.clone(), Who::Id(before.who)))
                .await
            else {
                continue;
            };
            let stuck = readback.json.as_ref().and_then(|j| j.get(&prop)) == Some(&new);
            if stuck && !old.is_null() {
                let restore = Req {
                    body: Some(json!({ prop.clone(): old.clone() })),
                    ..write
                };
                let _ = ctx.client.send(&restore).await;
            }
            if !stuck {
                continue;
            }
            let severity = if kind == "undeclared" {
                Severity::Medium
            } else {
                Severity::High
            };
            out.push(Finding::new(
                Check::MassAssignment,
                severity,
                op.id.clone(),
                format!("{} accepts the {kind} property {prop}", op.id),
                Evidence {
                    probe,
                    control: before.exchange.clone(),
                    steps: vec![readback],
                    fields: vec![prop.clone()],
                    why: format!(
                        "`{prop}` is {kind} in the contract{}; {} set it to {new} (it was {old} in the read before, the control) and the read-back shows the new value",
                        if kind == "role-restricted" { format!(" (x-rampart-writable-by; the caller's roles are [{}])", roles.join(", ")) } else { String::new() },
                        ctx.name(before.who),
                    ),
                },
            ));
        }
    }
    out
}

/// A different value of the same JSON type.
fn changed(old: &Value) -> Option<Value> {
    match old {
        Value::Number(n) => Some(json!(n.as_i64().unwrap_or(0).saturating_add(1000))),
        Value::String(s) => Some(json!(format!("{s}-rampart-scan"))),
        Value::Bool(b) => Some(json!(!b)),
        _ => None,
    }
}
