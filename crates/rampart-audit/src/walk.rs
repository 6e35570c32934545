//! A typed index over the bundled document: which nodes are schemas, and
//! whether requests, responses or nothing (component-only) use them; each
//! operation's parameters and responses with the pointers they resolve to.
//!
//! Rules run over this index rather than over "every node with a `type`
//! field" (which is how JSONPath rulesets find schemas, and why they flag
//! examples and count a shared schema once per use). Every schema is visited
//! once, at the pointer where it is written: a `$ref` is followed to its
//! target, and the target is indexed at its own location, so a finding on a
//! shared component is reported once, on the component.

use std::collections::{BTreeMap, HashMap};

use rampart_contract::{Contract, Dialect, Operation, pointer};
use serde_json::{Map, Value};

/// Where a schema is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Reached from a parameter or a request body.
    pub request: bool,
    /// Reached from a response (body or header).
    pub response: bool,
}

impl Usage {
    pub(crate) const REQUEST: Usage = Usage {
        request: true,
        response: false,
    };
    pub(crate) const RESPONSE: Usage = Usage {
        request: false,
        response: true,
    };
    const NONE: Usage = Usage {
        request: false,
        response: false,
    };

    fn covers(self, other: Usage) -> bool {
        (self.request || !other.request) && (self.response || !other.response)
    }

    fn union(self, other: Usage) -> Usage {
        Usage {
            request: self.request || other.request,
            response: self.response || other.response,
        }
    }
}

/// A parameter as an operation sees it.
#[derive(Debug, Clone)]
pub struct ParamView<'a> {
    /// Pointer of the parameter object (after `$ref`s).
    pub pointer: String,
    /// The parameter object.
    pub node: &'a Value,
    /// `name`.
    pub name: &'a str,
    /// `in`.
    pub location: &'a str,
    /// Pointer of its schema (after `$ref`s), if any.
    pub schema: Option<String>,
}

/// A response as an operation sees it.
#[derive(Debug, Clone)]
pub struct ResponseView<'a> {
    /// The status key (`200`, `4XX`, `default`).
    pub code: &'a str,
    /// Pointer of the response object (after `$ref`s).
    pub pointer: String,
    /// The response object.
    pub node: &'a Value,
    /// Pointers of its media types' schemas, with the media type.
    pub schemas: Vec<(String, String)>,
}

/// One operation with its document node.
#[derive(Debug, Clone)]
pub struct OpView<'a> {
    /// The compiled operation.
    pub op: &'a Operation,
    /// The operation object.
    pub node: &'a Map<String, Value>,
    /// Parameters (path-level merged with operation-level).
    pub params: Vec<ParamView<'a>>,
    /// Pointer of the responses object.
    pub responses_pointer: String,
    /// The responses object, if declared.
    pub responses_node: Option<&'a Map<String, Value>>,
    /// Responses.
    pub responses: Vec<ResponseView<'a>>,
    /// Request body media schemas: (schema pointer, media type).
    pub request_schemas: Vec<(String, String)>,
}

/// The index.
#[derive(Debug)]
pub struct Index<'a> {
    /// The bundled document.
    pub doc: &'a Value,
    /// 3.0 or 3.1 (keywords such as `exclusiveMinimum` changed meaning).
    pub dialect: Dialect,
    /// Every schema by pointer, with its usage.
    pub schemas: BTreeMap<String, Usage>,
    /// Operations, in the contract's order.
    pub ops: Vec<OpView<'a>>,
    /// Every parameter object (operations', path items' and components'),
    /// by pointer after `$ref`s.
    pub params: BTreeMap<String, ParamView<'a>>,
}

const MAX_HOPS: usize = 32;

