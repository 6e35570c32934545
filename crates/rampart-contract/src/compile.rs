//! Compiling a bundled OpenAPI document into a [`Contract`].
//!
//! Everything that can be decided once is decided here: routes, parameter
//! coercion kinds, validators, property shapes, response tables. The request
//! path only looks things up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::Method;
use serde_json::{Map, Value};

use crate::bundle::{Bundle, bundle_file};
use crate::error::{ContractError, ContractErrorKind, ContractErrors};
use crate::operation::{
    Issue, MediaSchema, Operation, RequestBody, ResponseSpec, StatusKey, is_json,
};
use crate::params::{ParamLocation, Parameter, Style, kind_of};
use crate::pointer;
use crate::router::{METHODS, RouteMatch, Router, to_matchit};
use crate::rules;
use crate::schema::{SchemaCompiler, SchemaValidator};
use crate::shape::{PropertyFinding, PropertyFindingKind, ShapeArena};
use crate::variant::{Dialect, Side};

/// Options for compiling a contract.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Overrides the base path taken from `servers[0].url`.
    pub base_path: Option<String>,
    /// Skip compiling JSON Schema validators. For analysis only (audit,
    /// inventory): a contract compiled this way validates nothing, so the
    /// gateway never sets it.
    pub skip_validators: bool,
}

/// A compiled OpenAPI document: the single model the gateway, audit, scanner
/// and inventory read.
#[derive(Debug)]
pub struct Contract {
    /// The root file.
    pub source: PathBuf,
    /// Every file the document was assembled from.
    pub files: Vec<PathBuf>,
    /// 3.0 or 3.1.
    pub dialect: Dialect,
    /// `openapi` version string.
    pub openapi: String,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// Base path every route is under ("" for none).
    pub base_path: String,
    /// Operations in document order.
    pub operations: Vec<Operation>,
    /// Property shapes of every schema used by a body.
    pub shapes: ShapeArena,
    /// The bundled document (audit and inventory read it).
    pub document: Value,
    /// `components.securitySchemes`, by name.
    pub security_schemes: std::collections::BTreeMap<String, SecurityScheme>,
    router: Router,
}

/// A security scheme, as far as authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `http` with scheme `bearer`, `oauth2` or `openIdConnect`: a bearer token in `Authorization`.
    Bearer,
    /// `apiKey` in a header, query parameter or cookie.
    ApiKey {
        /// Where.
        location: ParamLocation,
        /// Its name (lowercase for headers).
        name: String,
    },
    /// `http` with scheme `basic`: Rampart does not accept passwords; such
    /// requirements cannot be satisfied through it.
    Basic,
    /// Anything else (e.g. `mutualTLS`), named for error messages.
    Unsupported(String),
}

fn security_schemes(doc: &Value) -> std::collections::BTreeMap<String, SecurityScheme> {
    let mut out = std::collections::BTreeMap::new();
    let Some(Value::Object(schemes)) = doc.pointer("/components/securitySchemes") else {
        return out;
    };
    for (name, scheme) in schemes {
        let scheme = deref(doc, scheme);
        let ty = scheme
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let parsed = match ty {
            "http" => match scheme
                .get("scheme")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("bearer") => SecurityScheme::Bearer,
                Some("basic") => SecurityScheme::Basic,
                other => SecurityScheme::Unsupported(format!("http {}", other.unwrap_or("?"))),
            },
            "oauth2" | "openIdConnect" => SecurityScheme::Bearer,
            "apiKey" => {
                let location = scheme
                    .get("in")
                    .and_then(Value::as_str)
                    .and_then(ParamLocation::parse);
                match (location, scheme.get("name").and_then(Value::as_str)) {
                    (Some(location), Some(n)) => SecurityScheme::ApiKey {
                        location,
                        name: if location == ParamLocation::Header {
                            n.to_ascii_lowercase()
                        } else {
                            n.to_string()
                        },
                    },
                    _ => SecurityScheme::Unsupported("apiKey without in/name".into()),
                }
            }
            other => SecurityScheme::Unsupported(other.to_string()),
        };
        out.insert(name.clone(), parsed);
    }
    out
}

