//! Broken object level authorization: identity B asks for identity A's
//! objects.
//!
//! Control: A's own read of the same path (the data is A's, and the path
//! works). Who owns what comes from the contract, never from a guess:
//! `x-rampart-owner` / `x-rampart-private` on the response schema (then B
//! may see A's public objects, and a restricted view of private ones, but
//! not A's owner-only properties of a private one), or `x-rampart-resource`
//! naming the owner in the path (then B must not get A's data at all).
//! Operations with neither annotation are not judged: a public object read
//! by B would be a false positive.

use http::Method;
use rampart_contract::shape::ObjectFacts;
use serde_json::{Value, json};

use super::{Ctx, objects};
use crate::client::{Req, Who};
use crate::diff;
use crate::finding::{Check, Evidence, Finding, Severity};

/// B reads A's objects.
pub async fn read(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, op) in ctx.ops.iter().enumerate() {
        if !op.is_read() {
            continue;
        }
        for (a, b) in ctx.pairs() {
            let (Some(pa), Some(pb)) = (ctx.principal(a), ctx.principal(b)) else {
                continue;
            };
            if pa == pb {
                continue;
            }
            let Some(control) = ctx.baseline_of(i, a) else {
                continue;
            };
            let path = control.path.clone();
            let owned_schema = ctx
                .object_shape(op)
                .filter(|f| f.ownership.owner.is_some())
                .cloned();
            if owned_schema.is_none() && op.owner_param.is_none() {
                continue;
            }
            let Some(probe) = ctx.client.send(&Req::get(path, Who::Id(b))).await else {
                continue;
            };
            if !probe.ok() {
                continue;
            }
            let Some(body) = probe.json.clone() else {
                continue;
            };
            let (fields, why, severity) = if let Some(flat) = owned_schema {
                let owner_only: Vec<&String> = flat
                    .props
                    .iter()
                    .filter(|(_, p)| p.owner_only)
                    .map(|(k, _)| k)
                    .collect();
                let mut leaked = Vec::new();
                for obj in objects(&body) {
                    let facts = ObjectFacts::read(obj, &flat.ownership);
                    if facts.owner.as_deref() != Some(pa) || facts.private == Some(false) {
                        continue;
                    }
                    let Value::Object(map) = obj else { continue };
                    if owner_only.is_empty() {
                        leaked.extend(map.keys().cloned());
                    } else {
                        leaked.extend(
                            owner_only
                                .iter()
                                .filter(|k| map.contains_key(k.as_str()))
                                .map(|k| k.to_string()),
                        );
                    }
                }
                leaked.sort();
                leaked.dedup();
                if leaked.is_empty() {
                    continue;
                }
                let what = if owner_only.is_empty() {
                    "the whole object"
                } else {
                    "properties the contract shows to the owner only (x-rampart-visibility: owner)"
                };
                (
                    leaked,
                    format!(
                        "{nb} (principal {pb}) received {na}'s private object (owner {pa}) with {what}; {na}'s own read of the same path is the control, showing the data is {na}'s",
                        nb = ctx.name(b),
                        na = ctx.name(a),
                    ),
                    Severity::Critical,
                )
            } else {
                let Some(control_json) = control.exchange.json.as_ref() else {
                    continue;
                };
                if !diff::same_data(control_json, &body) {
                    continue;
                }
                (
                    diff::shared_fields(control_json, &body),
                    format!(
                        "the path names {na} (principal {pa}) as the owner (x-rampart-resource); {nb} (principal {pb}) got the same data {na} gets",
                        nb = ctx.name(b),
                        na = ctx.name(a),
                    ),
                    Severity::High,
                )
            };
            out.push(Finding::new(
                Check::BolaRead,
                severity,
                op.id.clone(),
                format!(
                    "{} reads {}'s data through {}",
                    ctx.name(b),
                    ctx.name(a),
                    op.id
                ),
                Evidence {
                    probe,
                    control: control.exchange.clone(),
                    steps: Vec::new(),
                    fields,
                    why,
                },
            ));
        }
    }
    out
}

/// B changes A's object. Only with `--allow-writes`; the change is a marker
/// in a writable string property, read back as A, then put back as A.
pub async fn write(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !ctx.client.writes_allowed() {
        return out;
    }
    for op in &ctx.ops {
        if !(op.method == Method::PATCH || op.method == Method::PUT)
            || op.owner_param.is_none()
            || !ctx.may_write(op)
        {
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
        for (a, b) in ctx.pairs() {
            if ctx.principal(a) == ctx.principal(b) {
                continue;
            }
            let Some(before) = ctx.baseline_of(read_index, a) else {
                continue;
            };
            let Some(Value::Object(before_obj)) = before.exchange.json.as_ref() else {
                continue;
            };
            // A writable string property with no role restriction: the
            // smallest change that proves the write.
            let mut names: Vec<&String> = flat
                .props
                .iter()
                .filter(|(k, p)| {
                    !p.read_only
                        && p.writable_by.is_none()
                        && matches!(before_obj.get(k.as_str()), Some(Value::String(_)))
                        && !k.contains("email")
                        && !k.contains("url")
                        && !k.contains("pass")
                        && !k.contains("secret")
                })
                .map(|(k, _)| k)
                .collect();
            names.sort();
            let Some(prop) = names.first().map(|s| s.to_string()) else {
                continue;
            };
            let old = before_obj.get(&prop).cloned().unwrap_or(Value::Null);
            let marker = format!("rampart-scan-{}", crate::nonce());
            let Some(path) = op.build(&before.values) else {
                continue;
            };
            let patch = Req {
                method: op.method.clone(),
                path: path.clone(),
                who: Who::Id(b),
                headers: Vec::new(),
                body: Some(json!({ prop.clone(): marker })),
            };
            let Some(probe) = ctx.client.send(&patch).await else {
                continue;
            };
            if !probe.ok() {
                continue;
            }
            let Some(readback) = ctx
                .client
                .send(&Req::get(before.path.clone(), Who::Id(a)))
                .await
            else {
                continue;
            };
            let stuck = readback
                .json
                .as_ref()
                .and_then(|j| j.get(&prop))
                .and_then(Value::as_str)
                == Some(marker.as_str());
            // Put the old value back, as A, whatever happened.
            let restore = Req {
                who: Who::Id(a),
                body: Some(json!({ prop.clone(): old })),
                ..patch
            };
            let _ = ctx.client.send(&restore).await;
            if !stuck {
                continue;
            }
            out.push(Finding::new(
                Check::BolaWrite,
                Severity::Critical,
                op.id.clone(),
                format!("{} changes {}'s object through {}", ctx.name(b), ctx.name(a), op.id),
                Evidence {
                    probe,
                    control: before.exchange.clone(),
                    steps: vec![readback],
                    fields: vec![prop.clone()],
                    why: format!(
                        "{nb} wrote a marker into `{prop}` of the object owned by {na} (x-rampart-resource); {na}'s read before is the control and {na}'s read after shows the marker stuck (the old value was restored afterwards)",
                        nb = ctx.name(b),
                        na = ctx.name(a),
                    ),
                },
            ));
        }
    }
    out
}
