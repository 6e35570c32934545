//! Method override: a `POST` carrying `X-HTTP-Method-Override` is acted on
//! as the method it names, so a filter that allows `POST` lets `DELETE`
//! through.
//!
//! Only with `--allow-writes` (a `POST` is sent), and the method tunnelled
//! is `GET`, so nothing changes. Control: the same `POST` without the
//! header, which must not answer the data; the probe must answer exactly
//! what the identity's `GET` answers.

use http::Method;

use super::Ctx;
use crate::client::{Req, Who};
use crate::diff;
use crate::finding::{Check, Evidence, Finding, Severity};

const HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !ctx.client.writes_allowed() {
        return out;
    }
    // Object reads whose path has no POST declared: a POST there means nothing by contract.
    let Some(base) = ctx.baseline.iter().find(|b| {
        ctx.ops.get(b.op).is_some_and(|op| {
            op.path_params().next().is_some()
                && !ctx
                    .ops
                    .iter()
                    .any(|o| o.route == op.route && o.method == Method::POST)
        })
    }) else {
        return out;
    };
    let Some(op) = ctx.ops.get(base.op).filter(|op| ctx.may_write(op)) else {
        return out;
    };
    // A fresh GET: earlier write checks may have changed the object since the baseline.
    let Some(get) = ctx
        .client
        .send(&Req::get(base.path.clone(), Who::Id(base.who)))
        .await
    else {
        return out;
    };
    let Some(get_json) = get.json.as_ref().filter(|_| get.ok()) else {
        return out;
    };
    let post = Req {
        method: Method::POST,
        path: base.path.clone(),
        who: Who::Id(base.who),
        headers: Vec::new(),
        body: None,
    };
    let Some(control) = ctx.client.send(&post).await else {
        return out;
    };
    if control.ok()
        && control
            .json
            .as_ref()
            .is_some_and(|j| diff::same_data(j, get_json))
    {
        return out;
    }
    let control_status = control.status;
    for header in HEADERS {
        let Some(probe) = ctx.client.send(&post.clone().header(header, "GET")).await else {
            continue;
        };
        if !probe.ok()
            || !probe
                .json
                .as_ref()
                .is_some_and(|j| diff::same_data(j, get_json))
        {
            continue;
        }
        out.push(Finding::new(
            Check::MethodOverride,
            Severity::High,
            op.id.clone(),
            format!("{header} changes the method on {}", op.id),
            Evidence {
                probe,
                control: control.clone(),
                steps: vec![get.clone()],
                fields: vec![header.to_string()],
                why: format!(
                    "a plain POST (the control) answered {} but the same POST with {header}: GET answered the GET's data, so the header picks the method the server acts on (DELETE too), past any filter on methods",
                    control_status
                ),
            },
        ));
        break;
    }
    out
}
