//! The request pipeline: named phases, run in order, over one exchange.
//!
//! ```text
//! accept -> normalize -> route -> validate request -> forward -> validate response -> record
//! ```
//!
//! (Authentication, throttling and authorization slot in between route and
//! forward as those capabilities land; see DESIGN.md.) Each phase either lets
//! the exchange continue or ends it with a [`Decision`]. The operation's mode
//! decides what a refusal means: `enforce` responds with it, `monitor` records
//! it as *flagged* and carries on unchanged, `off` skips the checks.
//! Every exchange, however it ends, produces exactly one security event.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version, request};
use http_body::Body as _;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use rampart_config::{Mode, Undeclared};
use rampart_contract::operation::{Issue, ResponseLookup};
use rampart_contract::{Matched, Operation, pick_media, rules};
use rampart_identity::Principal;
use rampart_normalize::{NormalizeError, NormalizedTarget};

use crate::authz::{self, AuthzTrace};
use crate::body::{
    BodyTimeout, BoxBody, JsonLimits, ReadError, empty, full, parse_json_strict, prepend,
    read_bounded, with_deadline,
};
use crate::decision::{Decision, Outcome, Problem};
use crate::headers;
use crate::runtime::{Api, Runtime};
use crate::seclog::{SecurityEvent, SecurityLog, Verdict};
use crate::upstream::{Forward, HttpClient, build_request, strip_hop_by_hop};

/// The gateway: shared by every connection of one worker thread.
pub struct Gateway {
    state: Arc<ArcSwap<Runtime>>,
    client: HttpClient,
    log: SecurityLog,
    ids: Arc<RequestIds>,
    metrics: Arc<crate::metrics::Metrics>,
    monitor: Monitor,
}

/// Where recorded exchanges go besides the security log: the durable audit
/// store and the behavioural detector (both optional).
#[derive(Clone, Default)]
pub struct Monitor {
    /// The audit store's batching recorder.
    pub recorder: Option<rampart_store::Recorder>,
    /// The detection engine.
    pub detector: Option<Arc<rampart_detect::Detector>>,
    /// Operation modes an operator switched at run time.
    pub overrides: Arc<crate::control::ModeOverrides>,
    /// Recorded exchanges, live, for the dashboard.
    pub live: crate::control::LiveFeed,
    /// Samples response fields for the inventory (SQL stores only).
    pub sampler: Option<Arc<rampart_inventory::FieldSampler>>,
    /// The vulnerability-disclosure pages, when the config enables them.
    pub intake: Option<Arc<rampart_disclosure::Intake>>,
    /// The disclosure desk behind them (reports, for the admin API).
    pub disclosures: Option<Arc<rampart_disclosure::Disclosures>>,
    /// Trace export (`telemetry.otlp`; fixed at start, like the store).
    pub traces: Option<Arc<crate::traces::Traces>>,
    /// Hold each answer until its event is durable
    /// (`store.commit_before_response`; fixed at start, like the store).
    pub commit_before_response: bool,
}

