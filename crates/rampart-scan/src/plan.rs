//! What the scanner knows about the API before sending anything: the
//! contract's operations, with their parameters' raw schemas (bounds,
//! formats) looked up once, and how to build a concrete request path.
//!
//! The contract crate does all the OpenAPI reading; this module only asks
//! it questions and fills in path templates.

use std::collections::BTreeMap;

use http::Method;
use rampart_contract::shape::ShapeId;
use rampart_contract::{Contract, Operation, ParamLocation};
use serde_json::Value;

/// One operation as the scanner uses it.
#[derive(Debug, Clone)]
pub struct OpPlan {
    /// Index into the contract's operations.
    pub index: usize,
    /// operationId.
    pub id: String,
    /// Method.
    pub method: Method,
    /// Route template with the base path (`/api/riders/{riderId}`).
    pub route: String,
    /// Parameters with their raw (dereferenced) schemas.
    pub params: Vec<ParamPlan>,
    /// Shape of the 200 JSON response, when declared.
    pub response_shape: Option<ShapeId>,
    /// Shape of the JSON request body, when declared.
    pub body_shape: Option<ShapeId>,
    /// The path parameter naming the object's owner (`x-rampart-resource`).
    pub owner_param: Option<String>,
    /// Whether the spec requires credentials for it.
    pub secured: bool,
    /// Tags.
    pub tags: Vec<String>,
}

/// One parameter.
#[derive(Debug, Clone)]
pub struct ParamPlan {
    /// Name.
    pub name: String,
    /// Where it goes.
    pub location: ParamLocation,
    /// Required.
    pub required: bool,
    /// The dereferenced schema (`{}` when none).
    pub schema: Value,
}

impl ParamPlan {
    /// The schema's `type` (first one when a list).
    pub fn ty(&self) -> &str {
        match self.schema.get("type") {
            Some(Value::String(s)) => s,
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or_default(),
            _ => "",
        }
    }

    /// Whether the value is typed (number, integer, boolean): a string is
    /// a type error, so injection and errors are judged against that.
    pub fn typed(&self) -> bool {
        matches!(self.ty(), "integer" | "number" | "boolean")
    }

    /// Whether the parameter carries a URL (SSRF candidates).
    pub fn is_url(&self) -> bool {
        let format = self
            .schema
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = self.name.to_ascii_lowercase();
        matches!(format, "uri" | "url" | "iri" | "uri-reference")
            || ["url", "uri", "callback", "webhook", "redirect", "href"]
                .iter()
                .any(|s| name.ends_with(s))
    }

    /// A valid example value: default, example, first enum value, or a
    /// value within bounds for the type.
    pub fn sample(&self) -> String {
        for key in ["default", "example"] {
            if let Some(v) = self.schema.get(key) {
                return scalar(v);
            }
        }
        if let Some(Value::Array(e)) = self.schema.get("enum")
            && let Some(v) = e.first()
        {
            return scalar(v);
        }
        match self.ty() {
            "integer" | "number" => self
                .schema
                .get("minimum")
                .map(scalar)
                .unwrap_or_else(|| "1".into()),
            "boolean" => "true".into(),
            _ => "rampart".into(),
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The operations of a contract, planned.
pub fn plan(contract: &Contract) -> Vec<OpPlan> {
    contract
        .operations
        .iter()
        .enumerate()
        .map(|(index, op)| plan_op(contract, index, op))
        .collect()
}

fn plan_op(contract: &Contract, index: usize, op: &Operation) -> OpPlan {
    let doc = &contract.document;
    let params = op
        .params
        .iter()
        .map(|p| ParamPlan {
            name: p.name.clone(),
            location: p.location,
            required: p.required,
            schema: param_schema(doc, &op.pointer, &p.name, p.location),
        })
        .collect();
    let response_shape = op
        .responses
        .iter()
        .find(|r| {
            matches!(r.status, rampart_contract::operation::StatusKey::Exact(200))
                || matches!(r.status, rampart_contract::operation::StatusKey::Exact(201))
        })
        .and_then(|r| r.content.iter().find(|m| m.json))
        .and_then(|m| m.shape);
    let body_shape = op
        .body
        .as_ref()
        .and_then(|b| b.content.iter().find(|m| m.json))
        .and_then(|m| m.shape);
    let owner_param = op.resource.as_ref().and_then(|r| match &r.owner {
        Some((ParamLocation::Path, name)) => Some(name.clone()),
        _ => None,
    });
    let secured = op
        .security
        .as_ref()
        .is_some_and(|reqs| !reqs.is_empty() && reqs.iter().all(|r| !r.is_empty()));
    let tags = doc
        .pointer(&format!("{}/tags", op.pointer))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    OpPlan {
        index,
        id: op.id.clone(),
        method: op.method.clone(),
        route: op.route.clone(),
        params,
        response_shape,
        body_shape,
        owner_param,
        secured,
        tags,
    }
}

/// Follow local `$ref`s (the bundle has only local ones), at most 32 deep.
pub fn deref<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(next) => node = next,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// A parameter's schema: the operation's own declaration first, then its
/// path item's.
fn param_schema(doc: &Value, op_pointer: &str, name: &str, location: ParamLocation) -> Value {
    let path_item = op_pointer
        .rsplit_once('/')
        .map(|(p, _)| p)
        .unwrap_or_default();
    for owner in [op_pointer, path_item] {
        let Some(Value::Array(list)) = doc.pointer(&format!("{owner}/parameters")) else {
            continue;
        };
        for p in list {
            let p = deref(doc, p);
            let same_name = p
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name));
            let same_in = p.get("in").and_then(Value::as_str) == Some(location.as_str());
            if same_name && same_in {
                return p
                    .get("schema")
                    .map(|s| deref(doc, s).clone())
                    .unwrap_or(Value::Object(Default::default()));
            }
        }
    }
    Value::Object(Default::default())
}

impl OpPlan {
    /// Whether the operation reads (GET).
    pub fn is_read(&self) -> bool {
        self.method == Method::GET
    }

