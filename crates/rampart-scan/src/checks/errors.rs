//! Verbose errors: a value of the wrong type in a typed parameter, and the
//! answer spells out a stack trace, SQL or internal hosts.
//!
//! Control: the valid read of the same operation (baseline), which must be
//! free of those signatures; so the leak is the error path's, and the
//! harmless probe value (letters only) contains none of them to echo.

use std::collections::BTreeMap;

use super::Ctx;
use super::injection::HARMLESS;
use crate::client::{Req, Who};
use crate::finding::{Check, Evidence, Finding, Severity};
use crate::signatures;

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut done_ops = Vec::new();
    for base in &ctx.baseline {
        if done_ops.contains(&base.op) || !signatures::find(&base.exchange.response_body).is_empty()
        {
            continue;
        }
        let Some(op) = ctx.ops.get(base.op) else {
            continue;
        };
        for param in op.params.iter().filter(|p| p.typed()) {
            let mut values: BTreeMap<String, String> = base.values.clone();
            values.insert(param.name.clone(), HARMLESS.to_string());
            let Some(path) = op.build(&values) else {
                continue;
            };
            let Some(probe) = ctx.client.send(&Req::get(path, Who::Id(base.who))).await else {
                continue;
            };
            let found = signatures::find(&probe.response_body);
            if found.is_empty() {
                continue;
            }
            done_ops.push(base.op);
            let fields = found
                .iter()
                .map(|(k, s)| format!("{}: {s}", k.as_str()))
                .collect();
            out.push(Finding::new(
                Check::VerboseError,
                Severity::Medium,
                op.id.clone(),
                format!("{} leaks internals in its error for a bad {}", op.id, param.name),
                Evidence {
                    probe,
                    control: base.exchange.clone(),
                    steps: Vec::new(),
                    fields,
                    why: format!(
                        "a non-{} value ({HARMLESS:?}) in {} drew an answer with a stack trace, SQL or internal host names; the valid read (the control) has none, and the value sent contains none to echo",
                        param.ty(),
                        param.name
                    ),
                },
            ));
            break;
        }
    }
    out
}