/// Cheap, unique request ids: a random per-process prefix and a counter.
pub struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestIds {
    /// A new generator with a random prefix.
    pub fn new() -> Self {
        RequestIds {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{:08x}", self.prefix, n)
    }
}

/// What the record phase writes, filled in as the exchange goes.
struct Record {
    ts: SystemTime,
    started: Instant,
    request_id: String,
    client: SocketAddr,
    method: Method,
    path: String,
    api: Option<String>,
    operation: Option<String>,
    route: Option<String>,
    mode: Mode,
    verdict: Verdict,
    upstream_status: Option<u16>,
    rules: Vec<&'static str>,
    reason: Option<String>,
    principal: Option<String>,
    policies: Vec<String>,
    objects: Vec<String>,
    /// The client's address: the peer, or what trusted proxies say.
    client_ip: std::net::IpAddr,
    /// `RateLimit` headers for the response.
    rate_headers: Option<rampart_limits::RateLimitHeaders>,
    /// The API key's id, when the caller used one.
    key_id: Option<String>,
    /// The JWT issuer, when the caller used a token (the inventory).
    issuer: Option<String>,
    /// Query parameter names, never values (the inventory).
    query_keys: Vec<String>,
    /// Response body bytes sent, when known.
    bytes_out: u64,
    /// Records returned: 1 for an object, the item count for a list.
    records: u32,
    /// A HEAD forwarded as GET (see the forward phase).
    head_as_get: bool,
    /// The exchange's trace span, when traces are exported.
    span: Option<crate::traces::ExchangeSpan>,
}

impl Record {
    /// Record changes made to a passing exchange (stripped properties,
    /// restricted views, filtered lists): `modified` when applied, `flagged`
    /// in monitor mode.
    fn note(&mut self, issues: &[Issue], applied: bool) {
        for i in issues {
            if !self.rules.contains(&i.rule.id) {
                self.rules.push(i.rule.id);
            }
        }
        if self.reason.is_none() && !issues.is_empty() {
            let d = Decision {
                issues: issues.to_vec(),
                ..Decision::new(
                    StatusCode::OK,
                    Problem::BadUpstreamResponse,
                    issues[0].rule,
                    "",
                )
            };
            self.reason = Some(log_reason(&d));
        }
        if self.verdict == Verdict::Allowed {
            self.verdict = if applied {
                Verdict::Modified
            } else {
                Verdict::Flagged
            };
        }
    }

    fn absorb(&mut self, trace: AuthzTrace) {
        for p in trace.policies {
            if !self.policies.contains(&p) {
                self.policies.push(p);
            }
        }
        for o in trace.objects {
            if self.objects.len() < 32 && !self.objects.contains(&o) {
                self.objects.push(o);
            }
        }
    }

    fn flag(&mut self, d: &Decision, enforce: bool) {
        for id in d.rule_ids() {
            if !self.rules.contains(&id) {
                self.rules.push(id);
            }
        }
        if self.reason.is_none() {
            self.reason = Some(log_reason(d));
        }
        self.verdict = if enforce {
            Verdict::Blocked
        } else {
            Verdict::Flagged
        };
    }
}

/// The logged reason names rules and locations only: messages can quote
/// request values, and those may be secrets or personal data.
fn log_reason(d: &Decision) -> String {
    if d.issues.is_empty() {
        return d.rule.title.to_string();
    }
    let mut parts: Vec<String> = d
        .issues
        .iter()
        .take(5)
        .map(|i| format!("{} at {}", i.rule.id, i.location))
        .collect();
    if d.issues.len() > 5 {
        parts.push(format!("and {} more", d.issues.len() - 5));
    }
    parts.join("; ")
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut cut = n;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// A routed exchange.
struct Routed<'r> {
    api: &'r Api,
    op: &'r Operation,
    values: Vec<String>,
}

impl Gateway {
    /// A gateway over a runtime that can be swapped by reloads.
    pub fn new(
        state: Arc<ArcSwap<Runtime>>,
        client: HttpClient,
        log: SecurityLog,
        ids: Arc<RequestIds>,
        metrics: Arc<crate::metrics::Metrics>,
        monitor: Monitor,
    ) -> Self {
        Gateway {
            state,
            client,
            log,
            ids,
            metrics,
            monitor,
        }
    }

    /// Handle one exchange.
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        tls: bool,
    ) -> Response<BoxBody> {
        let rt = self.state.load_full();
        let (parts, body) = req.into_parts();
        let ts = SystemTime::now();
        let mut rec = Record {
            ts,
            started: Instant::now(),
            request_id: self.ids.next(),
            client: peer,
            method: parts.method.clone(),
            path: clip(parts.uri.path(), 512),
            api: None,
            operation: None,
            route: None,
            mode: rt.config.config.mode,
            verdict: Verdict::Allowed,
            upstream_status: None,
            rules: Vec::new(),
            reason: None,
            principal: None,
            policies: Vec::new(),
            objects: Vec::new(),
            client_ip: rt.proxies.client_ip(peer.ip(), &parts.headers),
            rate_headers: None,
            key_id: None,
            issuer: None,
            query_keys: Vec::new(),
            bytes_out: 0,
            records: 0,
            head_as_get: false,
            span: self
                .monitor
                .traces
                .as_ref()
                .map(|t| t.begin(&parts.headers, &parts.method, ts)),
        };
        let resp = self.exchange(&rt, &parts, body, &mut rec, tls).await;
        let mut resp = resp;
        if let Ok(v) = HeaderValue::from_str(&rec.request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        if let Some(h) = &rec.rate_headers {
            h.apply(resp.headers_mut());
        }
        if !self.record(&mut rec, resp.status()).await {
            // `store.commit_before_response`: no answer leaves without its
            // record. The event already written says what the gateway
            // decided; the client gets a 503 instead of that answer.
            let d = Decision::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Problem::AuditUnavailable,
                &rules::STORE_UNAVAILABLE,
                "the exchange could not be recorded; try again",
            );
            resp = d.into_response(&rec.request_id);
            if let Ok(v) = HeaderValue::from_str(&rec.request_id) {
                resp.headers_mut().insert("x-request-id", v);
            }
        }
        resp
    }

    async fn exchange(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        body: Incoming,
        rec: &mut Record,
        tls: bool,
    ) -> Response<BoxBody> {
        let limits = &rt.config.config.limits;
        // accept: header caps (hyper enforces looser hard limits before we get here).
        if let Outcome::Respond(d) = accept(parts, limits) {
            rec.flag(&d, true);
            return d.into_response(&rec.request_id);
        }
        // Detection may have blocked or throttled this address (checked
        // before any work is done for it; blocks hold in every mode).
        if let Some(d) = self.admission(None, None, Some(rec.client_ip)) {
            rec.flag(&d, true);
            return d.into_response(&rec.request_id);
        }
        // Rampart's own disclosure pages (security.txt, the report form and
        // status pages) are answered here and never reach the upstream.
        if let Some(intake) = &self.monitor.intake
            && intake.routes(parts.uri.path())
        {
            rec.path = clip(&intake.loggable_path(parts.uri.path()), 512);
            let ex = crate::intake::IntakeExchange {
                parts,
                client_ip: rec.client_ip,
                body_timeout: Duration::from_millis(limits.request_body_timeout_ms),
            };
            return match crate::intake::answer(intake, ex, body).await {
                Ok(resp) => resp,
                Err(d) => {
                    rec.flag(&d, true);
                    d.into_response(&rec.request_id)
                }
            };
        }
        // Before routing, the mode is that of the API whose base path the raw
        // path falls under (an enforced API stays enforced under a global
        // monitor, and the other way round), else the global mode.
        let pre_route_api = api_for_path(rt, parts.uri.path());
        let pre_route_mode = pre_route_api.map_or(rt.config.config.mode, |a| a.mode);
        rec.mode = pre_route_mode;
        // normalize
        let target = match normalize(rt, parts) {
            Ok(t) => t,
            Err(d) => {
                if judge(rec, &d, pre_route_mode) {
                    return d.into_response(&rec.request_id);
                }
                return self.pass_through(rt, parts, body, rec, tls).await;
            }
        };
        rec.path = clip(&target.canonical_path, 512);
        rec.query_keys = rampart_store::query_names(target.query.iter().map(|(k, _)| k.as_str()));
        // route
        let routed = match route(rt, &parts.method, &target.route_path) {
            Ok(r) => r,
            Err((d, api)) => {
                let mode = api.map_or(pre_route_mode, |a| a.mode);
                rec.mode = mode;
                if judge(rec, &d, mode) {
                    return d.into_response(&rec.request_id);
                }
                // Monitor or off: pass the request on as it came.
                return self.pass_through(rt, parts, body, rec, tls).await;
            }
        };
        let mode = self
            .monitor
            .overrides
            .get(&routed.api.name, &routed.op.id)
            .unwrap_or_else(|| routed.api.mode_of(routed.op));
        rec.mode = mode;
        rec.api = Some(routed.api.name.clone());
        rec.operation = Some(routed.op.id.clone());
        rec.route = Some(routed.op.route.clone());

        if mode == Mode::Off {
            rec.verdict = Verdict::Unchecked;
        }
        // validate request
        // authenticate
        let (api_name, op_id) = (routed.api.name.as_str(), routed.op.id.as_str());
        let principal = if mode == Mode::Off {
            Principal::anonymous()
        } else {
            match authz::authenticate(rt, routed.api, routed.op, parts, &target.query).await {
                Ok(p) => p,
                Err(d) => {
                    // Login protection: a failed authentication is charged to
                    // `on: failure` limits, and a spent budget answers 429
                    // rather than another 401 (no more guesses to learn from).
                    let anonymous = Principal::anonymous();
                    let ctx = key_context(rec.client_ip, api_name, op_id, &anonymous, parts);
                    let verdict = rt.limiter.check(&ctx).await;
                    rt.limiter.record_failure(&ctx).await;
                    let d = if verdict.allowed {
                        d
                    } else {
                        throttled(&verdict)
                    };
                    rec.rate_headers = Some(verdict.headers.clone());
                    if judge(rec, &d, mode) {
                        return d.into_response(&rec.request_id);
                    }
                    anonymous
                }
            }
        };
        if !principal.id.is_empty() {
            rec.principal = Some(principal.id.clone());
        }
        match &principal.kind {
            rampart_identity::PrincipalKind::ApiKey { key_id } => rec.key_id = Some(key_id.clone()),
            rampart_identity::PrincipalKind::Jwt { issuer } => rec.issuer = Some(issuer.clone()),
            rampart_identity::PrincipalKind::Anonymous => {}
        }
        // Detection may have blocked or throttled this principal or key.
        if mode != Mode::Off
            && !principal.id.is_empty()
            && let Some(d) = self.admission(Some(&principal.id), rec.key_id.as_deref(), None)
            && judge(rec, &d, mode)
        {
            return d.into_response(&rec.request_id);
        }
        // throttle
        if mode != Mode::Off && rec.rate_headers.is_none() {
            let ctx = key_context(rec.client_ip, api_name, op_id, &principal, parts);
            let verdict = rt.limiter.check(&ctx).await;
            rec.rate_headers = Some(verdict.headers.clone());
            if !verdict.allowed {
                let d = throttled(&verdict);
                if judge(rec, &d, mode) {
                    return d.into_response(&rec.request_id);
                }
            }
        }
        // validate request
        let body = match self
            .validate_request(
                rt,
                parts,
                &routed,
                &target.query,
                &principal,
                body,
                mode,
                rec,
            )
            .await
        {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        // The objects a request names are its path parameters (enumeration
        // detection and the audit trail read them); only valid ones, since an
        // invalid value is attacker text, not an object id.
        let mut path_issues = Vec::new();
        routed.op.check_path(&routed.values, &mut path_issues);
        if path_issues.is_empty() {
            for v in routed.values.iter().take(8) {
                if !rec.objects.contains(v) {
                    rec.objects.push(clip(v, 128));
                }
            }
        }
        // authorize request
        // (With a pre-fetch configured, the owner is only known after it, so
        // the pre-fetch makes the request-phase decision.)
        let prefetch = routed.api.prefetch.get(&routed.op.id);
        if mode != Mode::Off && prefetch.is_none() {
            let mut trace = AuthzTrace::default();
            let denied = authz::authorize_request(
                rt,
                routed.api,
                routed.op,
                &principal,
                &routed.values,
                &target.query,
                &mut trace,
            );
            rec.absorb(trace);
            if let Some(d) = denied
                && judge(rec, &d, mode)
            {
                return d.into_response(&rec.request_id);
            }
        }
        if mode != Mode::Off {
            // Writes whose owner only the upstream knows: ask it first.
            if let Some(pre) = prefetch
                && let Some(d) = self
                    .prefetch_authorize(rt, parts, &routed, pre, &principal, rec, tls)
                    .await
                && judge(rec, &d, mode)
            {
                return d.into_response(&rec.request_id);
            }
        }
        // forward
        let mut pq = target.canonical_path.clone();
        if routed.op.trailing_slash && pq != "/" {
            pq.push('/');
        }
        if let Some(q) = &target.canonical_query {
            pq.push('?');
            pq.push_str(q);
        }
        // HEAD on a GET whose answers are authorized object by object is
        // sent upstream as a GET, so the same decision is made (a HEAD must
        // not reveal what the GET would refuse); the body is dropped after.
        let head_as_get = parts.method == Method::HEAD
            && routed.op.method == Method::GET
            && mode != Mode::Off
            && rt.policy.is_some()
            && routed.op.has_owned_responses();
        rec.head_as_get = head_as_get;
        let upstream = match self
            .forward(rt, parts, routed.api, &pq, body, rec, tls)
            .await
        {
            Ok(r) => r,
            Err(d) => {
                rec.flag(&d, true);
                return d.into_response(&rec.request_id);
            }
        };
        // validate response
        let resp = self
            .validate_response(rt, parts, &routed, &principal, upstream, mode, rec)
            .await;
        // The upstream refused the credentials (a login that failed): charge
        // `on: failure` limits.
        if mode != Mode::Off && matches!(rec.upstream_status, Some(401 | 403)) {
            let ctx = key_context(rec.client_ip, api_name, op_id, &principal, parts);
            rt.limiter.record_failure(&ctx).await;
        }
        resp
    }

    /// Forward an exchange that could not be routed (monitor or off mode only).
    async fn pass_through(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        body: Incoming,
        rec: &mut Record,
        tls: bool,
    ) -> Response<BoxBody> {
        let Some(api) = api_for_path(rt, parts.uri.path()).or_else(|| rt.apis.first()) else {
            let d = Decision::new(
                StatusCode::NOT_FOUND,
                Problem::NotFound,
                &rules::ROUTE_UNKNOWN,
                "no API is configured",
            );
            return d.into_response(&rec.request_id);
        };
        rec.api = Some(api.name.clone());
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let limits = &rt.config.config.limits;
        let body = with_deadline(
            Limited::new(body, limits.max_request_body_bytes as usize),
            Duration::from_millis(limits.request_body_timeout_ms),
        );
        match self.forward(rt, parts, api, &pq, body, rec, tls).await {
            Ok(resp) => {
                let (mut p, b) = resp.into_parts();
                strip_hop_by_hop(&mut p.headers);
                Response::from_parts(p, b.map_err(Into::into).boxed())
            }
            Err(d) => {
                rec.flag(&d, true);
                d.into_response(&rec.request_id)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn validate_request(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        routed: &Routed<'_>,
        query: &[(String, String)],
        principal: &Principal,
        mut body: Incoming,
        mode: Mode,
        rec: &mut Record,
    ) -> Result<BoxBody, Response<BoxBody>> {
        let cfg = &rt.config.config;
        let limits = &cfg.limits;
        let has_body = !body.is_end_stream();
        let body_timeout = Duration::from_millis(limits.request_body_timeout_ms);
        if mode == Mode::Off {
            return Ok(if has_body {
                with_deadline(
                    Limited::new(body, limits.max_request_body_bytes as usize),
                    body_timeout,
                )
            } else {
                empty()
            });
        }
        let op = routed.op;
        let mut issues: Vec<Issue> = Vec::new();
        op.check_path(&routed.values, &mut issues);
        op.check_query(query, &mut issues);
        let allowed = |n: &str| headers::is_standard(n) || rt.allowed_headers.contains(n);
        op.check_headers(
            &parts.headers,
            &allowed,
            cfg.contract.undeclared_headers == Undeclared::Reject,
            &mut issues,
        );
        let cookies = cookies(&parts.headers);
        op.check_cookies(
            &cookies,
            cfg.contract.undeclared_cookies == Undeclared::Reject,
            &mut issues,
        );
        let mut forward_body = if has_body { None } else { Some(empty()) };
        match (&op.body, has_body) {
            (None, true) => issues.push(Issue::new(
                &rules::BODY_UNEXPECTED,
                "body",
                "this operation takes no request body",
            )),
            (Some(b), false) if b.required => issues.push(Issue::new(
                &rules::BODY_MISSING,
                "body",
                "a request body is required",
            )),
            (Some(b), true) => {
                // Two Content-Type fields: we would validate by one and the
                // upstream might parse by the other.
                let several = parts
                    .headers
                    .get_all(header::CONTENT_TYPE)
                    .iter()
                    .nth(1)
                    .is_some();
                let ct = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .filter(|_| !several)
                    .and_then(|v| v.to_str().ok())
                    .map(rampart_contract::media_essence);
                let media = ct.as_deref().and_then(|ct| pick_media(&b.content, ct));
                match media {
                    None => issues.push(Issue::new(
                        &rules::BODY_MEDIA_TYPE,
                        "header.content-type",
                        match &ct {
                            Some(ct) => {
                                format!("content type \"{}\" is not declared", clip(ct, 64))
                            }
                            None if several => "more than one content type was sent".to_string(),
                            None => "a content type is required".to_string(),
                        },
                    )),
                    Some(media) if media.json => {
                        match read_bounded(&mut body, limits.max_request_body_bytes, body_timeout)
                            .await
                        {
                            Ok(bytes) => {
                                match parse_json_strict(&bytes, &JsonLimits::from_config(limits)) {
                                    Ok(value) => {
                                        let contract = &routed.api.contract;
                                        contract.check_request_body(
                                            media,
                                            &value,
                                            cfg.contract.undeclared_body_properties
                                                == Undeclared::Reject,
                                            &mut issues,
                                        );
                                        // Per-role writable fields need the principal.
                                        if let Some(shape) = media.shape {
                                            let mut found = Vec::new();
                                            contract.shapes.check_writes(
                                                shape,
                                                &value,
                                                &principal.roles,
                                                &mut found,
                                            );
                                            issues.extend(found.into_iter().map(|f| {
                                                Issue::new(
                                                    &rules::AUTHZ_WRITE_FIELD,
                                                    format!("body{}", f.pointer),
                                                    "this property may not be set with these credentials",
                                                )
                                            }));
                                        }
                                    }
                                    Err(e) => {
                                        let rule = if e.over_cap {
                                            &rules::LIMIT_JSON
                                        } else {
                                            &rules::BODY_MALFORMED
                                        };
                                        issues.push(Issue::new(rule, "body", e.message))
                                    }
                                }
                                forward_body = Some(full(bytes));
                            }
                            Err(ReadError::TooLarge(prefix)) => {
                                issues.push(Issue::new(
                                    &rules::BODY_TOO_LARGE,
                                    "body",
                                    format!(
                                        "the body exceeds {} bytes",
                                        limits.max_request_body_bytes
                                    ),
                                ));
                                drop(prefix);
                                // Too large is a resource limit: refused in every checked mode.
                                let d = Decision::from_issues(issues);
                                rec.flag(&d, true);
                                return Err(d.into_response(&rec.request_id));
                            }
                            Err(ReadError::Timeout) => {
                                let d = Decision::new(
                                    StatusCode::REQUEST_TIMEOUT,
                                    Problem::RequestTimeout,
                                    &rules::BODY_MALFORMED,
                                    "the request body was not received in time",
                                );
                                rec.flag(&d, true);
                                return Err(d.into_response(&rec.request_id));
                            }
                            Err(ReadError::Io(_)) => {
                                let d = Decision::new(
                                    StatusCode::BAD_REQUEST,
                                    Problem::MalformedRequest,
                                    &rules::BODY_MALFORMED,
                                    "the request body could not be read",
                                );
                                rec.flag(&d, true);
                                return Err(d.into_response(&rec.request_id));
                            }
                        }
                    }
                    Some(_) => {}
                }
            }
            (Some(_), false) => {}
            (None, false) => {}
        }
        if !issues.is_empty() {
            let d = Decision::from_issues(issues);
            let enforce = mode == Mode::Enforce;
            rec.flag(&d, enforce);
            if enforce {
                return Err(d.into_response(&rec.request_id));
            }
        }
        Ok(match forward_body {
            Some(b) => b,
            None => with_deadline(
                Limited::new(body, limits.max_request_body_bytes as usize),
                body_timeout,
            ),
        })
    }

    /// The pre-fetch of a write: GET the object through the configured read
    /// operation (same path parameters, same credentials), read its owner
    /// from the answer, and ask the policies about the write with it. Any
    /// failure to establish the owner refuses the write (404, fail closed).
    #[allow(clippy::too_many_arguments)]
    async fn prefetch_authorize(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        routed: &Routed<'_>,
        target: &str,
        principal: &Principal,
        rec: &mut Record,
        tls: bool,
    ) -> Option<Decision> {
        let no_object = || {
            Decision::new(
                StatusCode::NOT_FOUND,
                Problem::NotFound,
                &rules::AUTHZ_OBJECT,
                "no such object",
            )
        };
        let (api, op) = (routed.api, routed.op);
        let Some(pre) = api.contract.operation(target) else {
            return Some(no_object());
        };
        let mut path = pre.route.clone();
        for name in &pre.path_params {
            let value = op
                .path_params
                .iter()
                .position(|n| n == name)
                .and_then(|i| routed.values.get(i));
            let Some(value) = value else {
                return Some(no_object());
            };
            path = path.replace(
                &format!("{{{name}}}"),
                &rampart_normalize::encode_segment(value),
            );
        }
        let req = build_request(
            Forward {
                parts,
                upstream: &api.upstream,
                path_and_query: &path,
                request_id: &rec.request_id,
                client_ip: rec.client.ip(),
                tls,
                method: &Method::GET,
                trace: rec.span.as_ref(),
            },
            empty(),
        );
        let Ok(mut req) = req else {
            return Some(no_object());
        };
        for h in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ] {
            req.headers_mut().remove(h);
        }
        let limits = &rt.config.config.limits;
        let timeout = Duration::from_millis(limits.upstream_timeout_ms);
        let resp = match tokio::time::timeout(timeout, self.client.request(req)).await {
            Ok(Ok(r)) => r,
            _ => {
                return Some(Decision::new(
                    StatusCode::BAD_GATEWAY,
                    Problem::UpstreamUnavailable,
                    &rules::UPSTREAM_UNAVAILABLE,
                    "the upstream service could not be reached",
                ));
            }
        };
        if resp.status() != StatusCode::OK {
            return Some(no_object());
        }
        let mut body = resp.into_body();
        let bytes = read_bounded(&mut body, limits.max_response_body_bytes, timeout)
            .await
            .ok()?;
        let value = parse_json_strict(&bytes, &JsonLimits::from_config(limits)).ok()?;
        let shape = match pre.response_for(200, Some("application/json")) {
            ResponseLookup::Declared(_, Some(m)) => m.shape?,
            _ => return Some(no_object()),
        };
        let ownership = &api.contract.shapes.flat(shape).ownership;
        let facts = rampart_contract::shape::ObjectFacts::read(&value, ownership);
        let engine = rt.policy.as_ref()?;
        let verdict = engine.decide(&rampart_policy::Query {
            subject: authz::subject(principal),
            action: &op.id,
            resource: rampart_policy::Resource {
                id: facts.id.as_deref(),
                owner: facts.owner.as_deref(),
                private: facts.private,
            },
            phase: rampart_policy::Phase::Request,
            api: &api.name,
            operation: &op.id,
        });
        rec.absorb(AuthzTrace {
            policies: verdict.policies,
            objects: facts.id.into_iter().collect(),
        });
        (!verdict.allowed).then(no_object)
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        api: &Api,
        path_and_query: &str,
        body: BoxBody,
        rec: &mut Record,
        tls: bool,
    ) -> Result<Response<Incoming>, Decision> {
        let req = build_request(
            Forward {
                parts,
                upstream: &api.upstream,
                path_and_query,
                request_id: &rec.request_id,
                client_ip: rec.client.ip(),
                tls,
                method: if rec.head_as_get {
                    &Method::GET
                } else {
                    &parts.method
                },
                trace: rec.span.as_ref(),
            },
            body,
        )
        .map_err(|_| {
            Decision::new(
                StatusCode::BAD_REQUEST,
                Problem::MalformedRequest,
                &rules::NORMALIZE,
                "the request cannot be forwarded",
            )
        })?;
        // The upstream's concurrency cap: a slot is held until its answer's
        // head arrives.
        let _slot = match api.gate.enter().await {
            Ok(slot) => slot,
            Err(why) => {
                let mut d = Decision::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Problem::UpstreamBusy,
                    &rules::LIMIT_UPSTREAM_BUSY,
                    match why {
                        crate::upstream::GateRefusal::QueueFull => {
                            "the upstream is at its concurrency limit and its queue is full"
                        }
                        crate::upstream::GateRefusal::TimedOut => {
                            "the upstream stayed at its concurrency limit for too long"
                        }
                    },
                );
                d.retry_after = Some(1);
                return Err(d);
            }
        };
        let timeout = Duration::from_millis(rt.config.config.limits.upstream_timeout_ms);
        let answer = tokio::time::timeout(timeout, self.client.request(req)).await;
        match &answer {
            Ok(Ok(_)) => api.health.answered(),
            // The client's body was too slow or too large: not the upstream's fault.
            Ok(Err(e))
                if is_caused_by::<BodyTimeout>(e)
                    || is_caused_by::<http_body_util::LengthLimitError>(e) => {}
            _ => api.health.failed(),
        }
        match answer {
            Ok(Ok(resp)) => {
                rec.upstream_status = Some(resp.status().as_u16());
                Ok(resp)
            }
            Ok(Err(e)) if is_caused_by::<BodyTimeout>(&e) => Err(Decision::new(
                StatusCode::REQUEST_TIMEOUT,
                Problem::RequestTimeout,
                &rules::BODY_MALFORMED,
                "the request body was not received in time",
            )),
            Ok(Err(e)) if is_caused_by::<http_body_util::LengthLimitError>(&e) => {
                Err(Decision::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Problem::PayloadTooLarge,
                    &rules::BODY_TOO_LARGE,
                    format!(
                        "the body exceeds {} bytes",
                        rt.config.config.limits.max_request_body_bytes
                    ),
                ))
            }
            Ok(Err(e)) => {
                tracing::warn!(api = %api.name, error = %e, request_id = %rec.request_id, "upstream request failed");
                Err(Decision::new(
                    StatusCode::BAD_GATEWAY,
                    Problem::UpstreamUnavailable,
                    &rules::UPSTREAM_UNAVAILABLE,
                    "the upstream service could not be reached",
                ))
            }
            Err(_) => Err(Decision::new(
                StatusCode::GATEWAY_TIMEOUT,
                Problem::UpstreamTimeout,
                &rules::UPSTREAM_UNAVAILABLE,
                "the upstream service did not answer in time",
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn validate_response(
        &self,
        rt: &Runtime,
        parts: &request::Parts,
        routed: &Routed<'_>,
        principal: &Principal,
        resp: Response<Incoming>,
        mode: Mode,
        rec: &mut Record,
    ) -> Response<BoxBody> {
        let (mut head, mut body) = resp.into_parts();
        strip_hop_by_hop(&mut head.headers);
        if mode == Mode::Off {
            return Response::from_parts(head, body.map_err(Into::into).boxed());
        }
        let enforce = mode == Mode::Enforce;
        let status = head.status.as_u16();
        // No existence oracle: on an operation whose objects are authorized
        // one by one, the upstream's own 404 gets exactly the answer an
        // object-level denial gets, so "not yours" and "does not exist"
        // cannot be told apart.
        if enforce && status == 404 && rt.policy.is_some() && routed.op.has_owned_responses() {
            return Decision::new(
                StatusCode::NOT_FOUND,
                Problem::NotFound,
                &rules::AUTHZ_OBJECT,
                "no such object",
            )
            .into_response(&rec.request_id);
        }
        let no_body = (parts.method == Method::HEAD && !rec.head_as_get)
            || head.status == StatusCode::NO_CONTENT
            || head.status == StatusCode::NOT_MODIFIED
            || head.status.is_informational();
        let has_body = !no_body && !body.is_end_stream();
        let ct = head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let violation = |rule: &'static rampart_contract::Rule| {
            Decision::new(
                StatusCode::BAD_GATEWAY,
                Problem::BadUpstreamResponse,
                rule,
                "the upstream's response did not match the API contract",
            )
        };
        let lookup = routed
            .op
            .response_for(status, if has_body { ct.as_deref() } else { None });
        let media = match lookup {
            ResponseLookup::UndeclaredStatus => Err(violation(&rules::RESPONSE_STATUS)),
            ResponseLookup::UndeclaredMediaType => Err(violation(&rules::RESPONSE_MEDIA_TYPE)),
            ResponseLookup::Declared(spec, None) => {
                if has_body && (!spec.content.is_empty() || ct.is_some()) {
                    Err(violation(&rules::RESPONSE_MEDIA_TYPE))
                } else {
                    Ok(None)
                }
            }
            ResponseLookup::Declared(_, Some(m)) => Ok(Some(m)),
        };
        let media = match media {
            Ok(m) => m,
            Err(d) => {
                rec.flag(&d, enforce);
                if enforce {
                    return d.into_response(&rec.request_id);
                }
                return Response::from_parts(head, body.map_err(Into::into).boxed());
            }
        };
        let Some(media) = media.filter(|m| m.json && (m.validator.is_some() || m.shape.is_some()))
        else {
            return Response::from_parts(head, body.map_err(Into::into).boxed());
        };
        let encoded = head
            .headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() != b"identity");
        if encoded {
            let d = violation(&rules::RESPONSE_MEDIA_TYPE);
            rec.flag(&d, enforce);
            if enforce {
                return d.into_response(&rec.request_id);
            }
            return Response::from_parts(head, body.map_err(Into::into).boxed());
        }
        let limits = &rt.config.config.limits;
        let timeout = Duration::from_millis(limits.upstream_timeout_ms);
        let bytes = match read_bounded(&mut body, limits.max_response_body_bytes, timeout).await {
            Ok(b) => b,
            Err(ReadError::TooLarge(prefix)) => {
                let d = violation(&rules::RESPONSE_TOO_LARGE);
                rec.flag(&d, enforce);
                if enforce {
                    return d.into_response(&rec.request_id);
                }
                return Response::from_parts(head, prepend(prefix, body));
            }
            Err(_) => {
                let d = Decision::new(
                    StatusCode::BAD_GATEWAY,
                    Problem::UpstreamUnavailable,
                    &rules::UPSTREAM_UNAVAILABLE,
                    "the upstream's response was cut short",
                );
                rec.flag(&d, true);
                return d.into_response(&rec.request_id);
            }
        };
        let mut value = match parse_json_strict(&bytes, &JsonLimits::from_config(limits)) {
            Ok(v) => v,
            Err(_) => {
                let d = violation(&rules::RESPONSE_MALFORMED);
                rec.flag(&d, enforce);
                if enforce {
                    return d.into_response(&rec.request_id);
                }
                return Response::from_parts(head, full(bytes));
            }
        };
        let (findings, violations) = routed
            .api
            .contract
            .check_response_body(media, &mut value, enforce);
        let mut changed = false;
        if !findings.is_empty() {
            let stripped: Vec<Issue> = findings
                .iter()
                .map(|f| {
                    let rule = match f.kind {
                        rampart_contract::shape::PropertyFindingKind::WriteOnly => {
                            &rules::RESPONSE_WRITE_ONLY
                        }
                        _ => &rules::RESPONSE_UNDECLARED,
                    };
                    Issue::new(rule, format!("response{}", f.pointer), rule.title)
                })
                .collect();
            rec.note(&stripped, enforce);
            changed = enforce;
        }
        if !violations.is_empty() {
            let d = Decision {
                issues: violations
                    .iter()
                    .map(|v| {
                        Issue::new(
                            &rules::RESPONSE_SCHEMA,
                            format!("response{}", v.pointer),
                            v.message.clone(),
                        )
                    })
                    .collect(),
                ..violation(&rules::RESPONSE_SCHEMA)
            };
            rec.flag(&d, enforce);
            if enforce {
                return d.into_response(&rec.request_id);
            }
        }
        // authorize response: object by object, on the validated value.
        let mut trace = AuthzTrace::default();
        let authz = authz::authorize_response(
            rt, routed.api, routed.op, media, principal, &mut value, enforce, &mut trace,
        );
        rec.absorb(trace);
        if let Some(outcome) = authz {
            if outcome.denied_whole {
                let d = Decision::new(
                    StatusCode::NOT_FOUND,
                    Problem::NotFound,
                    &rules::AUTHZ_OBJECT,
                    "no such object",
                );
                rec.flag(&d, enforce);
                if enforce {
                    return d.into_response(&rec.request_id);
                }
            }
            let mut noted = Vec::new();
            if outcome.restricted > 0 {
                noted.push(Issue::new(
                    &rules::AUTHZ_VIEW_RESTRICTED,
                    "response",
                    format!("{} object(s) shown restricted", outcome.restricted),
                ));
            }
            if outcome.denied > 0 && !outcome.denied_whole {
                noted.push(Issue::new(
                    &rules::AUTHZ_LIST_FILTERED,
                    "response",
                    format!("{} object(s) removed", outcome.denied),
                ));
            }
            if !noted.is_empty() {
                rec.note(&noted, enforce);
                changed |= enforce;
            }
        }
        let out = if changed {
            match serde_json::to_vec(&value) {
                Ok(v) => Bytes::from(v),
                Err(_) => Bytes::new(),
            }
        } else {
            bytes
        };
        rec.bytes_out = out.len() as u64;
        rec.records = match &value {
            serde_json::Value::Array(items) => u32::try_from(items.len()).unwrap_or(u32::MAX),
            _ => 1,
        };
        // Inventory: one response in N has its fields classified (classes
        // only, never values), as sent to the client.
        if let Some(sampler) = &self.monitor.sampler
            && sampler.should_sample()
        {
            sampler.observe(&routed.api.name, &routed.op.id, &value, rec.ts);
        }
        head.headers.remove(header::CONTENT_LENGTH);
        if let Ok(v) = HeaderValue::from_str(&out.len().to_string()) {
            head.headers.insert(header::CONTENT_LENGTH, v);
        }
        if rec.head_as_get {
            return Response::from_parts(head, empty());
        }
        Response::from_parts(head, full(out))
    }

    /// Whether the detector lets these subjects through.
    fn admission(
        &self,
        principal: Option<&str>,
        key_id: Option<&str>,
        ip: Option<std::net::IpAddr>,
    ) -> Option<Decision> {
        let detector = self.monitor.detector.as_ref()?;
        match detector.admit(principal, key_id, ip, SystemTime::now()) {
            rampart_detect::Admission::Allow => None,
            rampart_detect::Admission::Blocked(_) => Some(Decision::new(
                StatusCode::FORBIDDEN,
                Problem::Forbidden,
                &rules::DETECT_BLOCKED,
                "this client is blocked",
            )),
            rampart_detect::Admission::Throttled { retry_after, .. } => {
                let mut d = Decision::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    Problem::TooManyRequests,
                    &rules::DETECT_THROTTLED,
                    "this client is throttled",
                );
                d.retry_after = Some(retry_after.as_secs().max(1));
                Some(d)
            }
        }
    }

    /// Record the exchange everywhere it goes. Returns `false` only when the
    /// config requires the event to be durable before the answer
    /// (`store.commit_before_response`) and the store could not make it so.
    async fn record(&self, rec: &mut Record, status: StatusCode) -> bool {
        let mut event =
            SecurityEvent::new(rec.ts, rec.request_id.clone(), rec.client_ip.to_string());
        event.method = rec.method.as_str().to_string();
        event.path = rec.path.clone();
        event.api = rec.api.clone();
        event.operation = rec.operation.clone();
        event.route = rec.route.clone();
        event.mode = std::borrow::Cow::Borrowed(rec.mode.as_str());
        event.decision = rec.verdict;
        event.status = status.as_u16();
        event.upstream_status = rec.upstream_status;
        event.rules = rec
            .rules
            .iter()
            .map(|r| std::borrow::Cow::Borrowed(*r))
            .collect();
        event.reason = rec.reason.clone();
        event.principal = rec.principal.clone();
        event.key_id = rec.key_id.clone();
        event.issuer = rec.issuer.clone();
        event.query_keys = rec.query_keys.clone();
        event.policies = rec.policies.clone();
        event.objects = rec.objects.clone();
        event.bytes_out = rec.bytes_out;
        event.records = rec.records;
        event.latency_ms = (rec.started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        self.metrics.observe(&event);
        if let Some(span) = rec.span.take() {
            span.finish(&crate::traces::SpanFields {
                method: &event.method,
                route: event.route.as_deref(),
                status: event.status,
                decision: event.decision.as_str(),
                rule: event.rules.first().map(|r| r.as_ref()),
                operation: event.operation.as_deref(),
                api: event.api.as_deref(),
                request_id: &event.request_id,
            });
        }
        if let Some(detector) = &self.monitor.detector {
            let obs = rampart_detect::Observation {
                principal: event.principal.as_deref(),
                key_id: event.key_id.as_deref(),
                ip: Some(rec.client_ip),
                operation: event.operation.as_deref(),
                route: event.route.as_deref(),
                objects: &event.objects,
                records: event.records,
                bytes: event.bytes_out,
                ..rampart_detect::Observation::new(rec.ts, event.status)
            }
            .with_rules(&event.rules);
            for d in detector.observe(&obs) {
                self.metrics.detection(d.kind.as_str());
                tracing::warn!(kind = d.kind.as_str(), subject = %d.subject, "detection");
            }
        }
        self.log.emit(&event).await;
        if self.monitor.live.wanted() {
            self.monitor.live.publish(event.clone());
        }
        let Some(recorder) = &self.monitor.recorder else {
            return true;
        };
        // Under `overflow: backpressure`, a full queue makes this wait.
        let ack = recorder.record(event).await;
        if !self.monitor.commit_before_response {
            // The exchange does not wait for the disk.
            return true;
        }
        match ack.committed().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, request_id = %rec.request_id, "the audit store could not record an exchange; answering 503 (store.commit_before_response)");
                false
            }
        }
    }
}