/// Follow internal `$ref`s from `node` at `ptr`.
pub fn deref<'a>(doc: &'a Value, mut ptr: String, mut node: &'a Value) -> (String, &'a Value) {
    for _ in 0..MAX_HOPS {
        let Some(target) = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        match pointer::resolve(doc, target) {
            Ok(t) => {
                node = t;
                ptr = target.to_string();
            }
            Err(_) => break,
        }
    }
    (ptr, node)
}

/// Resolve a pointer and follow `$ref`s.
pub fn at<'a>(doc: &'a Value, ptr: &str) -> Option<(String, &'a Value)> {
    let node = pointer::resolve(doc, ptr).ok()?;
    Some(deref(doc, ptr.to_string(), node))
}

/// Keywords whose value is one subschema.
const ONE: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "contentSchema",
];
/// Keywords whose value maps names to subschemas.
const MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
    "definitions",
];
/// Keywords whose value is a list of subschemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

struct Builder<'a> {
    doc: &'a Value,
    schemas: BTreeMap<String, Usage>,
    work: Vec<(String, Usage)>,
    /// Non-schema objects (parameters, responses, ...) already walked, by pointer.
    seen: HashMap<String, Usage>,
    params: BTreeMap<String, ParamView<'a>>,
}

impl<'a> Builder<'a> {
    fn schema(&mut self, ptr: String, usage: Usage) {
        self.work.push((ptr, usage));
    }

