//! A compiled operation and the request checks that read it.
//!
//! Checks append [`Issue`]s instead of returning at the first problem, so one
//! response can tell a client everything wrong with its request (bounded by
//! [`MAX_ISSUES`]), and so monitor mode can log all of it.

use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use crate::params::{CoerceError, ParamLocation, Parameter, Style, ValueKind};
use crate::rules::{self, Rule};
use crate::schema::SchemaValidator;
use crate::shape::ShapeId;

/// Most issues collected for one request.
pub const MAX_ISSUES: usize = 20;

/// One thing wrong with a request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The rule broken.
    pub rule: &'static Rule,
    /// Where: `query.limit`, `header.x-api-version`, `path.riderId`, `body/role`.
    pub location: String,
    /// What is wrong, for the client.
    pub message: String,
}

impl Issue {
    /// Build an issue.
    pub fn new(
        rule: &'static Rule,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Issue {
            rule,
            location: location.into(),
            message: message.into(),
        }
    }
}

fn push(issues: &mut Vec<Issue>, issue: Issue) {
    if issues.len() < MAX_ISSUES {
        issues.push(issue);
    }
}

/// A declared media type with what is needed to check it.
#[derive(Debug, Clone)]
pub struct MediaSchema {
    /// The declared media type, lowercased (may be a range such as `application/*`).
    pub media_type: String,
    /// Whether bodies of this type are JSON and get parsed and checked.
    pub json: bool,
    /// Validator for the body, if a schema is declared.
    pub validator: Option<SchemaValidator>,
    /// Property-level shape, if a schema is declared.
    pub shape: Option<ShapeId>,
    /// Objects in bodies of this type carry ownership annotations
    /// (`x-rampart-owner`/`x-rampart-private`), so responses need
    /// object-level authorization.
    pub owned: bool,
}

/// A declared request body.
#[derive(Debug, Clone)]
pub struct RequestBody {
    /// `required`.
    pub required: bool,
    /// Declared media types.
    pub content: Vec<MediaSchema>,
}

/// Which statuses a response entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKey {
    /// One status code.
    Exact(u16),
    /// A range such as `2XX` (the leading digit).
    Range(u16),
    /// `default`.
    Default,
}

/// A declared response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// Statuses covered.
    pub status: StatusKey,
    /// Declared media types (empty: no body).
    pub content: Vec<MediaSchema>,
}

/// One security requirement: every named scheme (with scopes) must be satisfied.
pub type SecurityRequirement = Vec<(String, Vec<String>)>;

/// One operation of the contract.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`, or `METHOD /path` when the document has none.
    pub id: String,
    /// Method.
    pub method: Method,
    /// The path template as written in the document.
    pub path: String,
    /// The full route template including the base path, without trailing slash.
    pub route: String,
    /// Whether the document's template ends in `/` (the upstream gets what it declared).
    pub trailing_slash: bool,
    /// Path parameter names in template order.
    pub path_params: Vec<String>,
    /// Declared parameters (path-level merged with operation-level).
    pub params: Vec<Parameter>,
    /// Request body.
    pub body: Option<RequestBody>,
    /// Responses.
    pub responses: Vec<ResponseSpec>,
    /// Effective security requirements (operation's, or the document's); `None` when neither declares any.
    pub security: Option<Vec<SecurityRequirement>>,
    /// `deprecated`.
    pub deprecated: bool,
    /// `x-rampart-mode`, validated to be `enforce`, `monitor` or `off`.
    pub mode: Option<String>,
    /// Every `x-` extension on the operation, for later phases.
    pub extensions: Map<String, Value>,
    /// JSON pointer of the operation in the bundled document.
    pub pointer: String,
    /// Names of query parameters, headers and cookies that carry API keys (from security schemes).
    pub(crate) credential_names: Vec<(ParamLocation, String)>,
    /// The object the request is about, when the request names it
    /// (`x-rampart-resource`): lets authorization decide before the upstream is called.
    pub resource: Option<ResourceRef>,
}

/// Where, in a request, the object it is about and its owner are named.
///
/// ```yaml
/// x-rampart-resource: { id: path.riderId, owner: path.riderId }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceRef {
    /// The parameter holding the object's id.
    pub id: Option<(ParamLocation, String)>,
    /// The parameter holding the owner's principal id.
    pub owner: Option<(ParamLocation, String)>,
}

impl Operation {
    /// Whether any declared response of this operation holds objects with
    /// ownership annotations, i.e. whether its answers are authorized object
    /// by object.
    pub fn has_owned_responses(&self) -> bool {
        self.responses
            .iter()
            .any(|r| r.content.iter().any(|m| m.owned))
    }

