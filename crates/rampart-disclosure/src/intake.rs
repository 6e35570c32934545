//! The public intake: `security.txt`, the report form, report submission
//! (JSON or form) and status pages, behind one transport-agnostic handler.
//!
//! The gateway owns the sockets; this module only sees a method, a path,
//! two headers, the client's address and a body already bounded by
//! [`Intake::max_body_bytes`]. Mounting it is a few lines:
//!
//! ```ignore
//! if intake.routes(req.uri().path()) {
//!     let body = read_bounded(req.body, intake.max_body_bytes() + 1).await?;
//!     let answer = intake.handle(IntakeRequest { method, path, content_type, accept, client_ip, body: &body }).await;
//!     return answer.into_http();
//! }
//! ```
//!
//! Every submission is rate-limited per client address (IPv6 per /64, so
//! one host cannot rotate through its prefix) before anything is parsed,
//! and refused past the open-report cap, so a flood costs a counter, not
//! disk. Status tokens are looked up by hash and compared in constant
//! time; a wrong token is a 404 whatever it looks like.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::SystemTime;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use http::{Method, StatusCode};
use rampart_config::DisclosureConfig;
use serde::Serialize;

use crate::report::{HistoryEntry, NewReport};
use crate::sla::SlaStatus;
use crate::time::{millis, rfc3339};
use crate::{DisclosureError, Disclosures, html, problem, security_txt};

