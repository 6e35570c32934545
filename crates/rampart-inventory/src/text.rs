//! The inventory as text for a terminal: one section per API, columns
//! aligned, everything in the order the model keeps (stable across runs).

use std::fmt::Write as _;

use crate::model::{AuthSeen, Inventory, SensitiveField};

/// The text report.
pub fn render(inv: &Inventory) -> String {
    let mut out = String::new();
    let window = match &inv.since {
        Some(since) => format!("{since} .. {}", inv.until),
        None => format!(".. {}", inv.until),
    };
    let _ = writeln!(out, "API inventory, {window}: {} exchanges", inv.events);
    if inv.unclustered > 0 {
        let _ = writeln!(
            out,
            "  ({} unrouted requests not clustered: too many distinct paths)",
            inv.unclustered
        );
    }
    for api in &inv.apis {
        let _ = writeln!(
            out,
            "\n== {} ({} {}, base path {}) ==",
            api.name,
            api.title,
            api.version,
            if api.base_path.is_empty() {
                "/"
            } else {
                &api.base_path
            }
        );
        let _ = writeln!(out, "\nDeclared operations");
        let width = api
            .operations
            .iter()
            .map(|o| o.method.len() + 1 + o.route.len())
            .max()
            .unwrap_or(0)
            .max(10);
        for o in &api.operations {
            let endpoint = format!("{} {}", o.method, o.route);
            let _ = writeln!(
                out,
                "  {endpoint:<width$}  {:<22} {:>7} calls  errors {:>5.1}%  last {}  auth {}{}",
                o.operation,
                o.calls,
                o.error_rate * 100.0,
                o.last_seen.as_deref().unwrap_or("never"),
                auth(&o.auth),
                if o.deprecated { "  [deprecated]" } else { "" },
            );
            if !o.decisions.is_empty() {
                let d: Vec<String> = o
                    .decisions
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                let _ = writeln!(out, "  {:<width$}  decisions: {}", "", d.join(", "));
            }
        }
        let _ = writeln!(
            out,
            "\nShadow endpoints (traffic to routes the contract does not declare)"
        );
        if api.shadow.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for s in &api.shadow {
            let statuses: Vec<String> =
                s.statuses.iter().map(|(k, n)| format!("{k}x{n}")).collect();
            let _ = writeln!(
                out,
                "  {} {}  {} calls  last {}  status {}{}{}",
                s.method,
                s.template,
                s.calls,
                s.last_seen,
                statuses.join(" "),
                s.version_of
                    .as_ref()
                    .map(|v| format!("  (older version of {v}?)"))
                    .unwrap_or_default(),
                if s.undeclared_method {
                    "  (undeclared method)"
                } else {
                    ""
                },
            );
            for e in &s.examples {
                let _ = writeln!(
                    out,
                    "      e.g. {} {} -> {}  ({})",
                    e.method, e.path, e.status, e.ts
                );
            }
        }
        let _ = writeln!(out, "\nZombie candidates");
        let z = &api.zombies;
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        let _ = writeln!(out, "  never called:            {}", list(&z.never_called));
        let _ = writeln!(
            out,
            "  deprecated, still called: {}",
            list(&z.deprecated_in_use)
        );
        let _ = writeln!(out, "  old versions in use:     {}", list(&z.old_versions));
        let _ = writeln!(
            out,
            "\nSensitive data in responses (sampled; classes only, never values)"
        );
        let mut any = false;
        for o in &api.operations {
            for f in &o.sensitive_fields {
                any = true;
                field(&mut out, &o.operation, f);
            }
        }
        for s in &api.shadow {
            for f in &s.sensitive_fields {
                any = true;
                field(&mut out, &format!("{} {}", s.method, s.template), f);
            }
        }
        if !any {
            let _ = writeln!(out, "  none recorded");
        }
    }
    out
}

fn field(out: &mut String, endpoint: &str, f: &SensitiveField) {
    let _ = writeln!(
        out,
        "  {:<28} {:<28} {:<14} {:>6}x  {}{}",
        endpoint,
        f.pointer,
        f.class.as_str(),
        f.count,
        f.protection.as_str(),
        if f.unprotected { "  UNPROTECTED" } else { "" }
    );
}

fn auth(a: &AuthSeen) -> String {
    let mut parts = Vec::new();
    if a.anonymous > 0 {
        parts.push(format!("anonymous {}", a.anonymous));
    }
    for (iss, n) in &a.jwt_issuers {
        parts.push(format!("jwt:{iss} {n}"));
    }
    for (key, n) in &a.api_keys {
        parts.push(format!("key:{key} {n}"));
    }
    if a.unknown_scheme > 0 {
        parts.push(format!("authenticated {}", a.unknown_scheme));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}
