//! Learn mode: an OpenAPI 3.1 draft of the shadow endpoints, from what
//! traffic showed of them: methods, path parameters with the types their
//! values suggest, the query parameter names seen, and the statuses the
//! upstream answered.
//!
//! It is a starting point for review, not a contract: it declares no
//! bodies and no security (traffic shows which credentials callers sent,
//! not which the endpoint needs). What was observed is kept beside each
//! operation under `x-rampart-observed` for the reviewer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::{Inventory, ShadowEndpoint};
use crate::template::ParamKind;

/// The draft document for every shadow endpoint of `inventory`.
///
/// When all of them belong to one API whose base path prefixes them, that
/// base path becomes `servers[0].url` and the paths are written relative
/// to it, as in the API's own document; otherwise paths are absolute.
pub fn draft_openapi(inventory: &Inventory) -> Value {
    let with_shadow: Vec<_> = inventory
        .apis
        .iter()
        .filter(|a| !a.shadow.is_empty())
        .collect();
    let base = match with_shadow.as_slice() {
        [api]
            if !api.base_path.is_empty()
                && api
                    .shadow
                    .iter()
                    .all(|s| under(&s.template, &api.base_path)) =>
        {
            Some(api.base_path.clone())
        }
        _ => None,
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut ids: Vec<String> = Vec::new();
    let mut total = 0u64;
    for api in &with_shadow {
        for s in &api.shadow {
            total += s.calls;
            let path = match &base {
                Some(b) => relative(&s.template, b),
                None => s.template.clone(),
            };
            let id = unique_id(&mut ids, &s.method, &path);
            paths
                .entry(path)
                .or_default()
                .insert(s.method.to_ascii_lowercase(), operation(s, &id));
        }
    }
    let names: Vec<&str> = with_shadow.iter().map(|a| a.name.as_str()).collect();
    let window = match &inventory.since {
        Some(since) => format!("between {since} and {}", inventory.until),
        None => format!("until {}", inventory.until),
    };
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("Shadow endpoints of {} (draft)", if names.is_empty() { "no API".to_owned() } else { names.join(", ") }),
            "version": "0.0.0-draft",
            "description": format!(
                "Drafted by `rampart inventory --draft-openapi` from {total} requests {window} \
                 to routes the contract does not declare. Review each operation: add bodies, \
                 security and descriptions before merging it into the contract, or remove the \
                 endpoint from the upstream."
            ),
        },
        "paths": paths.into_iter().map(|(p, ops)| (p, Value::Object(ops))).collect::<Map<_, _>>(),
    });
    if let (Some(b), Value::Object(d)) = (base, &mut doc) {
        d.insert("servers".into(), json!([{ "url": b }]));
    }
    doc
}

fn under(template: &str, base: &str) -> bool {
    template.starts_with(base) && matches!(template.as_bytes().get(base.len()), None | Some(b'/'))
}

fn relative(template: &str, base: &str) -> String {
    match &template[base.len()..] {
        "" => "/".to_owned(),
        rest => rest.to_owned(),
    }
}

/// `get_v1_riders_id`, made unique with a number when needed.
fn unique_id(taken: &mut Vec<String>, method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    let mut unique = id.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{id}_{n}");
        n += 1;
    }
    taken.push(unique.clone());
    unique
}

fn operation(s: &ShadowEndpoint, id: &str) -> Value {
    let mut parameters: Vec<Value> = s
        .params
        .iter()
        .map(|p| {
            let kinds = p.kinds.iter().copied().collect();
            json!({
                "name": p.name,
                "in": "path",
                "required": true,
                "description": format!("Inferred from values seen: {}.", kind_words(&p.kinds)),
                "schema": ParamKind::schema(&kinds),
            })
        })
        .collect();
    for q in &s.query_params {
        parameters.push(json!({
            "name": q,
            "in": "query",
            "required": false,
            "description": "Seen in traffic (values are not recorded).",
            "schema": {"type": "string"},
        }));
    }
    let mut responses = Map::new();
    for (status, n) in &s.upstream_statuses {
        responses.insert(
            status.to_string(),
            json!({"description": format!("Answered {n} times by the upstream.")}),
        );
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "No upstream answer was observed: Rampart refused every request (enforce mode)."}),
        );
    }
    let summary = match &s.version_of {
        Some(op) => format!("Older version of {op}? Seen {} times.", s.calls),
        None => format!("Undeclared endpoint seen {} times.", s.calls),
    };
    let mut observed = json!({
        "calls": s.calls,
        "first_seen": s.first_seen,
        "last_seen": s.last_seen,
        "statuses": s.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        "auth": s.auth,
        "examples": s.examples.iter().map(|e| format!("{} {}", e.method, e.path)).collect::<Vec<_>>(),
    });
    if let (Some(op), Value::Object(o)) = (&s.version_of, &mut observed) {
        o.insert("version_of".into(), json!(op));
    }
    if !s.sensitive_fields.is_empty()
        && let Value::Object(o) = &mut observed
    {
        o.insert(
            "sensitive_fields".into(),
            s.sensitive_fields
                .iter()
                .map(|f| json!({"pointer": f.pointer, "class": f.class}))
                .collect(),
        );
    }
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "responses": responses,
        "x-rampart-observed": observed,
    });
    if !parameters.is_empty()
        && let Value::Object(o) = &mut op
    {
        o.insert("parameters".into(), Value::Array(parameters));
    }
    op
}

fn kind_words(kinds: &[ParamKind]) -> String {
    kinds
        .iter()
        .map(|k| match k {
            ParamKind::Integer => "integers",
            ParamKind::Uuid => "UUIDs",
            ParamKind::Hex => "hex strings",
            ParamKind::Token => "opaque tokens",
            ParamKind::Slug => "names or slugs",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The draft as YAML (or JSON when `json`), ready to write to a file.
pub fn render(doc: &Value, json: bool) -> Result<String, crate::InventoryError> {
    if json {
        return serde_json::to_string_pretty(doc)
            .map_err(|e| crate::InventoryError::Render(e.to_string()));
    }
    serde_saphyr::to_string(doc).map_err(|e| crate::InventoryError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_without_shadow_endpoints_is_still_a_document_the_loader_reads() {
        let inv = Inventory {
            since: None,
            until: "2026-01-01T00:00:00.000Z".into(),
            events: 0,
            unclustered: 0,
            apis: Vec::new(),
        };
        let doc = draft_openapi(&inv);
        assert_eq!(doc["paths"], json!({}));
        assert!(doc.get("servers").is_none());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("draft.yaml");
        std::fs::write(&path, render(&doc, false).expect("yaml")).expect("write");
        let contract = rampart_contract::Contract::load(&path, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(contract.operations.is_empty());
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut taken = Vec::new();
        assert_eq!(unique_id(&mut taken, "GET", "/a-b/{id}"), "get_a_b_id");
        assert_eq!(unique_id(&mut taken, "GET", "/a_b/{id}"), "get_a_b_id_2");
    }
}
