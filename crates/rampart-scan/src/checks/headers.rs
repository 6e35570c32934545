//! CORS and header misconfiguration.
//!
//! CORS: a read sent with a foreign `Origin`; the finding is the origin
//! reflected in `Access-Control-Allow-Origin` together with
//! `Access-Control-Allow-Credentials: true` (any site may then read
//! answers with the victim's cookies). Control: the same read without an
//! `Origin`, which shows the header is a reflection and not a fixed,
//! deliberate allow-list entry. Version disclosure: `X-Powered-By` and
//! `X-AspNet-Version` naming a framework version, seen on two reads.

use super::Ctx;
use crate::client::Req;
use crate::finding::{Check, Evidence, Finding, Severity};

/// The foreign origin sent.
const EVIL_ORIGIN: &str = "https://rampart-scan.invalid";

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(base) = ctx.baseline.first() else {
        return out;
    };
    let Some(op) = ctx.ops.get(base.op) else {
        return out;
    };
    let req =
        Req::get(base.path.clone(), crate::client::Who::Id(base.who)).header("origin", EVIL_ORIGIN);
    if let Some(probe) = ctx.client.send(&req).await {
        let reflected = probe.header("access-control-allow-origin") == Some(EVIL_ORIGIN);
        let credentials = probe
            .header("access-control-allow-credentials")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if reflected
            && credentials
            && base.exchange.header("access-control-allow-origin") != Some(EVIL_ORIGIN)
        {
            out.push(Finding::new(
                Check::Headers,
                Severity::High,
                op.id.clone(),
                "CORS trusts any origin, with credentials",
                Evidence {
                    probe,
                    control: base.exchange.clone(),
                    steps: Vec::new(),
                    fields: vec![
                        "access-control-allow-origin".into(),
                        "access-control-allow-credentials".into(),
                    ],
                    why: format!(
                        "the foreign origin {EVIL_ORIGIN} was echoed in Access-Control-Allow-Origin with Access-Control-Allow-Credentials: true; without an Origin (the control) it was not, so any origin is reflected"
                    ),
                },
            ));
        }
    }
    for name in ["x-powered-by", "x-aspnet-version"] {
        let Some(value) = base.exchange.header(name) else {
            continue;
        };
        if !value.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let Some(again) = ctx
            .client
            .send(&Req::get(
                base.path.clone(),
                crate::client::Who::Id(base.who),
            ))
            .await
        else {
            continue;
        };
        if again.header(name) != Some(value) {
            continue;
        }
        out.push(Finding::new(
            Check::Headers,
            Severity::Low,
            op.id.clone(),
            format!("{name} discloses a framework version"),
            Evidence {
                probe: base.exchange.clone(),
                control: again,
                steps: Vec::new(),
                fields: vec![format!("{name}: {value}")],
                why: format!("{name} names a framework and its version on every answer (seen twice), which tells an attacker which known flaws to try"),
            },
        ));
    }
    out
}
