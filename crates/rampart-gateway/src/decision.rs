//! Typed decisions: what a phase concluded, and the one place that turns a
//! decision into an RFC 9457 problem response.
//!
//! A phase returns [`Outcome::Continue`] or [`Outcome::Respond`] with a
//! [`Decision`]. The decision carries the status, the problem type, the rule
//! and the reason; nothing else builds error responses, so every refusal looks
//! the same to clients and lands in the security log the same way.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use rampart_contract::{Issue, Rule};
use serde::Serialize;

use crate::body::{BoxBody, full};

/// What a phase concluded.
#[derive(Debug)]
pub enum Outcome {
    /// Pass the exchange on to the next phase.
    Continue,
    /// End the exchange with this decision.
    Respond(Decision),
}

/// The problem types Rampart answers with (the `type` URI of RFC 9457).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The request target or method is malformed or ambiguous.
    MalformedRequest,
    /// No declared operation matches.
    NotFound,
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// Parameters or body break the contract.
    ContractViolation,
    /// The content type is not declared.
    UnsupportedMediaType,
    /// The body is over the size limit.
    PayloadTooLarge,
    /// Headers over the limits.
    HeadersTooLarge,
    /// The upstream's answer broke the contract.
    BadUpstreamResponse,
    /// The upstream could not be reached.
    UpstreamUnavailable,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The client was too slow to send its body.
    RequestTimeout,
    /// Credentials are missing or refused.
    Unauthorized,
    /// The principal may not do this.
    Forbidden,
    /// The identity provider's keys could not be fetched.
    IdentityUnavailable,
    /// A rate limit is exhausted.
    TooManyRequests,
    /// The shared rate-limit store is unreachable (fail closed).
    LimitUnavailable,
    /// The audit store could not record the exchange, and the config
    /// requires a record before any answer.
    AuditUnavailable,
    /// The upstream's concurrency cap and queue are full.
    UpstreamBusy,
}

impl Problem {
    fn slug(self) -> &'static str {
        match self {
            Problem::MalformedRequest => "malformed-request",
            Problem::NotFound => "not-found",
            Problem::MethodNotAllowed => "method-not-allowed",
            Problem::ContractViolation => "contract-violation",
            Problem::UnsupportedMediaType => "unsupported-media-type",
            Problem::PayloadTooLarge => "payload-too-large",
            Problem::HeadersTooLarge => "headers-too-large",
            Problem::BadUpstreamResponse => "bad-upstream-response",
            Problem::UpstreamUnavailable => "upstream-unavailable",
            Problem::UpstreamTimeout => "upstream-timeout",
            Problem::RequestTimeout => "request-timeout",
            Problem::Unauthorized => "unauthorized",
            Problem::Forbidden => "forbidden",
            Problem::IdentityUnavailable => "identity-unavailable",
            Problem::TooManyRequests => "too-many-requests",
            Problem::LimitUnavailable => "rate-limit-unavailable",
            Problem::AuditUnavailable => "audit-unavailable",
            Problem::UpstreamBusy => "upstream-busy",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Problem::MalformedRequest => "Malformed or ambiguous request",
            Problem::NotFound => "Not found",
            Problem::MethodNotAllowed => "Method not allowed",
            Problem::ContractViolation => "Request does not match the API contract",
            Problem::UnsupportedMediaType => "Unsupported media type",
            Problem::PayloadTooLarge => "Payload too large",
            Problem::HeadersTooLarge => "Request headers too large",
            Problem::BadUpstreamResponse => "Bad gateway",
            Problem::UpstreamUnavailable => "Upstream unavailable",
            Problem::UpstreamTimeout => "Upstream timeout",
            Problem::RequestTimeout => "Request timeout",
            Problem::Unauthorized => "Unauthorized",
            Problem::Forbidden => "Forbidden",
            Problem::IdentityUnavailable => "Identity provider unavailable",
            Problem::TooManyRequests => "Too many requests",
            Problem::LimitUnavailable => "Rate limiting unavailable",
            Problem::AuditUnavailable => "Audit store unavailable",
            Problem::UpstreamBusy => "Upstream busy",
        }
    }
}

/// A decision to end an exchange.
#[derive(Debug, Clone)]
pub struct Decision {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// Problem type.
    pub problem: Problem,
    /// The rule that decided.
    pub rule: &'static Rule,
    /// Client-facing reason (no internal detail).
    pub detail: String,
    /// Individual issues, when the contract check found several.
    pub issues: Vec<Issue>,
    /// For 405: the methods that exist.
    pub allow: Vec<Method>,
    /// Send a `WWW-Authenticate: Bearer` challenge (401s).
    pub challenge: bool,
    /// Seconds for `Retry-After` (429s).
    pub retry_after: Option<u64>,
}