/// Record a refusal under `mode`; returns whether to respond with it.
/// `off` records nothing (the exchange is unchecked), `monitor` flags it,
/// `enforce` blocks it.
fn judge(rec: &mut Record, d: &Decision, mode: Mode) -> bool {
    match mode {
        Mode::Off => {
            rec.verdict = Verdict::Unchecked;
            false
        }
        Mode::Monitor => {
            rec.flag(d, false);
            false
        }
        Mode::Enforce => {
            rec.flag(d, true);
            true
        }
    }
}

/// The API whose base path `path` falls under (at a segment boundary); with a
/// single API, that API.
fn api_for_path<'r>(rt: &'r Runtime, path: &str) -> Option<&'r Api> {
    let under = |base: &str| {
        !base.is_empty()
            && path.starts_with(base)
            && matches!(path.as_bytes().get(base.len()), None | Some(b'/'))
    };
    rt.apis
        .iter()
        .find(|a| under(&a.contract.base_path))
        .or_else(|| {
            if rt.apis.len() == 1 {
                rt.apis.first()
            } else {
                None
            }
        })
}

/// Phase 1, accept: header count and size caps, and a declared body size
/// over the limit, with a problem response (hyper's own hard limits sit above
/// these and close the connection). Limits hold in every mode.
fn accept(parts: &request::Parts, limits: &rampart_config::Limits) -> Outcome {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_request_body_bytes) {
        return Outcome::Respond(Decision::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Problem::PayloadTooLarge,
            &rules::BODY_TOO_LARGE,
            format!("the body exceeds {} bytes", limits.max_request_body_bytes),
        ));
    }
    let (max_headers, max_bytes) = (limits.max_headers, limits.max_header_list_bytes);
    let count = parts.headers.len();
    let bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if count > max_headers || bytes > max_bytes {
        return Outcome::Respond(Decision::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Problem::HeadersTooLarge,
            &rules::LIMIT_HEADERS,
            format!("at most {max_headers} headers and {max_bytes} bytes of headers are accepted"),
        ));
    }
    Outcome::Continue
}