/// An operation matched by [`Contract::route`].
#[derive(Debug)]
pub enum Matched<'c> {
    /// Found, with decoded path parameter values in template order.
    Found(&'c Operation, Vec<String>),
    /// The path exists with other methods.
    MethodNotAllowed(Vec<Method>),
    /// Nothing matches.
    NotFound,
}

impl Contract {
    /// Load, bundle and compile `path`.
    pub fn load(path: &Path, opts: &CompileOptions) -> Result<Contract, ContractErrors> {
        let bundle = bundle_file(path)?;
        compile(bundle, opts)
    }

    /// Match a decoded, normalized route path.
    pub fn route(&self, method: &Method, route_path: &str) -> Matched<'_> {
        match self.router.at(method, route_path) {
            RouteMatch::Found { op, values } => match self.operations.get(op) {
                Some(o) => Matched::Found(o, values),
                None => Matched::NotFound,
            },
            RouteMatch::MethodNotAllowed { allowed } => Matched::MethodNotAllowed(allowed),
            RouteMatch::NotFound => Matched::NotFound,
        }
    }

    /// Look an operation up by id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }

    /// Check a parsed JSON request body against a declared media type:
    /// `readOnly` and (optionally) undeclared properties first, for precise
    /// mass-assignment findings, then the schema.
    pub fn check_request_body(
        &self,
        media: &MediaSchema,
        value: &Value,
        reject_undeclared: bool,
        issues: &mut Vec<Issue>,
    ) {
        if let Some(shape) = media.shape {
            let mut found = Vec::new();
            self.shapes
                .check_request(shape, value, reject_undeclared, &mut found);
            let mut flagged = Vec::new();
            for f in found {
                let (rule, msg) = match f.kind {
                    PropertyFindingKind::ReadOnly => (
                        &rules::BODY_READ_ONLY,
                        "property is readOnly and cannot be set",
                    ),
                    _ => (
                        &rules::BODY_UNDECLARED,
                        "property is not declared by the schema",
                    ),
                };
                flagged.push(f.pointer.clone());
                if issues.len() < crate::operation::MAX_ISSUES {
                    issues.push(Issue::new(rule, format!("body{}", f.pointer), msg));
                }
            }
            if !flagged.is_empty() {
                // The schema would only repeat these (a readOnly property is `not: {}` in the request variant).
                return;
            }
        }
        if let Some(v) = &media.validator {
            for violation in v.violations(value) {
                if issues.len() < crate::operation::MAX_ISSUES {
                    issues.push(Issue::new(
                        &rules::BODY_SCHEMA,
                        format!("body{}", violation.pointer),
                        violation.message,
                    ));
                }
            }
        }
    }

    /// Shape a parsed JSON response (strip undeclared and `writeOnly`
    /// properties when `apply`), then validate it. Returns the property
    /// findings and the schema violations.
    pub fn check_response_body(
        &self,
        media: &MediaSchema,
        value: &mut Value,
        apply: bool,
    ) -> (Vec<PropertyFinding>, Vec<crate::schema::SchemaViolation>) {
        let mut found = Vec::new();
        if let Some(shape) = media.shape {
            self.shapes.shape_response(shape, value, apply, &mut found);
        }
        let violations = match &media.validator {
            Some(v) if !v.is_valid(value) => v.violations(value),
            _ => Vec::new(),
        };
        (found, violations)
    }
}

/// Follow `$ref`s (bounded) to the node they name.
pub(crate) fn deref<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    deref_ptr(doc, node, String::new()).1
}

fn deref_ptr<'a>(doc: &'a Value, mut node: &'a Value, mut ptr: String) -> (String, &'a Value) {
    for _ in 0..32 {
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => match pointer::resolve(doc, target) {
                Ok(t) => {
                    node = t;
                    ptr = target.to_string();
                }
                Err(_) => break,
            },
            None => break,
        }
    }
    (ptr, node)
}

