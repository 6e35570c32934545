//! Injection in parameters, judged by database error signatures and by
//! timing, never by a 500 alone.
//!
//! Control for signatures: the same parameter with a harmless invalid
//! value (letters only). If that already draws an SQL error, the server
//! leaks SQL for any bad input, which is a verbose error, not proof that
//! quotes reach a query: nothing is reported here. Control for timing: the
//! harmless value's time; a sleep payload must be slower by a margin twice
//! in a row, each time against a fresh control.

use std::collections::BTreeMap;
use std::time::Duration;

use rampart_contract::ParamLocation;

use super::Ctx;
use crate::client::{Req, Who};
use crate::exchange::Exchange;
use crate::finding::{Check, Evidence, Finding, Severity};
use crate::signatures::{self, Kind};

/// Quote-breaking payloads.
const ERROR_PAYLOADS: [&str; 4] = ["'", "1'", "' OR '1'='1", "1\""];

/// Sleep payloads for the common databases (3 seconds).
const SLEEP_PAYLOADS: [&str; 3] = [
    "1' AND pg_sleep(3)--",
    "1 AND SLEEP(3)",
    "1';WAITFOR DELAY '0:0:3'--",
];

/// How much slower a sleep payload must be than its control.
const SLEEP_MARGIN: Duration = Duration::from_millis(2500);

/// Most parameters given timing probes in one scan (each costs seconds).
const MAX_TIMED_PARAMS: usize = 8;

/// The harmless invalid value controls use.
pub const HARMLESS: &str = "rampartscan";

fn sql(e: &Exchange) -> bool {
    signatures::find(&e.response_body)
        .iter()
        .any(|(k, _)| *k == Kind::Sql)
}

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut timed = 0;
    let mut done_ops = Vec::new();
    for base in &ctx.baseline {
        if done_ops.contains(&base.op) {
            continue;
        }
        done_ops.push(base.op);
        let Some(op) = ctx.ops.get(base.op) else {
            continue;
        };
        for param in op
            .params
            .iter()
            .filter(|p| matches!(p.location, ParamLocation::Path | ParamLocation::Query))
        {
            let with = |v: &str| {
                let mut values: BTreeMap<String, String> = base.values.clone();
                values.insert(param.name.clone(), v.to_string());
                op.build(&values)
            };
            let Some(control_path) = with(HARMLESS) else {
                continue;
            };
            let control_req = Req::get(control_path, Who::Id(base.who));
            let Some(control) = ctx.client.send(&control_req).await else {
                continue;
            };
            if sql(&control) {
                continue;
            }
            let mut found = false;
            for payload in ERROR_PAYLOADS {
                let Some(path) = with(payload) else { continue };
                let Some(probe) = ctx.client.send(&Req::get(path, Who::Id(base.who))).await else {
                    continue;
                };
                if sql(&probe) {
                    let matched: Vec<String> = signatures::find(&probe.response_body)
                        .into_iter()
                        .map(|(k, s)| format!("{}: {s}", k.as_str()))
                        .collect();
                    out.push(Finding::new(
                        Check::Injection,
                        Severity::Critical,
                        op.id.clone(),
                        format!("SQL injection in {} of {}", param.name, op.id),
                        Evidence {
                            probe,
                            control: control.clone(),
                            steps: Vec::new(),
                            fields: matched,
                            why: format!(
                                "the payload {payload:?} in {} drew a database error; the harmless invalid value {HARMLESS:?} (the control) did not, so the quote itself reaches a query",
                                param.name
                            ),
                        },
                    ));
                    found = true;
                    break;
                }
            }
            if found || timed >= MAX_TIMED_PARAMS || ctx.client.remaining() < 20 {
                continue;
            }
            timed += 1;
            if let Some(f) = timing(ctx, op.id.as_str(), &param.name, &control_req, &with).await {
                out.push(f);
            }
        }
    }
    out
}

async fn timing(
    ctx: &Ctx<'_>,
    op: &str,
    param: &str,
    control_req: &Req,
    with: &impl Fn(&str) -> Option<String>,
) -> Option<Finding> {
    for payload in SLEEP_PAYLOADS {
        let probe_req = Req::get(with(payload)?, control_req.who.clone());
        let mut confirmed = Vec::new();
        for _ in 0..2 {
            let control = ctx.client.send(control_req).await?;
            let probe = ctx.client.send(&probe_req).await?;
            if probe.elapsed_ms < control.elapsed_ms + SLEEP_MARGIN.as_millis() as u64 {
                break;
            }
            confirmed.push((control, probe));
        }
        if confirmed.len() == 2 {
            let (control, probe) = confirmed.pop()?;
            return Some(Finding::new(
                Check::Injection,
                Severity::Critical,
                op,
                format!("time-based SQL injection in {param} of {op}"),
                Evidence {
                    why: format!(
                        "the sleep payload {payload:?} took {} ms against {} ms for the harmless value (the control), twice in a row",
                        probe.elapsed_ms, control.elapsed_ms
                    ),
                    probe,
                    control,
                    steps: Vec::new(),
                    fields: vec![param.to_string()],
                },
            ));
        }
    }
    None
}
