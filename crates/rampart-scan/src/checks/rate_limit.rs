//! Missing rate limits: a bounded burst on an object read, and on the login
//! of login identities (with a wrong password).
//!
//! The burst is `--burst` requests (default 25) at the scan's pace. A limit
//! shows as a 429 or as rate-limit headers (`RateLimit`,
//! `RateLimit-Policy`, `X-RateLimit-*`, `Retry-After`) on any answer.
//! Control: the first request of the burst, which shows the operation
//! works; the finding is the last one, answered the same with no sign of a
//! limit. A limit looser than the burst cannot be seen, and is not claimed:
//! the finding says how many requests went through.

use http::Method;
use serde_json::Value;

use super::Ctx;
use crate::client::{Req, Who};
use crate::exchange::Exchange;
use crate::finding::{Check, Evidence, Finding, Severity};

fn limited(e: &Exchange) -> bool {
    e.status == 429
        || e.response_headers.iter().any(|(n, _)| {
            let n = n.to_ascii_lowercase();
            n == "ratelimit"
                || n == "ratelimit-policy"
                || n.starts_with("x-ratelimit")
                || n == "retry-after"
        })
}

/// Send `req` up to `n` times; `Some((first, last))` when all were
/// answered 2xx with no sign of a limit.
async fn burst(ctx: &Ctx<'_>, req: &Req, n: usize, want_ok: bool) -> Option<(Exchange, Exchange)> {
    if ctx.client.remaining() < n {
        return None;
    }
    let mut first = None;
    let mut last = None;
    for _ in 0..n {
        let e = ctx.client.send_once(req).await?;
        if limited(&e) || e.ok() != want_ok || e.status == 0 {
            return None;
        }
        if first.is_none() {
            first = Some(e);
        } else {
            last = Some(e);
        }
    }
    Some((first?, last?))
}

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let n = ctx.burst;
    if n < 2 {
        return out;
    }
    if let Some(base) = ctx.baseline.iter().find(|b| {
        ctx.ops
            .get(b.op)
            .is_some_and(|o| o.path_params().next().is_some())
    }) && let Some(op) = ctx.ops.get(base.op)
        && let Some((first, last)) = burst(
            ctx,
            &Req::get(base.path.clone(), Who::Id(base.who)),
            n,
            true,
        )
        .await
    {
        out.push(Finding::new(
            Check::RateLimit,
            Severity::Medium,
            op.id.clone(),
            format!("no rate limit on {} within a burst of {n}", op.id),
            Evidence {
                probe: last,
                control: first,
                steps: Vec::new(),
                fields: vec![format!("{n} requests, no 429, no rate-limit headers")],
                why: format!(
                    "{n} identical reads as {} were all answered 2xx with no 429 and no RateLimit, X-RateLimit or Retry-After header; a scraper gets every object as fast as it asks",
                    ctx.name(base.who)
                ),
            },
        ));
    }
    // Logins, with a wrong password: credential stuffing.
    for (op_id, route) in ctx.client.login_routes() {
        let Some(id) = ctx.client.identities().iter().find(|i| {
            matches!(&i.credential, crate::identity::Credential::Login { operation, .. } if operation == op_id)
        }) else {
            continue;
        };
        let crate::identity::Credential::Login { body, .. } = &id.credential else {
            continue;
        };
        let mut wrong = body.clone();
        let mut changed = false;
        if let Value::Object(m) = &mut wrong {
            for (k, v) in m.iter_mut() {
                if k.to_ascii_lowercase().contains("pass")
                    || k.to_ascii_lowercase().contains("secret")
                {
                    *v = Value::String("rampart-scan-wrong-password".into());
                    changed = true;
                }
            }
        }
        if !changed || !ctx.client.writes_allowed() && route.method != Method::GET {
            // Logins are POSTs: a burst of them is only sent with --allow-writes.
            continue;
        }
        let req = Req {
            method: route.method.clone(),
            path: route.path.clone(),
            who: Who::Anonymous,
            headers: Vec::new(),
            body: Some(wrong),
        };
        if let Some((first, last)) = burst(ctx, &req, n, false).await
            && matches!(first.status, 400 | 401 | 403)
        {
            let status = first.status;
            out.push(Finding::new(
                Check::RateLimit,
                Severity::High,
                op_id.clone(),
                format!("no rate limit on failed logins to {op_id} within a burst of {n}"),
                Evidence {
                    probe: last,
                    control: first,
                    steps: Vec::new(),
                    fields: vec![format!("{n} failed logins, no 429, no rate-limit headers")],
                    why: format!(
                        "{n} logins with a wrong password were all refused the same way ({}) with no 429 and no rate-limit header: passwords can be guessed at full speed",
                        status
                    ),
                },
            ));
        }
    }
    out
}
