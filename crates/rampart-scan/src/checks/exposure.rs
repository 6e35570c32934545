//! Excessive data exposure: answers carrying fields the contract does not
//! declare, or secrets.
//!
//! Judged on the identities' own reads (baseline), so the finding is about
//! what the API returns, not about who may see it (that is BOLA's job). The
//! control is the same read repeated: the fields are there every time, not
//! a one-off. Undeclared fields are reported only where the schema is
//! closed (`additionalProperties: false`), so "undeclared" is the
//! contract's word, not a guess; secret-looking fields are reported in any
//! case, named by field and never by value.

use super::Ctx;
use crate::client::{Req, Who};
use crate::diff;
use crate::finding::{Check, Evidence, Finding, Severity};

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen_ops = Vec::new();
    for base in &ctx.baseline {
        if seen_ops.contains(&base.op) {
            continue;
        }
        let Some(op) = ctx.ops.get(base.op) else {
            continue;
        };
        let Some(json) = base.exchange.json.as_ref() else {
            continue;
        };
        let undeclared = op
            .response_shape
            .map(|s| diff::undeclared_fields(&ctx.contract.shapes, s, json))
            .unwrap_or_default();
        // A secret-looking field the contract declares is there by design
        // (an API-key endpoint returns a key): only undeclared ones count,
        // or any when the response has no schema to say.
        let declared_ok = |f: &String| op.response_shape.is_none() || undeclared.contains(f);
        let secrets: Vec<String> = diff::secret_fields(json)
            .into_iter()
            .filter(declared_ok)
            .collect();
        if undeclared.is_empty() && secrets.is_empty() {
            continue;
        }
        let Some(again) = ctx
            .client
            .send(&Req::get(base.path.clone(), Who::Id(base.who)))
            .await
        else {
            continue;
        };
        let Some(again_json) = again.json.as_ref() else {
            continue;
        };
        let undeclared_again = op
            .response_shape
            .map(|s| diff::undeclared_fields(&ctx.contract.shapes, s, again_json))
            .unwrap_or_default();
        let secrets_again = diff::secret_fields(again_json);
        let undeclared: Vec<String> = undeclared
            .into_iter()
            .filter(|f| undeclared_again.contains(f))
            .collect();
        let secrets: Vec<String> = secrets
            .into_iter()
            .filter(|f| secrets_again.contains(f))
            .collect();
        if undeclared.is_empty() && secrets.is_empty() {
            continue;
        }
        seen_ops.push(base.op);
        let personal = diff::personal_fields(&undeclared);
        let mut fields = undeclared.clone();
        fields.extend(secrets.iter().cloned());
        fields.sort();
        fields.dedup();
        let severity = if secrets.is_empty() {
            Severity::Medium
        } else {
            Severity::High
        };
        let mut why = String::new();
        if !undeclared.is_empty() {
            why.push_str(&format!(
                "the response schema of {} is closed and does not declare {}",
                op.id,
                undeclared.join(", ")
            ));
        }
        if !personal.is_empty() {
            why.push_str(&format!("; personal data: {}", personal.join(", ")));
        }
        if !secrets.is_empty() {
            if !why.is_empty() {
                why.push_str("; ");
            }
            why.push_str(&format!("secret-looking fields: {}", secrets.join(", ")));
        }
        why.push_str("; a second identical read (the control) returned them again");
        out.push(Finding::new(
            Check::DataExposure,
            severity,
            op.id.clone(),
            format!("{} returns fields the contract does not declare", op.id),
            Evidence {
                probe: base.exchange.clone(),
                control: again,
                steps: Vec::new(),
                fields,
                why,
            },
        ));
    }
    out
}