/// Phase 2, normalize: method, method overrides, origin form, path and query.
fn normalize(rt: &Runtime, parts: &request::Parts) -> Result<NormalizedTarget, Decision> {
    let bad = |e: NormalizeError| {
        let rule = rules::by_id(e.rule_id()).unwrap_or(&rules::NORMALIZE);
        Decision::new(
            StatusCode::BAD_REQUEST,
            Problem::MalformedRequest,
            rule,
            e.to_string(),
        )
    };
    rampart_normalize::check_method(parts.method.as_str()).map_err(bad)?;
    for name in parts.headers.keys() {
        if rampart_normalize::is_method_override_header(name.as_str()) {
            return Err(bad(NormalizeError::MethodOverride));
        }
    }
    // HTTP/1 absolute-form (`GET http://host/path`) would let the URI's
    // authority differ from Host; only origin-form is accepted. HTTP/2
    // always carries scheme and authority as pseudo-headers.
    if parts.version < Version::HTTP_2
        && (parts.uri.scheme().is_some() || parts.uri.authority().is_some())
    {
        return Err(bad(NormalizeError::NotOriginForm));
    }
    rampart_normalize::normalize_target(parts.uri.path(), parts.uri.query(), &rt.normalize)
        .map_err(bad)
}

/// Phase 3, route: the first API whose contract declares the operation.
fn route<'r>(
    rt: &'r Runtime,
    method: &Method,
    path: &str,
) -> Result<Routed<'r>, (Decision, Option<&'r Api>)> {
    let mut allowed: Option<(Vec<Method>, &Api)> = None;
    for api in &rt.apis {
        match api.contract.route(method, path) {
            Matched::Found(op, values) => return Ok(Routed { api, op, values }),
            Matched::MethodNotAllowed(m) => {
                if allowed.is_none() {
                    allowed = Some((m, api));
                }
            }
            Matched::NotFound => {}
        }
    }
    if let Some((methods, api)) = allowed {
        let mut d = Decision::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Problem::MethodNotAllowed,
            &rules::ROUTE_METHOD,
            format!("{method} is not declared for this path"),
        );
        d.allow = methods;
        return Err((d, Some(api)));
    }
    let api = rt
        .apis
        .iter()
        .find(|a| !a.contract.base_path.is_empty() && path.starts_with(&a.contract.base_path));
    Err((
        Decision::new(
            StatusCode::NOT_FOUND,
            Problem::NotFound,
            &rules::ROUTE_UNKNOWN,
            "no operation of the API matches this path",
        ),
        api,
    ))
}