    /// The path parameters, in template order.
    pub fn path_params(&self) -> impl Iterator<Item = &ParamPlan> {
        self.params
            .iter()
            .filter(|p| p.location == ParamLocation::Path)
    }

    /// Whether the operation looks like an administrator's function: an
    /// `admin` or `internal` path segment or tag, or `admin` in its id.
    pub fn looks_admin(&self) -> bool {
        let words = ["admin", "administrator", "internal"];
        self.route
            .split('/')
            .any(|s| words.contains(&s.to_ascii_lowercase().as_str()))
            || self
                .tags
                .iter()
                .any(|t| words.contains(&t.to_ascii_lowercase().as_str()))
            || self.id.to_ascii_lowercase().contains("admin")
    }

    /// Whether the operation changes credentials, sessions or accounts
    /// (by its id or path): writes never go there unless named explicitly.
    pub fn touches_credentials(&self) -> bool {
        let words = [
            "password",
            "passwd",
            "credential",
            "token",
            "secret",
            "apikey",
            "api-key",
            "api_key",
            "mfa",
            "2fa",
            "otp",
            "login",
            "logout",
            "session",
            "account",
            "delete",
            "remove",
        ];
        let id = self.id.to_ascii_lowercase();
        let route = self.route.to_ascii_lowercase();
        words.iter().any(|w| id.contains(w) || route.contains(w))
    }

    /// A concrete path and query: `values` for path parameters (and any
    /// query parameter named there), sample values for other required
    /// query parameters. `None` when a path parameter has no value.
    pub fn build(&self, values: &BTreeMap<String, String>) -> Option<String> {
        let mut path = self.route.clone();
        for p in self.path_params() {
            let v = values.get(&p.name)?;
            path = path.replace(&format!("{{{}}}", p.name), &encode(v));
        }
        let mut query = Vec::new();
        for p in self
            .params
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
        {
            match values.get(&p.name) {
                Some(v) => query.push(format!("{}={}", encode(&p.name), encode(v))),
                None if p.required => {
                    query.push(format!("{}={}", encode(&p.name), encode(&p.sample())))
                }
                None => {}
            }
        }
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        Some(path)
    }
}

/// Percent-encode everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, route: &str) -> OpPlan {
        OpPlan {
            index: 0,
            id: id.into(),
            method: Method::PATCH,
            route: route.into(),
            params: vec![],
            response_shape: None,
            body_shape: None,
            owner_param: None,
            secured: true,
            tags: vec![],
        }
    }

    #[test]
    fn credential_operations_are_recognised() {
        assert!(op("changePassword", "/users/{id}/password").touches_credentials());
        assert!(op("rotate", "/api/tokens/{id}").touches_credentials());
        assert!(op("deleteAccount", "/me").touches_credentials());
        assert!(!op("updateRider", "/api/riders/{riderId}").touches_credentials());
    }

    #[test]
    fn admin_operations_are_recognised() {
        let mut o = op("exportRiders", "/api/admin/export");
        assert!(o.looks_admin());
        o.route = "/api/riders".into();
        assert!(!o.looks_admin());
        o.tags = vec!["Admin".into()];
        assert!(o.looks_admin());
    }

    #[test]
    fn encoding_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("a b'/1"), "a%20b%27%2F1");
        assert_eq!(encode("rider_2.x~"), "rider_2.x~");
    }
}
