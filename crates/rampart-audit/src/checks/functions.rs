//! API5:2023 Broken Function Level Authorization (admin operations that
//! accept member credentials) and API7:2023 SSRF (URL-named parameters).

use std::collections::{BTreeMap, BTreeSet};

use rampart_contract::operation::SecurityRequirement;
use rampart_contract::pointer;
use serde_json::Value;

use crate::catalog;
use crate::finding::Sink;
use crate::walk::{Index, OpView};

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    admin_security(index, sink);
    admin_like_shared(index, sink);
    url_parameters(index, sink);
}

/// Spectral's rule, exactly: operation-level requirements of `/admin` paths
/// that equal one of a non-admin path's.
fn admin_security(index: &Index<'_>, sink: &mut Sink) {
    let mut member: BTreeSet<String> = BTreeSet::new();
    let mut admin: Vec<(&OpView<'_>, usize, String)> = Vec::new();
    for v in &index.ops {
        let Some(Value::Array(reqs)) = v.node.get("security") else {
            continue;
        };
        for (i, req) in reqs.iter().enumerate() {
            if !req.is_object() {
                continue;
            }
            let hash = req.to_string();
            if v.op.path.contains("/admin") {
                admin.push((v, i, hash));
            } else {
                member.insert(hash);
            }
        }
    }
    for (v, i, hash) in admin {
        if member.contains(&hash) {
            sink.report(
                &catalog::ADMIN_SECURITY,
                format!("{}/security/{i}", v.op.pointer),
                format!(
                    "admin operation {} {} accepts the same security requirement as non-admin operations",
                    v.op.method, v.op.path
                ),
            );
        }
    }
}

/// Path segments and words that mark an administrative function.
const ADMIN_WORDS: &[&str] = &[
    "admin",
    "admins",
    "administrator",
    "internal",
    "manage",
    "management",
    "staff",
    "superuser",
    "sudo",
    "backoffice",
    "moderation",
    "moderator",
    "impersonate",
    "roles",
    "permissions",
];

fn admin_like(v: &OpView<'_>) -> bool {
    let segments =
        v.op.path
            .split('/')
            .filter(|s| !s.starts_with('{'))
            .map(str::to_ascii_lowercase);
    let by_path = segments
        .clone()
        .any(|s| ADMIN_WORDS.contains(&s.as_str()) || s.starts_with("admin"));
    let id = v.op.id.to_ascii_lowercase();
    let tags = v
        .node
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .any(|t| t.to_ascii_lowercase().contains("admin"))
        })
        .unwrap_or(false);
    by_path || id.contains("admin") || id.contains("impersonat") || tags
}

/// A requirement list in a canonical form (order of alternatives and scopes does not matter).
fn canonical(reqs: &[SecurityRequirement]) -> BTreeSet<BTreeMap<String, BTreeSet<String>>> {
    reqs.iter()
        .map(|r| {
            r.iter()
                .map(|(scheme, scopes)| (scheme.clone(), scopes.iter().cloned().collect()))
                .collect()
        })
        .collect()
}

fn admin_like_shared(index: &Index<'_>, sink: &mut Sink) {
    let mut member: BTreeMap<_, String> = BTreeMap::new();
    let mut admin = Vec::new();
    for v in &index.ops {
        let Some(reqs) = &v.op.security else { continue };
        if !reqs.iter().any(|r| !r.is_empty()) {
            // Unprotected: audit.auth.*-unprotected reports it.
            continue;
        }
        let key = canonical(reqs);
        if admin_like(v) {
            // The Spectral-compatible rule already judges /admin paths that declare their own security.
            if !(v.op.path.contains("/admin") && v.node.contains_key("security")) {
                admin.push((v, key));
            }
        } else {
            let name = format!("{} {}", v.op.method, v.op.path);
            member
                .entry(key)
                .and_modify(|n: &mut String| {
                    if name < *n {
                        *n = name.clone();
                    }
                })
                .or_insert(name);
        }
    }
    for (v, key) in admin {
        if let Some(other) = member.get(&key) {
            sink.report(
                &catalog::ADMIN_LIKE_SHARED,
                v.op.pointer.clone(),
                format!(
                    "administrative operation {} {} accepts exactly the credentials of member operations such as {other}",
                    v.op.method, v.op.path
                ),
            );
        }
    }
}

/// Spectral's pattern: `^(callback|redirect)` or `(_url|Url|-url)$`.
pub(super) fn concerning_parameter(name: &str) -> bool {
    name.starts_with("callback")
        || name.starts_with("redirect")
        || name.ends_with("_url")
        || name.ends_with("Url")
        || name.ends_with("-url")
}

fn url_parameters(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        for p in &v.params {
            if concerning_parameter(p.name) {
                sink.report(
                    &catalog::URL_PARAMETER,
                    pointer::push(&p.pointer, "name"),
                    format!(
                        "{} parameter \"{}\" looks like a URL the server will use",
                        p.location, p.name
                    ),
                );
            }
        }
    }
}