/// The rate-limit key of an exchange.
fn key_context<'a>(
    client_ip: std::net::IpAddr,
    api: &'a str,
    operation: &'a str,
    principal: &'a Principal,
    parts: &'a request::Parts,
) -> rampart_limits::KeyContext<'a> {
    let mut k = rampart_limits::KeyContext::new(client_ip, api, operation);
    if !principal.id.is_empty() {
        k.principal = Some(&principal.id);
    }
    if let rampart_identity::PrincipalKind::ApiKey { key_id } = &principal.kind {
        k.api_key = Some(key_id);
    }
    k.claims = Some(&principal.claims);
    k.headers = Some(&parts.headers);
    k
}

/// The refusal of a spent (or unreachable, failing closed) rate limit.
fn throttled(v: &rampart_limits::Verdict<'_>) -> Decision {
    if v.unavailable {
        return Decision::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Problem::LimitUnavailable,
            &rules::LIMIT_UNAVAILABLE,
            "rate limiting is unavailable; try again shortly",
        );
    }
    let mut d = Decision::new(
        StatusCode::TOO_MANY_REQUESTS,
        Problem::TooManyRequests,
        &rules::LIMIT_RATE,
        match v.rule {
            Some(rule) => format!("the rate limit \"{rule}\" is exhausted"),
            None => "a rate limit is exhausted".to_string(),
        },
    );
    d.retry_after = v.retry_after_secs();
    d
}

