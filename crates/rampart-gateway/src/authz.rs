//! The identity and authorization phases: authenticate (after route),
//! authorize request (after the request is validated, before the upstream
//! is called) and authorize response (after the upstream answered, object by
//! object).
//!
//! Authentication follows the operation's OpenAPI `security` requirements:
//! alternatives are tried in order, every scheme of an alternative must be
//! satisfied, scopes included. An operation with no requirement at all is
//! refused unless the config says otherwise; `security: []` makes it public.
//!
//! Object-level refusals answer 404, never 403, so a caller cannot tell
//! "exists but not yours" from "does not exist" (no existence oracle).
//! Function-level refusals answer 403.

use http::request;
use http::{StatusCode, header};
use rampart_config::Unsecured;
use rampart_contract::operation::MediaSchema;
use rampart_contract::shape::{ObjectFacts, ObjectsOutcome, View};
use rampart_contract::{Operation, ParamLocation, SecurityScheme, rules};
use rampart_identity::{AuthError, Principal, PrincipalKind};
use rampart_policy::{FULL_VIEW_ACTION, Phase, Query, Resource, Subject};
use serde_json::Value;

use crate::decision::{Decision, Problem};
use crate::runtime::{Api, Runtime};

fn auth_rule(e: AuthError) -> &'static rampart_contract::Rule {
    rules::by_id(e.rule_id()).unwrap_or(&rules::AUTHN_INVALID)
}

/// The decision for a refused credential.
fn refused(e: AuthError) -> Decision {
    match e {
        AuthError::InsufficientScope => Decision::new(
            StatusCode::FORBIDDEN,
            Problem::Forbidden,
            auth_rule(e),
            e.reason(),
        ),
        AuthError::KeyUnavailable => Decision::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Problem::IdentityUnavailable,
            auth_rule(e),
            e.reason(),
        ),
        _ => {
            let mut d = Decision::new(
                StatusCode::UNAUTHORIZED,
                Problem::Unauthorized,
                auth_rule(e),
                e.reason(),
            );
            d.challenge = true;
            d
        }
    }
}

/// The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive).
/// Several `Authorization` headers are refused as malformed rather than
/// verifying the first and forwarding the rest (an upstream reading the last
/// one would trust an unverified credential); callers check
/// [`duplicated_credentials`] first.
fn bearer(parts: &request::Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn api_key<'a>(
    parts: &'a request::Parts,
    query: &'a [(String, String)],
    cookies: &[(&'a str, &'a str)],
    location: ParamLocation,
    name: &str,
) -> Option<&'a str> {
    match location {
        ParamLocation::Header => parts.headers.get(name)?.to_str().ok(),
        ParamLocation::Query => query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str()),
        ParamLocation::Cookie => cookies.iter().find(|(k, _)| *k == name).map(|(_, v)| *v),
        ParamLocation::Path => None,
    }
}

/// Whether a credential arrives more than once: two `Authorization` headers,
/// or an API key header, query parameter or cookie given twice.
fn duplicated_credentials(
    api: &Api,
    parts: &request::Parts,
    query: &[(String, String)],
    cookies: &[(&str, &str)],
) -> bool {
    if parts.headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return true;
    }
    api.contract.security_schemes.values().any(|s| match s {
        SecurityScheme::ApiKey { location, name } => match location {
            ParamLocation::Header => parts.headers.get_all(name.as_str()).iter().count() > 1,
            ParamLocation::Query => query.iter().filter(|(k, _)| k == name).count() > 1,
            ParamLocation::Cookie => cookies.iter().filter(|(k, _)| k == name).count() > 1,
            ParamLocation::Path => false,
        },
        _ => false,
    })
}

/// Phase 4, authenticate: establish the principal the operation requires.
pub(crate) async fn authenticate(
    rt: &Runtime,
    api: &Api,
    op: &Operation,
    parts: &request::Parts,
    query: &[(String, String)],
) -> Result<Principal, Decision> {
    let cookies = crate::pipeline::cookies(&parts.headers);
    if duplicated_credentials(api, parts, query, &cookies) {
        return Err(refused(AuthError::Malformed));
    }
    let Some(requirements) = &op.security else {
        return match rt.config.config.identity.unsecured_operations {
            Unsecured::Allow => Ok(Principal::anonymous()),
            Unsecured::Deny => Err(Decision::new(
                StatusCode::FORBIDDEN,
                Problem::Forbidden,
                &rules::AUTHZ_UNSECURED,
                "this operation is not available",
            )),
        };
    };
    if requirements.is_empty() || requirements.iter().any(Vec::is_empty) {
        // Public. A valid bearer token still identifies the caller (a
        // policy may grant authenticated callers more); an invalid one is
        // ignored rather than refused, as the operation needs none, and the
        // caller is anonymous.
        return Ok(match bearer(parts) {
            Some(token) => rt
                .authn
                .verify_bearer(token)
                .await
                .unwrap_or_else(|_| Principal::anonymous()),
            None => Principal::anonymous(),
        });
    }
    let mut first: Option<AuthError> = None;
    'alternatives: for requirement in requirements {
        let mut principal: Option<Principal> = None;
        for (scheme_name, scopes) in requirement {
            let result = match api.contract.security_schemes.get(scheme_name) {
                Some(SecurityScheme::Bearer) => match bearer(parts) {
                    Some(token) => rt.authn.verify_bearer(token).await,
                    None => Err(AuthError::Missing),
                },
                Some(SecurityScheme::ApiKey { location, name }) => {
                    match api_key(parts, query, &cookies, *location, name) {
                        Some(key) => rt.authn.verify_api_key(key),
                        None => Err(AuthError::Missing),
                    }
                }
                // Basic, unknown or undefined schemes cannot be satisfied.
                _ => Err(AuthError::Missing),
            };
            let p = match result {
                Ok(p) if !p.has_scopes(scopes) => {
                    first = Some(prefer(first, AuthError::InsufficientScope));
                    continue 'alternatives;
                }
                Ok(p) => p,
                Err(e) => {
                    first = Some(prefer(first, e));
                    continue 'alternatives;
                }
            };
            if p.id.is_empty() || p.id.contains('\0') {
                continue 'alternatives;
            }
            principal.get_or_insert(p);
        }
        if let Some(p) = principal {
            return Ok(p);
        }
    }
    Err(refused(first.unwrap_or(AuthError::Missing)))
}