/// Where RFC 9116 puts the file.
pub const SECURITY_TXT_PATH: &str = "/.well-known/security.txt";
/// Longest token looked up; real ones are 43 characters.
const MAX_TOKEN_CHARS: usize = 128;
/// Addresses the rate limiter tracks before forgetting idle ones.
const MAX_TRACKED_ADDRESSES: usize = 100_000;
/// Retry-After when the open-report cap is reached.
const FULL_RETRY_AFTER_SECS: u64 = 3600;

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
/// Served with every HTML page: nothing but inline style may load, and no
/// form may post anywhere but here.
const HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the gateway passes in.
#[derive(Debug, Clone, Copy)]
pub struct IntakeRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, without the query.
    pub path: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Accept` header, if any.
    pub accept: Option<&'a str>,
    /// The client's address (as the gateway resolved it, proxies considered).
    pub client_ip: IpAddr,
    /// The body, read up to [`Intake::max_body_bytes`] + 1 bytes.
    pub body: &'a [u8],
}

/// What the gateway sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeResponse {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// Other headers (security headers, `Retry-After`, `Location`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl IntakeResponse {
    fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        let mut headers = vec![("x-content-type-options", "nosniff".to_owned())];
        if content_type == HTML {
            headers.push(("content-security-policy", HTML_CSP.to_owned()));
            headers.push(("x-frame-options", "DENY".to_owned()));
            headers.push(("referrer-policy", "no-referrer".to_owned()));
        }
        IntakeResponse {
            status,
            content_type,
            headers,
            body,
        }
    }

    fn no_store(mut self) -> Self {
        self.headers.push(("cache-control", "no-store".to_owned()));
        self
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn problem(status: StatusCode, slug: &str, detail: &str) -> Self {
        IntakeResponse::new(
            status,
            problem::PROBLEM_JSON,
            problem::body(status, slug, detail),
        )
        .no_store()
    }

    /// The response as an `http` response, ready for hyper or axum (the
    /// caller wraps the bytes in its body type).
    pub fn into_http(self) -> http::Response<bytes::Bytes> {
        let mut response = http::Response::new(bytes::Bytes::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type),
        );
        for (name, value) in self.headers {
            // Values are ours (numbers, fixed strings, base64url paths);
            // one that is somehow not a valid header is dropped, not sent.
            if let Ok(value) = http::HeaderValue::try_from(value) {
                headers.append(name, value);
            }
        }
        response
    }

    /// The first value of header `name`, if set.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Limiter = RateLimiter<IpAddr, HashMapStateStore<IpAddr>, DefaultClock>;

/// The intake, built once per configuration (re)load.
pub struct Intake {
    desk: Arc<Disclosures>,
    security_txt: Option<String>,
    enabled: bool,
    path: String,
    status_prefix: String,
    max_body: usize,
    max_open: u64,
    limiter: Limiter,
    clock: DefaultClock,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("enabled", &self.enabled)
            .field("path", &self.path)
            .field("status_prefix", &self.status_prefix)
            .finish_non_exhaustive()
    }
}

impl Intake {
    /// Builds the intake from the `disclosure` section, over `desk`. The
    /// `security.txt` text is rendered now, once.
    pub fn new(
        config: &DisclosureConfig,
        desk: Arc<Disclosures>,
    ) -> Result<Intake, DisclosureError> {
        let security_txt = config
            .security_txt
            .as_ref()
            .map(security_txt::render)
            .transpose()
            .map_err(|e| DisclosureError::Config(e.to_string()))?;
        let per_hour = NonZeroU32::new(config.intake.per_ip_per_hour).ok_or_else(|| {
            DisclosureError::Config(
                "disclosure.intake.per_ip_per_hour must be greater than 0".to_owned(),
            )
        })?;
        let clock = DefaultClock::default();
        Ok(Intake {
            desk,
            security_txt,
            enabled: config.intake.enabled,
            path: config.intake.path.clone(),
            status_prefix: format!("{}/", config.intake.status_path),
            max_body: usize::try_from(config.intake.max_body_bytes).unwrap_or(usize::MAX),
            max_open: config.intake.max_open_reports,
            limiter: RateLimiter::hashmap_with_clock(Quota::per_hour(per_hour), clock.clone()),
            clock,
        })
    }

    /// `path` as logs and audit events may keep it: a status page's token
    /// is a bearer secret (whoever has it reads the report), so it is cut.
    pub fn loggable_path<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        if self.enabled && path.starts_with(&self.status_prefix) {
            std::borrow::Cow::Owned(format!("{}[token]", self.status_prefix))
        } else {
            std::borrow::Cow::Borrowed(path)
        }
    }

    /// Whether `path` is the intake's to answer.
    pub fn routes(&self, path: &str) -> bool {
        (self.security_txt.is_some() && path == SECURITY_TXT_PATH)
            || (self.enabled && (path == self.path || path.starts_with(&self.status_prefix)))
    }

    /// The largest body accepted; read at most one byte more, so an
    /// oversize body is recognized without buffering it.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body
    }

    /// Answers one request (which [`Intake::routes`] accepted).
    pub async fn handle(&self, req: IntakeRequest<'_>) -> IntakeResponse {
        let now = SystemTime::now();
        let get = req.method == Method::GET || req.method == Method::HEAD;
        if req.path == SECURITY_TXT_PATH
            && let Some(text) = &self.security_txt
        {
            if !get {
                return not_allowed("GET, HEAD");
            }
            return IntakeResponse::new(
                StatusCode::OK,
                security_txt::CONTENT_TYPE,
                text.clone().into_bytes(),
            );
        }
        if !self.enabled {
            return IntakeResponse::problem(StatusCode::NOT_FOUND, "not-found", "no such page");
        }
        if req.path == self.path {
            if get {
                return IntakeResponse::new(
                    StatusCode::OK,
                    HTML,
                    html::form(&self.path).into_bytes(),
                );
            }
            if req.method != Method::POST {
                return not_allowed("GET, HEAD, POST");
            }
            return self.submit(&req, now).await;
        }
        if let Some(token) = req.path.strip_prefix(&self.status_prefix) {
            if !get {
                return not_allowed("GET, HEAD");
            }
            return self.status(token, req.accept, now).await;
        }
        IntakeResponse::problem(StatusCode::NOT_FOUND, "not-found", "no such page")
    }

    async fn submit(&self, req: &IntakeRequest<'_>, now: SystemTime) -> IntakeResponse {
        // Rate limit first: a flood is turned away before any parsing.
        if let Err(not_until) = self.limiter.check_key(&rate_key(req.client_ip)) {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return IntakeResponse::problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "too many reports from this address; try again later",
            )
            .header("retry-after", secs.max(1).to_string());
        }
        if self.limiter.len() > MAX_TRACKED_ADDRESSES {
            self.limiter.retain_recent();
        }
        if req.body.len() > self.max_body {
            return IntakeResponse::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                &format!("a report is at most {} bytes", self.max_body),
            );
        }
        let essence = req
            .content_type
            .and_then(|ct| ct.split(';').next())
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let from_form = match essence.as_str() {
            "application/json" => false,
            "application/x-www-form-urlencoded" => true,
            _ => {
                return IntakeResponse::problem(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "send application/json or application/x-www-form-urlencoded",
                );
            }
        };
        let parsed = if from_form {
            parse_form(req.body)
        } else {
            parse_json(req.body)
        };
        let report = match parsed.and_then(|r| r.validate(self.max_body).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(why) => {
                return IntakeResponse::problem(StatusCode::BAD_REQUEST, "invalid-report", &why);
            }
        };
        let (id, token) = match self.desk.file(&report, self.max_open, now).await {
            Ok(filed) => filed,
            Err(DisclosureError::Full(_)) => {
                return IntakeResponse::problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "intake-full",
                    "too many reports are open; please try again later or use the contact in security.txt",
                )
                .header("retry-after", FULL_RETRY_AFTER_SECS.to_string());
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot file a disclosure report");
                return IntakeResponse::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store-failed",
                    "the report could not be stored; please try again later",
                );
            }
        };
        tracing::info!(report = id, "disclosure report received");
        let status_url = format!("{}{}", self.status_prefix, token.token);
        let response = if from_form {
            IntakeResponse::new(
                StatusCode::CREATED,
                HTML,
                html::filed(id, &status_url).into_bytes(),
            )
        } else {
            #[derive(Serialize)]
            struct Filed<'a> {
                id: i64,
                token: &'a str,
                status_url: &'a str,
            }
            let body = serde_json::to_vec(&Filed {
                id,
                token: &token.token,
                status_url: &status_url,
            })
            .unwrap_or_default();
            IntakeResponse::new(StatusCode::CREATED, JSON, body)
        };
        response.no_store().header("location", status_url)
    }

    async fn status(&self, token: &str, accept: Option<&str>, now: SystemTime) -> IntakeResponse {
        let not_found = || {
            IntakeResponse::problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "no report has this status link",
            )
        };
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return not_found();
        }
        let report = match self.desk.tracker().find_by_token(token).await {
            Ok(Some(report)) => report,
            Ok(None) => return not_found(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a disclosure report");
                return IntakeResponse::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store-failed",
                    "the report could not be read; please try again later",
                );
            }
        };
        let history = match self.desk.tracker().history(report.id).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "cannot read a disclosure history");
                return IntakeResponse::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store-failed",
                    "the report could not be read; please try again later",
                );
            }
        };
        let sla = SlaStatus::at(&report, millis(now), self.desk.sla_days());
        if accept.is_some_and(|a| a.to_ascii_lowercase().contains("application/json")) {
            let body =
                serde_json::to_vec(&StatusView::new(&report, &history, &sla)).unwrap_or_default();
            IntakeResponse::new(StatusCode::OK, JSON, body).no_store()
        } else {
            IntakeResponse::new(
                StatusCode::OK,
                HTML,
                html::status(&report, &history, &sla).into_bytes(),
            )
            .no_store()
        }
    }
}

/// What the reporter sees as JSON: their report, its state, the SLA and
/// each step with its public note (never operators' names or internal data).
#[derive(Serialize)]
struct StatusView<'a> {
    id: i64,
    state: &'static str,
    title: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a str>,
    received_at: String,
    deadline: String,
    overdue: bool,
    steps: Vec<StepView<'a>>,
}

#[derive(Serialize)]
struct StepView<'a> {
    at: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

impl<'a> StatusView<'a> {
    fn new(report: &'a crate::Report, history: &'a [HistoryEntry], sla: &SlaStatus) -> Self {
        StatusView {
            id: report.id,
            state: report.state.as_str(),
            title: &report.submitted.title,
            description: &report.submitted.description,
            endpoint: report.submitted.endpoint.as_deref(),
            received_at: rfc3339(report.received_ms),
            deadline: rfc3339(sla.deadline_ms),
            overdue: sla.overdue,
            steps: history
                .iter()
                .map(|h| StepView {
                    at: rfc3339(h.at_ms),
                    state: h.to.as_str(),
                    note: h.note.as_deref(),
                })
                .collect(),
        }
    }
}

fn not_allowed(allow: &str) -> IntakeResponse {
    IntakeResponse::problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "method not allowed here",
    )
    .header("allow", allow.to_owned())
}

/// The rate limit's key: the address, or its /64 for IPv6 (one host
/// usually holds a whole /64). IPv4-mapped addresses count as IPv4.
fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

fn parse_json(body: &[u8]) -> Result<NewReport, String> {
    serde_json::from_slice(body).map_err(|e| {
        let mut why = e.to_string();
        why.truncate(200);
        format!("the body is not a valid report: {why}")
    })
}

/// `application/x-www-form-urlencoded`, strictly: every name and value
/// must decode to UTF-8 (no lossy replacement), names are the report's
/// fields, each at most once.
fn parse_form(body: &[u8]) -> Result<NewReport, String> {
    let mut title = None;
    let mut description = None;
    let mut endpoint = None;
    let mut contact = None;
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = decode_component(name)?;
        let value = decode_component(value)?;
        let slot = match name.as_str() {
            "title" => &mut title,
            "description" => &mut description,
            "endpoint" => &mut endpoint,
            "contact" => &mut contact,
            _ => return Err("the form has an unknown field".to_owned()),
        };
        if slot.replace(value).is_some() {
            return Err(format!("{name}: given more than once"));
        }
    }
    Ok(NewReport {
        title: title.ok_or("title: is required")?,
        description: description.ok_or("description: is required")?,
        endpoint,
        contact,
    })
}

fn decode_component(raw: &[u8]) -> Result<String, String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "the form is not valid UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_strictly() {
        let r = parse_form(b"title=A+leak&description=GET%20%2Friders%2F1%0Ashows+all").unwrap();
        assert_eq!(r.title, "A leak");
        assert_eq!(r.description, "GET /riders/1\nshows all");
        assert!(parse_form(b"title=%FF&description=x").is_err());
        assert!(parse_form(b"title=a&title=b&description=x").is_err());
        assert!(parse_form(b"title=a&description=x&admin=1").is_err());
        assert!(parse_form(b"description=x").is_err());
    }

    #[test]
    fn ipv6_hosts_share_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(rate_key(a), rate_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(rate_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    mod props {
        use super::super::{parse_form, parse_json};
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse_form(&body).map(|r| r.validate(4096));
                let _ = parse_json(&body).map(|r| r.validate(4096));
            }

            #[test]
            fn form_fields_round_trip(title in "[^\\p{C}]{1,40}", description in "[^\\p{C}]{1,200}") {
                let body = format!(
                    "title={}&description={}",
                    utf8_percent_encode(&title, NON_ALPHANUMERIC),
                    utf8_percent_encode(&description, NON_ALPHANUMERIC)
                );
                let r = parse_form(body.as_bytes()).unwrap();
                prop_assert_eq!(&r.title, &title);
                prop_assert_eq!(&r.description, &description);
            }
        }
    }
}