/// Whether a client error was caused by the streamed request body (its size
/// limit, [`http_body_util::LengthLimitError`], or its deadline,
/// [`BodyTimeout`]) rather than by the upstream.
fn is_caused_by<E: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<E>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Split `Cookie` headers into pairs.
pub(crate) fn cookies(h: &http::HeaderMap) -> Vec<(&str, &str)> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| {
            let c = c.trim();
            if c.is_empty() {
                return None;
            }
            Some(c.split_once('=').unwrap_or((c, "")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_normalizer_error_has_its_own_rule() {
        use NormalizeError as E;
        for e in [
            E::NotOriginForm,
            E::TooLong,
            E::TooManySegments,
            E::TooManyQueryPairs,
            E::NonAsciiRaw,
            E::DisallowedCharacter,
            E::ControlCharacter,
            E::Backslash,
            E::Fragment,
            E::MatrixParameter,
            E::BadPercentEncoding,
            E::InvalidUtf8,
            E::EncodedSlash,
            E::DoubleEncoding,
            E::DotSegment,
            E::UnicodeConfusable,
            E::Method,
            E::MethodOverride,
        ] {
            let rule = rules::by_id(e.rule_id());
            assert!(
                rule.is_some(),
                "{} has no rule in rampart_contract::rules",
                e.rule_id()
            );
        }
    }

    #[test]
    fn cookies_split_on_semicolons() {
        let mut h = http::HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("flag"));
        assert_eq!(cookies(&h), vec![("a", "1"), ("b", "2"), ("flag", "")]);
    }
}