/// When several alternatives fail, report the most informative reason: a
/// refused credential says more than "missing", and a scope problem more
/// than either.
fn prefer(current: Option<AuthError>, new: AuthError) -> AuthError {
    match current {
        None | Some(AuthError::Missing) => new,
        Some(_) if new == AuthError::InsufficientScope => new,
        Some(c) => c,
    }
}

/// How a principal looks to Cedar.
pub(crate) fn subject(p: &Principal) -> Subject<'_> {
    Subject {
        id: &p.id,
        roles: &p.roles,
        scopes: &p.scopes,
        kind: match p.kind {
            PrincipalKind::Jwt { .. } => "jwt",
            PrincipalKind::ApiKey { .. } => "api_key",
            _ => "anonymous",
        },
    }
}

/// What authorization contributed to the record.
#[derive(Default)]
pub(crate) struct AuthzTrace {
    pub policies: Vec<String>,
    pub objects: Vec<String>,
}

impl AuthzTrace {
    fn add_policies(&mut self, ids: Vec<String>) {
        for id in ids {
            if !self.policies.contains(&id) && self.policies.len() < 16 {
                self.policies.push(id);
            }
        }
    }
}

/// Phase 7, authorize request: Cedar with the operation as the action and
/// the object the request names (if it names one) as the resource.
#[allow(clippy::too_many_arguments)]
pub(crate) fn authorize_request(
    rt: &Runtime,
    api: &Api,
    op: &Operation,
    principal: &Principal,
    path_values: &[String],
    query: &[(String, String)],
    trace: &mut AuthzTrace,
) -> Option<Decision> {
    let engine = rt.policy.as_ref()?;
    let (mut id, mut owner) = (None, None);
    if let Some(r) = &op.resource {
        id =
            r.id.as_ref()
                .and_then(|at| op.param_value(at, path_values, query));
        owner = r
            .owner
            .as_ref()
            .and_then(|at| op.param_value(at, path_values, query));
        if let Some(o) = id.or(owner) {
            trace.objects.push(o.to_string());
        }
    }
    let verdict = engine.decide(&Query {
        subject: subject(principal),
        action: &op.id,
        resource: Resource {
            id,
            owner,
            private: None,
        },
        phase: Phase::Request,
        api: &api.name,
        operation: &op.id,
    });
    trace.add_policies(verdict.policies);
    if verdict.allowed {
        return None;
    }
    Some(if op.resource.is_some() {
        Decision::new(
            StatusCode::NOT_FOUND,
            Problem::NotFound,
            &rules::AUTHZ_OBJECT,
            "no such object",
        )
    } else {
        Decision::new(
            StatusCode::FORBIDDEN,
            Problem::Forbidden,
            &rules::AUTHZ_FUNCTION,
            "this operation is not permitted for these credentials",
        )
    })
}

/// Phase 9, authorize response: every object of an ownership-annotated
/// shape is decided on its own — the operation's action (deny drops it, or
/// refuses the response with 404 when it is the whole response), then
/// `fullView` (deny gives the restricted view). Lists are thereby filtered
/// and redacted item by item.
#[allow(clippy::too_many_arguments)]
pub(crate) fn authorize_response(
    rt: &Runtime,
    api: &Api,
    op: &Operation,
    media: &MediaSchema,
    principal: &Principal,
    value: &mut Value,
    apply: bool,
    trace: &mut AuthzTrace,
) -> Option<ObjectsOutcome> {
    let engine = rt.policy.as_ref()?;
    let shape = media.shape.filter(|_| media.owned)?;
    let who = subject(principal);
    let mut decide = |facts: &ObjectFacts| -> View {
        let resource = Resource {
            id: facts.id.as_deref(),
            owner: facts.owner.as_deref(),
            private: facts.private,
        };
        let ask = |action: &str| {
            engine.decide(&Query {
                subject: who,
                action,
                resource,
                phase: Phase::Response,
                api: &api.name,
                operation: &op.id,
            })
        };
        let access = ask(&op.id);
        trace.add_policies(access.policies);
        if !access.allowed {
            return View::Deny;
        }
        if !facts.restrictable {
            return View::Full;
        }
        let full = ask(FULL_VIEW_ACTION);
        trace.add_policies(full.policies);
        if full.allowed {
            View::Full
        } else {
            View::Restricted
        }
    };
    let outcome = api
        .contract
        .shapes
        .authorize_objects(shape, value, apply, &mut decide);
    for id in &outcome.ids {
        if trace.objects.len() < 32 && !trace.objects.contains(id) {
            trace.objects.push(id.clone());
        }
    }
    Some(outcome)
}
