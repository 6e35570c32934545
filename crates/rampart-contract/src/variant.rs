//! Request and response variants of the document, for the JSON Schema validators.
//!
//! OpenAPI schemas are not plain JSON Schema:
//! - 3.0's `nullable: true` means "or null"; validators ignore it, so we
//!   rewrite it into the type (and the enum) before compiling.
//! - `required` lists may name `readOnly` properties, which OpenAPI says apply
//!   to responses only, and `writeOnly` ones, which apply to requests only.
//!
//! So we derive two copies of the bundled document: in the *request* variant
//! every `readOnly` property is forbidden (`not: {}`) and dropped from
//! `required`; in the *response* variant `writeOnly` properties are dropped
//! from `required` (the gateway strips them before validating). Both copies
//! are made once at compile time.

use serde_json::{Map, Value, json};

use crate::shape::flags;

/// Which OpenAPI dialect a document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0.x: schemas are an extended subset of JSON Schema draft 4/5.
    Oas30,
    /// OpenAPI 3.1.x: schemas are JSON Schema 2020-12.
    Oas31,
}

/// Which side of the exchange a variant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Request bodies and parameters.
    Request,
    /// Response bodies.
    Response,
}

/// Build the variant of `doc` for `side`.
pub fn variant(doc: &Value, dialect: Dialect, side: Side) -> Value {
    let mut out = doc.clone();
    rewrite(doc, &mut out, dialect, side);
    out
}

fn rewrite(doc: &Value, v: &mut Value, dialect: Dialect, side: Side) {
    match v {
        Value::Object(m) => {
            if dialect == Dialect::Oas30 && m.get("nullable") == Some(&Value::Bool(true)) {
                make_nullable(m);
            }
            if let Some(Value::Object(props)) = m.get("properties") {
                let mut drop_required = Vec::new();
                let mut forbid = Vec::new();
                for (name, sub) in props {
                    let (ro, wo) = flags(doc, sub);
                    match side {
                        Side::Request if ro => {
                            drop_required.push(name.clone());
                            forbid.push(name.clone());
                        }
                        Side::Response if wo => drop_required.push(name.clone()),
                        _ => {}
                    }
                }
                if let Some(Value::Object(props)) = m.get_mut("properties") {
                    for name in &forbid {
                        props.insert(name.clone(), json!({"not": {}}));
                    }
                }
                if !drop_required.is_empty()
                    && let Some(Value::Array(req)) = m.get_mut("required")
                {
                    req.retain(|r| {
                        !r.as_str()
                            .is_some_and(|s| drop_required.iter().any(|d| d == s))
                    });
                }
            }
            for (k, child) in m.iter_mut() {
                if matches!(
                    k.as_str(),
                    "example" | "examples" | "enum" | "const" | "default"
                ) {
                    continue;
                }
                rewrite(doc, child, dialect, side);
            }
        }
        Value::Array(a) => {
            for child in a {
                rewrite(doc, child, dialect, side);
            }
        }
        _ => {}
    }
}

fn make_nullable(m: &mut Map<String, Value>) {
    match m.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            m.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| t == "null") => ts.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(e)) = m.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_type_union_in_30_only() {
        let doc = json!({"s": {"type": "string", "nullable": true, "enum": ["a"]}});
        let v = variant(&doc, Dialect::Oas30, Side::Request);
        assert_eq!(v["s"]["type"], json!(["string", "null"]));
        assert_eq!(v["s"]["enum"], json!(["a", null]));
        let v31 = variant(&doc, Dialect::Oas31, Side::Request);
        assert_eq!(v31["s"]["type"], json!("string"));
    }

    #[test]
    fn read_only_is_forbidden_in_requests_and_write_only_optional_in_responses() {
        let doc = json!({"o": {"type": "object", "required": ["id", "pw", "n"], "properties": {
            "id": {"type": "integer", "readOnly": true},
            "pw": {"type": "string", "writeOnly": true},
            "n": {"type": "string"}}}});
        let req = variant(&doc, Dialect::Oas31, Side::Request);
        assert_eq!(req["o"]["required"], json!(["pw", "n"]));
        assert_eq!(req["o"]["properties"]["id"], json!({"not": {}}));
        let resp = variant(&doc, Dialect::Oas31, Side::Response);
        assert_eq!(resp["o"]["required"], json!(["id", "n"]));
    }
}