struct Compiler<'a> {
    doc: &'a Value,
    file: PathBuf,
    schemas: &'a SchemaCompiler,
    registry: &'a jsonschema::Registry<'a>,
    shapes: ShapeArena,
    cache: HashMap<(bool, String), SchemaValidator>,
    errors: Vec<ContractError>,
    credentials: Vec<(ParamLocation, String)>,
    skip_validators: bool,
}

/// Compile a bundle.
pub fn compile(bundle: Bundle, opts: &CompileOptions) -> Result<Contract, ContractErrors> {
    compile_with(bundle, opts, false)
}

/// Compile a bundle for analysis (audit, inventory), never for enforcement:
/// validators are skipped, and an operation whose path template the router
/// cannot express (two parameters in one segment, such as GitHub's
/// `/compare/{base}...{head}`) or that conflicts with another route is kept,
/// unrouted, instead of failing the whole load. [`Contract::route`] never
/// finds such an operation.
pub fn compile_for_analysis(
    bundle: Bundle,
    opts: &CompileOptions,
) -> Result<Contract, ContractErrors> {
    let opts = CompileOptions {
        skip_validators: true,
        ..opts.clone()
    };
    compile_with(bundle, &opts, true)
}

/// The parameter names of a template, in order (for templates the router rejects).
fn template_names(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn compile_with(
    bundle: Bundle,
    opts: &CompileOptions,
    lenient_routes: bool,
) -> Result<Contract, ContractErrors> {
    let Bundle { root, doc, files } = bundle;
    let err = |kind| ContractErrors::from(ContractError::new(root.clone(), kind));
    let openapi = match doc.get("openapi").and_then(Value::as_str) {
        Some(v) => v.to_string(),
        None if doc.get("swagger").is_some() => {
            return Err(err(ContractErrorKind::Unsupported(
                "Swagger 2.0 documents are not supported; convert to OpenAPI 3".into(),
            )));
        }
        None => {
            return Err(err(ContractErrorKind::Unsupported(
                "missing \"openapi\" version field".into(),
            )));
        }
    };
    let dialect = if openapi.starts_with("3.0") {
        Dialect::Oas30
    } else if openapi.starts_with("3.1") {
        Dialect::Oas31
    } else {
        return Err(err(ContractErrorKind::Unsupported(format!(
            "OpenAPI {openapi}; Rampart reads 3.0.x and 3.1.x"
        ))));
    };
    let schemas = SchemaCompiler::new(&doc, dialect);
    let registry = schemas
        .registry()
        .map_err(|e| err(ContractErrorKind::Schema(e)))?;
    let base_path = match &opts.base_path {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => server_base_path(&doc),
    };
    let mut c = Compiler {
        doc: &doc,
        file: root.clone(),
        schemas: &schemas,
        registry: &registry,
        shapes: ShapeArena::default(),
        cache: HashMap::new(),
        errors: Vec::new(),
        credentials: credential_names(&doc),
        skip_validators: opts.skip_validators,
    };
    let mut operations = Vec::new();
    let mut router = Router::default();
    let root_security = doc.get("security").map(parse_security);
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            let item_ptr = pointer::push("/paths", path);
            let (item_ptr, item) = deref_ptr(&doc, item, item_ptr);
            let Value::Object(item) = item else { continue };
            let template = format!("{base_path}{path}");
            let trailing = template.len() > 1 && template.ends_with('/');
            let route_template = if trailing {
                template.trim_end_matches('/').to_string()
            } else {
                template.clone()
            };
            let (route, names) = match to_matchit(&route_template) {
                Ok((route, names)) => (Some(route), names),
                Err(_) if lenient_routes => (None, template_names(&route_template)),
                Err(e) => {
                    c.errors.push(
                        ContractError::new(&root, ContractErrorKind::Invalid(e)).at(item_ptr),
                    );
                    continue;
                }
            };
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let op_ptr = pointer::push(&item_ptr, m);
                let Ok(method) = Method::from_bytes(m.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                let compiled = c.operation(
                    item,
                    op,
                    &op_ptr,
                    method.clone(),
                    path,
                    &route_template,
                    trailing,
                    &names,
                    root_security.as_ref(),
                );
                let Some(compiled) = compiled else { continue };
                let added = match &route {
                    Some(route) => router.add(route, method, operations.len()),
                    None => Ok(()),
                };
                if let Err(e) = added {
                    if lenient_routes {
                        operations.push(compiled);
                        continue;
                    }
                    c.errors.push(
                        ContractError::new(&root, ContractErrorKind::RouteConflict(e)).at(op_ptr),
                    );
                    continue;
                }
                operations.push(compiled);
            }
        }
    }
    if let Err(e) = router.build()
        && !lenient_routes
    {
        c.errors
            .push(ContractError::new(&root, ContractErrorKind::RouteConflict(e)).at("/paths"));
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, op) in operations.iter().enumerate() {
        if let Some(prev) = ids.insert(op.id.as_str(), i) {
            let _ = prev;
            c.errors.push(
                ContractError::new(
                    &root,
                    ContractErrorKind::Invalid(format!("operationId \"{}\" is used twice", op.id)),
                )
                .at(op.pointer.clone()),
            );
        }
    }
    for (ptr, msg) in std::mem::take(&mut c.shapes.errors) {
        c.errors
            .push(ContractError::new(&root, ContractErrorKind::Invalid(msg)).at(ptr));
    }
    if !c.errors.is_empty() {
        return Err(ContractErrors(c.errors));
    }
    let mut shapes = c.shapes;
    shapes.finish();
    for op in &mut operations {
        for r in &mut op.responses {
            for m in &mut r.content {
                m.owned = m.shape.is_some_and(|s| shapes.has_ownership(s));
            }
        }
    }
    let info = doc.get("info");
    let text = |k: &str| {
        info.and_then(|i| i.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (title, version) = (text("title"), text("version"));
    drop(registry);
    drop(schemas);
    let security_schemes = security_schemes(&doc);
    Ok(Contract {
        security_schemes,
        source: root,
        files,
        dialect,
        openapi,
        title,
        version,
        base_path,
        operations,
        shapes,
        document: doc,
        router,
    })
}

/// The path of `servers[0].url`, with server variables replaced by their defaults.
fn server_base_path(doc: &Value) -> String {
    let Some(server) = doc.get("servers").and_then(|s| s.get(0)) else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(Value::Object(vars)) = server.get("variables") {
        for (name, var) in vars {
            let default = var
                .get("default")
                .and_then(Value::as_str)
                .unwrap_or_default();
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("")
        }
        None => url.as_str(),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/').to_string()
}

fn parse_security(v: &Value) -> Vec<crate::operation::SecurityRequirement> {
    v.as_array()
        .map(|reqs| {
            reqs.iter()
                .map(|req| {
                    req.as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, scopes)| {
                                    let scopes = scopes
                                        .as_array()
                                        .map(|a| {
                                            a.iter()
                                                .filter_map(Value::as_str)
                                                .map(str::to_string)
                                                .collect()
                                        })
                                        .unwrap_or_default();
                                    (k.clone(), scopes)
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where API keys travel, from `apiKey` security schemes: these names are never "undeclared".
fn credential_names(doc: &Value) -> Vec<(ParamLocation, String)> {
    let mut out = Vec::new();
    if let Some(Value::Object(schemes)) = doc.pointer("/components/securitySchemes") {
        for scheme in schemes.values() {
            let scheme = deref(doc, scheme);
            if scheme.get("type").and_then(Value::as_str) != Some("apiKey") {
                continue;
            }
            let loc = scheme
                .get("in")
                .and_then(Value::as_str)
                .and_then(ParamLocation::parse);
            let name = scheme.get("name").and_then(Value::as_str);
            if let (Some(loc), Some(name)) = (loc, name) {
                let name = if loc == ParamLocation::Header {
                    name.to_ascii_lowercase()
                } else {
                    name.to_string()
                };
                out.push((loc, name));
            }
        }
    }
    out
}

impl Compiler<'_> {
    fn error(&mut self, ptr: &str, kind: ContractErrorKind) {
        self.errors
            .push(ContractError::new(self.file.clone(), kind).at(ptr.to_string()));
    }

    fn validator(&mut self, side: Side, ptr: &str) -> Option<SchemaValidator> {
        if self.skip_validators {
            return None;
        }
        let key = (side == Side::Request, ptr.to_string());
        if let Some(v) = self.cache.get(&key) {
            return Some(v.clone());
        }
        match self.schemas.compile(self.registry, side, ptr) {
            Ok(v) => {
                self.cache.insert(key, v.clone());
                Some(v)
            }
            Err(e) => {
                self.error(ptr, ContractErrorKind::Schema(e));
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        item: &Map<String, Value>,
        op: &Value,
        op_ptr: &str,
        method: Method,
        path: &str,
        route: &str,
        trailing_slash: bool,
        path_params: &[String],
        root_security: Option<&Vec<crate::operation::SecurityRequirement>>,
    ) -> Option<Operation> {
        let Value::Object(o) = op else {
            self.error(
                op_ptr,
                ContractErrorKind::Invalid("operation must be an object".into()),
            );
            return None;
        };
        let id = o
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{method} {path}"));
        // Operation-level parameters override path-level ones with the same name and location.
        let mut params: Vec<Parameter> = Vec::new();
        let item_ptr = op_ptr.rsplit_once('/').map(|(a, _)| a).unwrap_or_default();
        for (list, base) in [
            (
                item.get("parameters"),
                pointer::push(item_ptr, "parameters"),
            ),
            (o.get("parameters"), pointer::push(op_ptr, "parameters")),
        ] {
            let Some(Value::Array(list)) = list else {
                continue;
            };
            for (i, p) in list.iter().enumerate() {
                if let Some(param) = self.parameter(p, format!("{base}/{i}")) {
                    params.retain(|q| !(q.location == param.location && q.name == param.name));
                    params.push(param);
                }
            }
        }
        for name in path_params {
            if !params
                .iter()
                .any(|p| p.location == ParamLocation::Path && &p.name == name)
            {
                self.error(
                    op_ptr,
                    ContractErrorKind::Invalid(format!(
                        "path parameter \"{name}\" of {path} is not declared"
                    )),
                );
            }
        }
        let body = match o.get("requestBody") {
            Some(b) => self.request_body(b, pointer::push(op_ptr, "requestBody")),
            None => None,
        };
        let mut responses = Vec::new();
        if let Some(Value::Object(rs)) = o.get("responses") {
            let base = pointer::push(op_ptr, "responses");
            for (code, r) in rs {
                if code.starts_with("x-") {
                    continue;
                }
                let status = match parse_status(code) {
                    Some(s) => s,
                    None => {
                        self.error(
                            &pointer::push(&base, code),
                            ContractErrorKind::Invalid(format!("\"{code}\" is not a status code")),
                        );
                        continue;
                    }
                };
                let (rptr, r) = deref_ptr(self.doc, r, pointer::push(&base, code));
                let content = self.content(r, &rptr, Side::Response);
                responses.push(ResponseSpec { status, content });
            }
        }
        let security = o
            .get("security")
            .map(parse_security)
            .or_else(|| root_security.cloned());
        let mode = match o.get("x-rampart-mode") {
            None => None,
            Some(Value::String(m)) if matches!(m.as_str(), "enforce" | "monitor" | "off") => {
                Some(m.clone())
            }
            // YAML 1.1 readers turn a bare `off` into `false`.
            Some(Value::Bool(false)) => Some("off".to_string()),
            Some(other) => {
                self.error(
                    &pointer::push(op_ptr, "x-rampart-mode"),
                    ContractErrorKind::Invalid(format!(
                        "x-rampart-mode must be enforce, monitor or off, not {other}"
                    )),
                );
                None
            }
        };
        let resource = match o.get("x-rampart-resource") {
            None => None,
            Some(v) => match parse_resource(v, &params) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.error(
                        &pointer::push(op_ptr, "x-rampart-resource"),
                        ContractErrorKind::Invalid(e),
                    );
                    None
                }
            },
        };
        let extensions = o
            .iter()
            .filter(|(k, _)| k.starts_with("x-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Operation {
            id,
            method,
            path: path.to_string(),
            route: route.to_string(),
            trailing_slash,
            path_params: path_params.to_vec(),
            params,
            body,
            responses,
            security,
            deprecated: o.get("deprecated") == Some(&Value::Bool(true)),
            mode,
            extensions,
            pointer: op_ptr.to_string(),
            credential_names: self.credentials.clone(),
            resource,
        })
    }

    fn parameter(&mut self, p: &Value, ptr: String) -> Option<Parameter> {
        let (ptr, p) = deref_ptr(self.doc, p, ptr);
        let name = p.get("name").and_then(Value::as_str);
        let location = p
            .get("in")
            .and_then(Value::as_str)
            .and_then(ParamLocation::parse);
        let (Some(name), Some(location)) = (name, location) else {
            self.error(
                &ptr,
                ContractErrorKind::Invalid("parameter needs a \"name\" and a valid \"in\"".into()),
            );
            return None;
        };
        let style = match p.get("style").and_then(Value::as_str) {
            Some("form") => Style::Form,
            Some("simple") => Style::Simple,
            Some("spaceDelimited") => Style::SpaceDelimited,
            Some("pipeDelimited") => Style::PipeDelimited,
            Some("deepObject") => Style::DeepObject,
            Some(_) => Style::Other,
            None => match location {
                ParamLocation::Query | ParamLocation::Cookie => Style::Form,
                _ => Style::Simple,
            },
        };
        let explode = p
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style == Style::Form);
        let (schema_ptr, json_content) = if p.get("schema").is_some() {
            (Some(pointer::push(&ptr, "schema")), false)
        } else if let Some(Value::Object(content)) = p.get("content") {
            let json = content.keys().any(|k| is_json(&k.to_ascii_lowercase()));
            let first = content.keys().next().cloned().unwrap_or_default();
            (
                Some(pointer::push(
                    &pointer::push(&pointer::push(&ptr, "content"), &first),
                    "schema",
                )),
                json,
            )
        } else {
            (None, false)
        };
        let kind = match p.get("schema") {
            Some(s) => kind_of(self.doc, s),
            None => crate::params::ValueKind::String,
        };
        let validator = match &schema_ptr {
            Some(sp) if pointer::resolve(self.doc, sp).is_ok() => self.validator(Side::Request, sp),
            _ => None,
        };
        let name = if location == ParamLocation::Header {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        };
        Some(Parameter {
            name,
            location,
            required: location == ParamLocation::Path
                || p.get("required") == Some(&Value::Bool(true)),
            style,
            explode,
            kind,
            json_content,
            validator,
            deprecated: p.get("deprecated") == Some(&Value::Bool(true)),
        })
    }

    fn request_body(&mut self, b: &Value, ptr: String) -> Option<RequestBody> {
        let (ptr, b) = deref_ptr(self.doc, b, ptr);
        Some(RequestBody {
            required: b.get("required") == Some(&Value::Bool(true)),
            content: self.content(b, &ptr, Side::Request),
        })
    }

    fn content(&mut self, holder: &Value, ptr: &str, side: Side) -> Vec<MediaSchema> {
        let mut out = Vec::new();
        let Some(Value::Object(content)) = holder.get("content") else {
            return out;
        };
        let base = pointer::push(ptr, "content");
        for (mt, media) in content {
            let media_type = crate::operation::media_essence(mt);
            let mptr = pointer::push(&base, mt);
            let json = is_json(&media_type);
            let (validator, shape) = match media.get("schema") {
                Some(_) if json => {
                    let sptr = pointer::push(&mptr, "schema");
                    let v = self.validator(side, &sptr);
                    let s = self.shapes.intern(self.doc, &sptr);
                    (v, Some(s))
                }
                _ => (None, None),
            };
            out.push(MediaSchema {
                media_type,
                json,
                validator,
                shape,
                owned: false,
            });
        }
        out
    }
}

/// `x-rampart-resource: {id: path.riderId, owner: path.riderId}`: each value
/// names a declared path or query parameter.
fn parse_resource(
    v: &Value,
    params: &[Parameter],
) -> Result<crate::operation::ResourceRef, String> {
    let Value::Object(m) = v else {
        return Err("x-rampart-resource must be an object with `id` and/or `owner`".into());
    };
    let mut r = crate::operation::ResourceRef::default();
    for (k, val) in m {
        let Some(text) = val.as_str() else {
            return Err(format!(
                "x-rampart-resource.{k} must be a string such as \"path.id\""
            ));
        };
        let (loc, name) = text
            .split_once('.')
            .and_then(|(l, n)| Some((ParamLocation::parse(l)?, n)))
            .filter(|(l, _)| matches!(l, ParamLocation::Path | ParamLocation::Query))
            .ok_or_else(|| {
                format!("x-rampart-resource.{k}: \"{text}\" is not `path.<name>` or `query.<name>`")
            })?;
        if !params.iter().any(|p| p.location == loc && p.name == name) {
            return Err(format!(
                "x-rampart-resource.{k}: the operation declares no {text} parameter"
            ));
        }
        let at = Some((loc, name.to_string()));
        match k.as_str() {
            "id" => r.id = at,
            "owner" => r.owner = at,
            other => {
                return Err(format!(
                    "x-rampart-resource has no setting \"{other}\" (use id, owner)"
                ));
            }
        }
    }
    Ok(r)
}

fn parse_status(code: &str) -> Option<StatusKey> {
    if code == "default" {
        return Some(StatusKey::Default);
    }
    let b = code.as_bytes();
    if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"XX") && (b'1'..=b'5').contains(&b[0]) {
        return Some(StatusKey::Range(u16::from(b[0] - b'0')));
    }
    match code.parse::<u16>() {
        Ok(n) if (100..=599).contains(&n) => Some(StatusKey::Exact(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_base_path_handles_absolute_relative_and_variables() {
        assert_eq!(
            server_base_path(&json!({"servers": [{"url": "/api/"}]})),
            "/api"
        );
        assert_eq!(
            server_base_path(&json!({"servers": [{"url": "https://x.example.com/v2"}]})),
            "/v2"
        );
        assert_eq!(
            server_base_path(&json!({"servers": [{"url": "https://x.example.com"}]})),
            ""
        );
        assert_eq!(
            server_base_path(&json!({"servers": [{"url": "{scheme}://h/{base}",
                "variables": {"scheme": {"default": "https"}, "base": {"default": "v1"}}}]})),
            "/v1"
        );
    }

    #[test]
    fn analysis_keeps_operations_the_router_cannot_express() {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/compare/{base}...{head}": {"get": {"operationId": "compare",
                "parameters": [{"name": "base", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"name": "head", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}}}}}});
        let bundle = || Bundle {
            root: "a.json".into(),
            doc: doc.clone(),
            files: vec![],
        };
        assert!(compile(bundle(), &CompileOptions::default()).is_err());
        let c = compile_for_analysis(bundle(), &CompileOptions::default()).unwrap();
        assert_eq!(c.operations.len(), 1);
        assert_eq!(
            c.operations[0].path_params,
            vec!["base".to_string(), "head".to_string()]
        );
        assert!(matches!(
            c.route(&Method::GET, "/compare/a...b"),
            Matched::NotFound
        ));
    }

    #[test]
    fn status_keys() {
        assert_eq!(parse_status("200"), Some(StatusKey::Exact(200)));
        assert_eq!(parse_status("4XX"), Some(StatusKey::Range(4)));
        assert_eq!(parse_status("default"), Some(StatusKey::Default));
        assert_eq!(parse_status("abc"), None);
    }
}
