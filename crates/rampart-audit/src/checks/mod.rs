//! The checks, one module per group of OWASP categories. Each reads the
//! [`Index`] and reports into the [`Sink`]; none parses anything.

mod auth;
mod config;
mod functions;
mod limits;
mod objects;
mod properties;

use std::collections::HashSet;

use rampart_contract::pointer;
use serde_json::{Map, Value};

use crate::finding::Sink;
use crate::walk::{Index, deref};

/// Run every check.
pub(crate) fn run(index: &Index<'_>) -> Sink {
    let mut sink = Sink::default();
    auth::check(index, &mut sink);
    objects::check(index, &mut sink);
    properties::check(index, &mut sink);
    limits::check(index, &mut sink);
    functions::check(index, &mut sink);
    config::check(index, &mut sink);
    sink
}

/// Extensions that declare who may see an object or a property.
pub(crate) const OWNER_KEYS: &[&str] = &["x-rampart-owner", "x-rampart-private"];
/// Extension that declares who may see one property.
pub(crate) const VISIBILITY_KEY: &str = "x-rampart-visibility";

/// Whether a map carries an ownership annotation.
pub(crate) fn owner_annotated(m: &Map<String, Value>) -> bool {
    OWNER_KEYS.iter().any(|k| m.contains_key(*k))
}

/// A property reached while walking a schema.
pub(crate) struct PropertyHit<'a> {
    /// The property's name.
    pub name: &'a str,
    /// Pointer where the property is written (`.../properties/name`).
    pub pointer: String,
    /// The property's schema, after `$ref`s.
    pub schema: &'a Value,
    /// The property as written (possibly a `$ref` with siblings).
    pub written: &'a Value,
    /// An enclosing object schema carries `x-rampart-owner` or `x-rampart-private`.
    pub owner_annotated: bool,
    /// Number of property hops from the root (0: a property of the root object).
    pub depth: usize,
}

const MAX_PROPERTY_DEPTH: usize = 12;

/// Visit every property reachable from the schema at `root`, through `$ref`s,
/// composition, array items and additional properties. Each schema location
/// is entered once per walk, so recursive schemas terminate.
pub(crate) fn walk_properties<'a>(
    doc: &'a Value,
    root: &str,
    mut visit: impl FnMut(&PropertyHit<'a>),
) {
    let Ok(node) = pointer::resolve(doc, root) else {
        return;
    };
    let mut seen = HashSet::new();
    let mut stack: Vec<(String, &'a Value, bool, usize)> = vec![(root.to_string(), node, false, 0)];
    while let Some((ptr, node, annotated, depth)) = stack.pop() {
        let (ptr, node) = deref(doc, ptr, node);
        let Value::Object(m) = node else { continue };
        if !seen.insert(ptr.clone()) || depth > MAX_PROPERTY_DEPTH {
            continue;
        }
        let annotated = annotated || owner_annotated(m);
        if let Some(Value::Object(props)) = m.get("properties") {
            let base = pointer::push(&ptr, "properties");
            for (name, written) in props {
                let p = pointer::push(&base, name);
                let (_, schema) = deref(doc, p.clone(), written);
                visit(&PropertyHit {
                    name,
                    pointer: p.clone(),
                    schema,
                    written,
                    owner_annotated: annotated,
                    depth,
                });
                stack.push((p, written, annotated, depth + 1));
            }
        }
        for k in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(items)) = m.get(k) {
                for (i, s) in items.iter().enumerate() {
                    stack.push((format!("{ptr}/{k}/{i}"), s, annotated, depth));
                }
            }
        }
        for k in ["items", "additionalProperties"] {
            if let Some(s @ Value::Object(_)) = m.get(k) {
                stack.push((pointer::push(&ptr, k), s, annotated, depth));
            }
        }
    }
}

/// A property or parameter name folded for matching: lowercase, without `_`, `-`, `.` and spaces.
pub(crate) fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `readOnly`/`writeOnly` of a property as written, following `$ref`s
/// (siblings of a `$ref` count, as the gateway honours them too).
pub(crate) fn flags(doc: &Value, written: &Value) -> (bool, bool) {
    let (mut ro, mut wo) = (false, false);
    let mut node = written;
    for _ in 0..32 {
        ro |= node.get("readOnly") == Some(&Value::Bool(true));
        wo |= node.get("writeOnly") == Some(&Value::Bool(true));
        let next = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|t| pointer::resolve(doc, t).ok());
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    (ro, wo)
}

/// Header names of a response or header holder, lowercased.
pub(crate) fn header_names(response: &Value) -> Vec<String> {
    response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default()
}

/// `a, b, c and 4 more`.
pub(crate) fn list_some(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}