impl Decision {
    /// A decision with no issue list.
    pub fn new(
        status: StatusCode,
        problem: Problem,
        rule: &'static Rule,
        detail: impl Into<String>,
    ) -> Self {
        Decision {
            status,
            problem,
            rule,
            detail: detail.into(),
            issues: Vec::new(),
            allow: Vec::new(),
            challenge: false,
            retry_after: None,
        }
    }

    /// A contract violation from a list of issues. The status follows the
    /// most fundamental issue: a wrong media type (415) before malformed input
    /// (400) before a well-formed body that breaks its schema (422).
    pub fn from_issues(issues: Vec<Issue>) -> Self {
        use rampart_contract::rules as r;
        let rank = |i: &Issue| -> (u8, StatusCode, Problem) {
            let id = i.rule.id;
            if id == r::BODY_TOO_LARGE.id || id == r::LIMIT_JSON.id {
                (0, StatusCode::PAYLOAD_TOO_LARGE, Problem::PayloadTooLarge)
            } else if id == r::AUTHZ_WRITE_FIELD.id {
                (1, StatusCode::FORBIDDEN, Problem::Forbidden)
            } else if id == r::BODY_MEDIA_TYPE.id {
                (
                    1,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Problem::UnsupportedMediaType,
                )
            } else if id == r::BODY_SCHEMA.id
                || id == r::BODY_READ_ONLY.id
                || id == r::BODY_UNDECLARED.id
            {
                (
                    3,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Problem::ContractViolation,
                )
            } else {
                (2, StatusCode::BAD_REQUEST, Problem::ContractViolation)
            }
        };
        let first = issues.iter().min_by_key(|i| rank(i).0);
        let (status, problem, rule, detail) = match first {
            Some(i) => {
                let (_, s, p) = rank(i);
                (s, p, i.rule, format!("{}: {}", i.location, i.message))
            }
            None => (
                StatusCode::BAD_REQUEST,
                Problem::ContractViolation,
                &r::BODY_SCHEMA,
                "request does not match the contract".to_string(),
            ),
        };
        Decision {
            status,
            problem,
            rule,
            detail,
            issues,
            allow: Vec::new(),
            challenge: false,
            retry_after: None,
        }
    }

    /// Rule ids of this decision (the deciding rule first, then each issue's).
    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut ids = vec![self.rule.id];
        for i in &self.issues {
            if !ids.contains(&i.rule.id) {
                ids.push(i.rule.id);
            }
        }
        ids
    }

    /// Render the RFC 9457 `application/problem+json` response.
    pub fn into_response(&self, request_id: &str) -> Response<BoxBody> {
        #[derive(Serialize)]
        struct Item<'a> {
            rule: &'a str,
            location: &'a str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "type")]
            type_: String,
            title: &'a str,
            status: u16,
            detail: &'a str,
            instance: String,
            request_id: &'a str,
            rule: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            errors: Vec<Item<'a>>,
        }
        let body = Body {
            type_: format!("https://rampart.dev/problems/{}", self.problem.slug()),
            title: self.problem.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            instance: format!("urn:rampart:request:{request_id}"),
            request_id,
            rule: self.rule.id,
            // Issues about an upstream response describe the upstream's data,
            // which may be exactly what must not leak: they go to the
            // security log only.
            errors: if self.problem == Problem::BadUpstreamResponse {
                Vec::new()
            } else {
                self.issues
                    .iter()
                    .map(|i| Item {
                        rule: i.rule.id,
                        location: &i.location,
                        message: &i.message,
                    })
                    .collect()
            },
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = Response::new(full(Bytes::from(bytes)));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-request-id", v);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rampart\""),
            );
        }
        if !self.allow.is_empty() {
            let allow = self
                .allow
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&allow) {
                h.insert(header::ALLOW, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_contract::rules;

    #[test]
    fn media_type_outranks_schema_issues() {
        let d = Decision::from_issues(vec![
            Issue::new(&rules::BODY_SCHEMA, "body/age", "too small"),
            Issue::new(
                &rules::BODY_MEDIA_TYPE,
                "header.content-type",
                "text/plain not declared",
            ),
        ]);
        assert_eq!(d.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            d.rule_ids(),
            vec!["contract.body.media-type", "contract.body.schema"]
        );
    }

    #[test]
    fn problem_json_carries_request_id_and_rule() {
        let d = Decision::new(
            StatusCode::NOT_FOUND,
            Problem::NotFound,
            &rules::ROUTE_UNKNOWN,
            "no such operation",
        );
        let resp = d.into_response("abc123");
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        assert_eq!(resp.headers()["x-request-id"], "abc123");
    }
}