    /// The raw value of a path or query parameter in this request.
    pub fn param_value<'v>(
        &self,
        at: &(ParamLocation, String),
        path_values: &'v [String],
        query: &'v [(String, String)],
    ) -> Option<&'v str> {
        match at.0 {
            ParamLocation::Path => self
                .path_params
                .iter()
                .position(|n| n == &at.1)
                .and_then(|i| path_values.get(i))
                .map(String::as_str),
            ParamLocation::Query => query
                .iter()
                .find(|(k, _)| k == &at.1)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// The lowercase essence of a Content-Type (`application/json; charset=utf-8` -> `application/json`).
pub fn media_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type is JSON (`application/json` or a `+json` suffix).
pub fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

/// Pick the declared media type for an actual essence: exact, then `type/*`, then `*/*`.
pub fn pick_media<'a>(content: &'a [MediaSchema], essence: &str) -> Option<&'a MediaSchema> {
    content
        .iter()
        .find(|m| m.media_type == essence)
        .or_else(|| {
            let top = essence.split('/').next().unwrap_or_default();
            content
                .iter()
                .find(|m| m.media_type.strip_suffix("/*") == Some(top))
        })
        .or_else(|| content.iter().find(|m| m.media_type == "*/*"))
}

/// Outcome of looking up the response declaration.
#[derive(Debug)]
pub enum ResponseLookup<'a> {
    /// Declared, with the matched media type when the response has a body type.
    Declared(&'a ResponseSpec, Option<&'a MediaSchema>),
    /// No entry covers the status.
    UndeclaredStatus,
    /// The status is declared, the content type is not.
    UndeclaredMediaType,
}

impl Operation {
    /// Check path parameter values (positional, decoded).
    pub fn check_path(&self, values: &[String], issues: &mut Vec<Issue>) {
        for (name, raw) in self.path_params.iter().zip(values) {
            let Some(p) = self
                .params
                .iter()
                .find(|p| p.location == ParamLocation::Path && &p.name == name)
            else {
                continue;
            };
            check_value(p, &[raw.as_str()], issues);
        }
    }