    fn drain(&mut self) {
        while let Some((ptr, usage)) = self.work.pop() {
            let Ok(node) = pointer::resolve(self.doc, &ptr) else {
                continue;
            };
            if let Some(prev) = self.schemas.get(&ptr)
                && prev.covers(usage)
            {
                continue;
            }
            let usage = self
                .schemas
                .get(&ptr)
                .copied()
                .unwrap_or(Usage::NONE)
                .union(usage);
            self.schemas.insert(ptr.clone(), usage);
            let Value::Object(m) = node else { continue };
            if let Some(target) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                self.work.push((target.to_string(), usage));
            }
            for k in ONE {
                if let Some(Value::Object(_)) = m.get(*k) {
                    self.work.push((pointer::push(&ptr, k), usage));
                }
            }
            for k in MAP {
                if let Some(Value::Object(children)) = m.get(*k) {
                    let base = pointer::push(&ptr, k);
                    for name in children.keys() {
                        self.work.push((pointer::push(&base, name), usage));
                    }
                }
            }
            for k in LIST {
                if let Some(Value::Array(items)) = m.get(*k) {
                    for i in 0..items.len() {
                        self.work.push((format!("{ptr}/{k}/{i}"), usage));
                    }
                }
            }
            match m.get("items") {
                Some(Value::Object(_)) => self.work.push((pointer::push(&ptr, "items"), usage)),
                Some(Value::Array(items)) => {
                    for i in 0..items.len() {
                        self.work.push((format!("{ptr}/items/{i}"), usage));
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether a non-schema object at `ptr` still needs walking for `usage`.
    fn first_visit(&mut self, ptr: &str, usage: Usage) -> bool {
        match self.seen.get(ptr) {
            Some(prev) if prev.covers(usage) => false,
            prev => {
                let u = prev.copied().unwrap_or(Usage::NONE).union(usage);
                self.seen.insert(ptr.to_string(), u);
                true
            }
        }
    }

    /// `content` of a parameter, request body, response or header.
    fn content(&mut self, holder_ptr: &str, holder: &Value, usage: Usage) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(Value::Object(content)) = holder.get("content") {
            let base = pointer::push(holder_ptr, "content");
            for (mt, media) in content {
                if media.get("schema").is_some() {
                    let sp = pointer::push(&pointer::push(&base, mt), "schema");
                    self.schema(sp.clone(), usage);
                    out.push((sp, mt.clone()));
                }
            }
        }
        out
    }

    fn parameter(&mut self, ptr: String, node: &'a Value) -> Option<ParamView<'a>> {
        let (ptr, p) = deref(self.doc, ptr, node);
        let schema = if p.get("schema").is_some() {
            let sp = pointer::push(&ptr, "schema");
            self.schema(sp.clone(), Usage::REQUEST);
            Some(sp)
        } else {
            self.content(&ptr, p, Usage::REQUEST)
                .into_iter()
                .next()
                .map(|(s, _)| s)
        };
        let view = ParamView {
            name: p.get("name").and_then(Value::as_str)?,
            location: p.get("in").and_then(Value::as_str)?,
            pointer: ptr,
            node: p,
            schema,
        };
        self.params
            .entry(view.pointer.clone())
            .or_insert_with(|| view.clone());
        Some(view)
    }

    fn headers(&mut self, holder_ptr: &str, holder: &Value) {
        if let Some(Value::Object(headers)) = holder.get("headers") {
            let base = pointer::push(holder_ptr, "headers");
            for (name, h) in headers {
                let (hp, h) = deref(self.doc, pointer::push(&base, name), h);
                if !self.first_visit(&hp, Usage::RESPONSE) {
                    continue;
                }
                if h.get("schema").is_some() {
                    self.schema(pointer::push(&hp, "schema"), Usage::RESPONSE);
                }
                self.content(&hp, h, Usage::RESPONSE);
            }
        }
    }

    fn response(&mut self, code: &'a str, ptr: String, node: &'a Value) -> ResponseView<'a> {
        let (ptr, r) = deref(self.doc, ptr, node);
        let schemas = self.content(&ptr, r, Usage::RESPONSE);
        if self.first_visit(&ptr, Usage::RESPONSE) {
            self.headers(&ptr, r);
        }
        ResponseView {
            code,
            pointer: ptr,
            node: r,
            schemas,
        }
    }

    fn request_body(&mut self, ptr: String, node: &'a Value) -> Vec<(String, String)> {
        let (ptr, b) = deref(self.doc, ptr, node);
        self.content(&ptr, b, Usage::REQUEST)
    }

    /// Callbacks and webhooks hold path items that the contract does not route; index their schemas.
    fn loose_path_item(&mut self, ptr: String, node: &'a Value, depth: usize) {
        let (ptr, item) = deref(self.doc, ptr, node);
        let Value::Object(item) = item else { return };
        if depth > 8 || !self.first_visit(&ptr, Usage::REQUEST) {
            return;
        }
        if let Some(Value::Array(ps)) = item.get("parameters") {
            for (i, p) in ps.iter().enumerate() {
                self.parameter(format!("{ptr}/parameters/{i}"), p);
            }
        }
        for (m, op) in item {
            if !rampart_contract::router::METHODS.contains(&m.as_str()) {
                continue;
            }
            let op_ptr = pointer::push(&ptr, m);
            self.operation_parts(&op_ptr, op, depth);
        }
    }

    fn operation_parts(
        &mut self,
        op_ptr: &str,
        op: &'a Value,
        depth: usize,
    ) -> (
        Vec<ParamView<'a>>,
        Vec<ResponseView<'a>>,
        Vec<(String, String)>,
    ) {
        let mut params = Vec::new();
        if let Some(Value::Array(ps)) = op.get("parameters") {
            for (i, p) in ps.iter().enumerate() {
                params.extend(self.parameter(format!("{op_ptr}/parameters/{i}"), p));
            }
        }
        let body = match op.get("requestBody") {
            Some(b) => self.request_body(pointer::push(op_ptr, "requestBody"), b),
            None => Vec::new(),
        };
        let mut responses = Vec::new();
        if let Some(Value::Object(rs)) = op.get("responses") {
            let base = pointer::push(op_ptr, "responses");
            for (code, r) in rs {
                if code.starts_with("x-") {
                    continue;
                }
                responses.push(self.response(code, pointer::push(&base, code), r));
            }
        }
        if let Some(Value::Object(cbs)) = op.get("callbacks") {
            let base = pointer::push(op_ptr, "callbacks");
            for (name, cb) in cbs {
                let (cp, cb) = deref(self.doc, pointer::push(&base, name), cb);
                if let Value::Object(exprs) = cb {
                    for (expr, item) in exprs {
                        self.loose_path_item(pointer::push(&cp, expr), item, depth + 1);
                    }
                }
            }
        }
        (params, responses, body)
    }

    fn components(&mut self) {
        let Some(Value::Object(c)) = self.doc.get("components") else {
            return;
        };
        let each = |kind: &str| -> Vec<(String, &'a Value)> {
            match c.get(kind) {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| (pointer::push(&format!("/components/{kind}"), k), v))
                    .collect(),
                _ => Vec::new(),
            }
        };
        for (p, _) in each("schemas") {
            self.schema(p, Usage::NONE);
        }
        for (p, v) in each("parameters") {
            self.parameter(p, v);
        }
        for (p, v) in each("requestBodies") {
            self.request_body(p, v);
        }
        for (p, v) in each("responses") {
            self.response("", p, v);
        }
        for (p, v) in each("headers") {
            let (hp, h) = deref(self.doc, p, v);
            if h.get("schema").is_some() {
                self.schema(pointer::push(&hp, "schema"), Usage::RESPONSE);
            }
            self.content(&hp, h, Usage::RESPONSE);
        }
        for (p, v) in each("pathItems").into_iter().chain(each("callbacks")) {
            self.loose_path_item(p, v, 1);
        }
    }
}

impl<'a> Index<'a> {
    /// Build the index of a compiled contract.
    pub fn build(contract: &'a Contract) -> Index<'a> {
        let doc = &contract.document;
        let mut b = Builder {
            doc,
            schemas: BTreeMap::new(),
            work: Vec::new(),
            seen: HashMap::new(),
            params: BTreeMap::new(),
        };
        let mut ops = Vec::with_capacity(contract.operations.len());
        for op in &contract.operations {
            let Ok(Value::Object(node)) = pointer::resolve(doc, &op.pointer) else {
                continue;
            };
            let item_ptr = op
                .pointer
                .rsplit_once('/')
                .map(|(a, _)| a)
                .unwrap_or_default();
            let mut params: Vec<ParamView<'a>> = Vec::new();
            if let Ok(item) = pointer::resolve(doc, item_ptr)
                && let Some(Value::Array(ps)) = item.get("parameters")
            {
                for (i, p) in ps.iter().enumerate() {
                    params.extend(b.parameter(format!("{item_ptr}/parameters/{i}"), p));
                }
            }
            let op_value = pointer::resolve(doc, &op.pointer).unwrap_or(&Value::Null);
            let (own, responses, request_schemas) = b.operation_parts(&op.pointer, op_value, 0);
            for p in own {
                params.retain(|q| !(q.name == p.name && q.location == p.location));
                params.push(p);
            }
            ops.push(OpView {
                op,
                node,
                params,
                responses_pointer: pointer::push(&op.pointer, "responses"),
                responses_node: node.get("responses").and_then(Value::as_object),
                responses,
                request_schemas,
            });
        }
        if let Some(Value::Object(hooks)) = doc.get("webhooks") {
            for (name, item) in hooks {
                b.loose_path_item(pointer::push("/webhooks", name), item, 1);
            }
        }
        b.components();
        b.drain();
        Index {
            doc,
            dialect: contract.dialect,
            schemas: b.schemas,
            ops,
            params: b.params,
        }
    }

    /// The schema node at `ptr`.
    pub fn node(&self, ptr: &str) -> Option<&'a Map<String, Value>> {
        pointer::resolve(self.doc, ptr).ok()?.as_object()
    }
}

/// The JSON Schema type names of a schema (`type: x` or 3.1 `type: [x, null]`).
pub fn types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a schema declares type `t`.
pub fn has_type(schema: &Map<String, Value>, t: &str) -> bool {
    types(schema).contains(&t)
}
