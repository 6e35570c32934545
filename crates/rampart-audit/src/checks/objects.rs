//! API1:2023 (guessable object ids) and the object-level half of API3:2023
//! (open objects).

use rampart_contract::pointer;
use serde_json::{Map, Value};

use super::owner_annotated;
use crate::catalog;
use crate::finding::Sink;
use crate::walk::{Index, OpView, at, has_type};

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    numeric_ids(index, sink);
    sequential_object_routes(index, sink);
    open_objects(index, sink);
}

/// Spectral's test: `id`, or a name ending in `_id`, `Id` or `-id`.
fn id_like(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("Id") || name.ends_with("-id")
}

fn integer_schema(index: &Index<'_>, schema_ptr: &str) -> Option<(String, bool)> {
    let (ptr, node) = at(index.doc, schema_ptr)?;
    let m = node.as_object()?;
    let int = has_type(m, "integer")
        || (has_type(m, "string")
            && matches!(
                m.get("format").and_then(Value::as_str),
                Some("int32" | "int64")
            ));
    Some((ptr, int))
}

fn numeric_ids(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        for p in &v.params {
            if !id_like(p.name) {
                continue;
            }
            let Some(schema) = &p.schema else { continue };
            if let Some((ptr, true)) = integer_schema(index, schema) {
                sink.report(
                    &catalog::NUMERIC_ID,
                    ptr,
                    format!("{} parameter \"{}\" is an integer", p.location, p.name),
                );
            }
        }
    }
}

/// The template variable of the last path segment, if the segment has one (`/orders/{id}`, `/Calls/{Sid}.json`).
fn last_template(path: &str) -> Option<&str> {
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let open = last.rfind('{')?;
    let close = last[open..].find('}')? + open;
    Some(&last[open + 1..close])
}

fn ownership_declared(index: &Index<'_>, v: &OpView<'_>) -> bool {
    if owner_annotated(&v.op.extensions) {
        return true;
    }
    v.responses
        .iter()
        .filter(|r| r.code.starts_with('2'))
        .any(|r| {
            r.schemas.iter().any(|(sp, _)| {
                at(index.doc, sp)
                    .and_then(|(_, n)| n.as_object().map(owned_schema))
                    .unwrap_or(false)
            })
        })
}

/// The schema, or the item schema of an array, or an allOf member, is annotated.
fn owned_schema(m: &Map<String, Value>) -> bool {
    if owner_annotated(m) {
        return true;
    }
    let items = m.get("items").and_then(Value::as_object);
    let all = m
        .get("allOf")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).any(owner_annotated))
        .unwrap_or(false);
    all || items.is_some_and(owner_annotated)
}

fn sequential_object_routes(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        let method = v.op.method.as_str();
        if !matches!(method, "GET" | "PUT" | "PATCH" | "DELETE") {
            continue;
        }
        let Some(name) = last_template(&v.op.path) else {
            continue;
        };
        let Some(param) = v
            .params
            .iter()
            .find(|p| p.location == "path" && p.name == name)
        else {
            continue;
        };
        let Some(schema) = &param.schema else {
            continue;
        };
        if !matches!(integer_schema(index, schema), Some((_, true))) {
            continue;
        }
        if ownership_declared(index, v) {
            continue;
        }
        sink.report(
            &catalog::SEQUENTIAL_OBJECT_ROUTE,
            v.op.pointer.clone(),
            format!(
                "{method} {} selects an object by the integer \"{name}\" and declares no owner",
                v.op.path
            ),
        );
    }
}

fn open_objects(index: &Index<'_>, sink: &mut Sink) {
    for ptr in index.schemas.keys() {
        let Some(m) = index.node(ptr) else { continue };
        if !has_type(m, "object") {
            continue;
        }
        for key in ["additionalProperties", "unevaluatedProperties"] {
            let Some(ap) = m.get(key) else { continue };
            let bounded = m.contains_key("maxProperties");
            let anything = match ap {
                Value::Bool(b) => *b,
                Value::Object(s) => s.is_empty(),
                _ => false,
            };
            let at = pointer::push(ptr, key);
            if anything && !bounded {
                sink.report(
                    &catalog::ADDITIONAL_PROPERTIES,
                    at,
                    format!("the object accepts any undeclared property ({key} allows anything)"),
                );
            } else if matches!(ap, Value::Object(s) if !s.is_empty()) && !bounded {
                sink.report(
                    &catalog::UNBOUNDED_ADDITIONAL_PROPERTIES,
                    at,
                    format!("{key} has a schema but the object sets no maxProperties"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_routes_end_in_a_template() {
        assert_eq!(last_template("/orders/{id}"), Some("id"));
        assert_eq!(
            last_template("/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"),
            Some("Sid")
        );
        assert_eq!(last_template("/orders"), None);
        assert!(id_like("petId") && id_like("order_id") && !id_like("identity"));
    }
}
