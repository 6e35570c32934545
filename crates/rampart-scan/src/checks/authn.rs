//! Missing authentication: the same read with no credentials at all.
//!
//! Control: an identity's authenticated read of the same path. Only
//! operations whose contract requires credentials are judged (a public
//! operation answering anonymously is by design), and the anonymous answer
//! must carry the same data as the control, not merely a 2xx.

use super::Ctx;
use crate::client::{Req, Who};
use crate::diff;
use crate::finding::{Check, Evidence, Finding, Severity};

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, op) in ctx.ops.iter().enumerate() {
        if !op.is_read() || !op.secured {
            continue;
        }
        let Some(control) = ctx.baseline.iter().find(|b| b.op == i) else {
            continue;
        };
        let Some(probe) = ctx
            .client
            .send(&Req::get(control.path.clone(), Who::Anonymous))
            .await
        else {
            continue;
        };
        let (Some(a), Some(b)) = (control.exchange.json.as_ref(), probe.json.as_ref()) else {
            continue;
        };
        if !probe.ok() || !diff::same_data(a, b) {
            continue;
        }
        let fields = diff::shared_fields(a, b);
        out.push(Finding::new(
            Check::MissingAuthentication,
            Severity::Critical,
            op.id.clone(),
            format!("{} answers without credentials", op.id),
            Evidence {
                probe,
                control: control.exchange.clone(),
                steps: Vec::new(),
                fields,
                why: format!(
                    "the contract requires credentials for {}; a request with none at all got the same data as {}'s authenticated request",
                    op.id,
                    ctx.name(control.who)
                ),
            },
        ));
    }
    out
}