    /// Check the decoded query pairs.
    pub fn check_query(&self, pairs: &[(String, String)], issues: &mut Vec<Issue>) {
        let declared: Vec<&Parameter> = self
            .params
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .collect();
        let mut used = vec![false; pairs.len()];
        for p in &declared {
            let deep = p.style == Style::DeepObject || matches!(p.kind, ValueKind::Object(_));
            if deep && !p.json_content {
                let mut props: Vec<(&str, &str)> = Vec::new();
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let prop = if p.style == Style::DeepObject {
                        k.strip_prefix(p.name.as_str())
                            .and_then(|r| r.strip_prefix('['))
                            .and_then(|r| r.strip_suffix(']'))
                    } else if let ValueKind::Object(kinds) = &p.kind {
                        kinds.iter().find(|(n, _)| n == k).map(|(n, _)| n.as_str())
                    } else {
                        None
                    };
                    if let Some(prop) = prop {
                        used[i] = true;
                        props.push((prop, v.as_str()));
                    }
                }
                if props.is_empty() {
                    if p.required {
                        push(
                            issues,
                            Issue::new(
                                &rules::PARAM_MISSING,
                                loc(p),
                                "required parameter is missing",
                            ),
                        );
                    }
                    continue;
                }
                match p.coerce_object(&props) {
                    Ok(v) => validate(p, &v, issues),
                    Err(e) => push(issues, coerce_issue(p, e)),
                }
                continue;
            }
            let mut raw = Vec::new();
            for (i, (k, v)) in pairs.iter().enumerate() {
                if k == &p.name {
                    used[i] = true;
                    raw.push(v.as_str());
                }
            }
            if raw.is_empty() {
                if p.required {
                    push(
                        issues,
                        Issue::new(
                            &rules::PARAM_MISSING,
                            loc(p),
                            "required parameter is missing",
                        ),
                    );
                }
                continue;
            }
            check_value(p, &raw, issues);
        }
        for (i, (k, _)) in pairs.iter().enumerate() {
            if used[i] || self.is_credential(ParamLocation::Query, k) {
                continue;
            }
            push(
                issues,
                Issue::new(
                    &rules::PARAM_UNDECLARED,
                    format!("query.{}", clip(k)),
                    "undeclared query parameter",
                ),
            );
        }
    }

    /// Check headers. `infrastructure` says which undeclared header names are
    /// always fine (standard HTTP, tracing, configured allowlist).
    pub fn check_headers(
        &self,
        headers: &HeaderMap,
        infrastructure: &dyn Fn(&str) -> bool,
        reject_undeclared: bool,
        issues: &mut Vec<Issue>,
    ) {
        for p in self
            .params
            .iter()
            .filter(|p| p.location == ParamLocation::Header)
        {
            let values: Vec<&str> = headers
                .get_all(p.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                if p.required {
                    push(
                        issues,
                        Issue::new(&rules::PARAM_MISSING, loc(p), "required header is missing"),
                    );
                }
                continue;
            }
            check_value(p, &values, issues);
        }
        if !reject_undeclared {
            return;
        }
        for name in headers.keys() {
            let n = name.as_str();
            let declared = self
                .params
                .iter()
                .any(|p| p.location == ParamLocation::Header && p.name == n);
            if declared || infrastructure(n) || self.is_credential(ParamLocation::Header, n) {
                continue;
            }
            push(
                issues,
                Issue::new(
                    &rules::PARAM_UNDECLARED,
                    format!("header.{}", clip(n)),
                    "undeclared header",
                ),
            );
        }
    }

    /// Check cookies (already split into name/value pairs).
    pub fn check_cookies(
        &self,
        cookies: &[(&str, &str)],
        reject_undeclared: bool,
        issues: &mut Vec<Issue>,
    ) {
        for p in self
            .params
            .iter()
            .filter(|p| p.location == ParamLocation::Cookie)
        {
            let raw: Vec<&str> = cookies
                .iter()
                .filter(|(k, _)| *k == p.name)
                .map(|(_, v)| *v)
                .collect();
            if raw.is_empty() {
                if p.required {
                    push(
                        issues,
                        Issue::new(&rules::PARAM_MISSING, loc(p), "required cookie is missing"),
                    );
                }
                continue;
            }
            check_value(p, &raw, issues);
        }
        if !reject_undeclared {
            return;
        }
        for (k, _) in cookies {
            let declared = self
                .params
                .iter()
                .any(|p| p.location == ParamLocation::Cookie && p.name == *k);
            if !declared && !self.is_credential(ParamLocation::Cookie, k) {
                push(
                    issues,
                    Issue::new(
                        &rules::PARAM_UNDECLARED,
                        format!("cookie.{}", clip(k)),
                        "undeclared cookie",
                    ),
                );
            }
        }
    }

    fn is_credential(&self, location: ParamLocation, name: &str) -> bool {
        self.credential_names.iter().any(|(l, n)| {
            *l == location
                && if location == ParamLocation::Header {
                    n.eq_ignore_ascii_case(name)
                } else {
                    n == name
                }
        })
    }

    /// The declared response for a status and content type.
    pub fn response_for(&self, status: u16, content_type: Option<&str>) -> ResponseLookup<'_> {
        let spec = self
            .responses
            .iter()
            .find(|r| r.status == StatusKey::Exact(status))
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status == StatusKey::Range(status / 100))
            })
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status == StatusKey::Default)
            });
        let Some(spec) = spec else {
            return ResponseLookup::UndeclaredStatus;
        };
        match content_type {
            None => ResponseLookup::Declared(spec, None),
            Some(ct) => {
                let essence = media_essence(ct);
                match pick_media(&spec.content, &essence) {
                    Some(m) => ResponseLookup::Declared(spec, Some(m)),
                    None => ResponseLookup::UndeclaredMediaType,
                }
            }
        }
    }
}

fn loc(p: &Parameter) -> String {
    format!("{}.{}", p.location.as_str(), p.name)
}

/// Attacker-chosen names are echoed in problem details; keep them short.
fn clip(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(64).collect();
        c.push('…');
        c
    }
}

fn coerce_issue(p: &Parameter, e: CoerceError) -> Issue {
    match e {
        CoerceError::Repeated => Issue::new(
            &rules::PARAM_REPEATED,
            loc(p),
            "parameter given more than once",
        ),
        CoerceError::Type(m) => Issue::new(&rules::PARAM_TYPE, loc(p), m),
    }
}

fn check_value(p: &Parameter, raw: &[&str], issues: &mut Vec<Issue>) {
    match p.coerce(raw) {
        Ok(v) => validate(p, &v, issues),
        Err(e) => push(issues, coerce_issue(p, e)),
    }
}

fn validate(p: &Parameter, v: &Value, issues: &mut Vec<Issue>) {
    if let Some(val) = &p.validator {
        for violation in val.violations(v) {
            push(
                issues,
                Issue::new(&rules::PARAM_SCHEMA, loc(p), violation.message),
            );
        }
    }
}
