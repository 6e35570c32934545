//! The admin API's JSON handlers (described in `openapi.yaml` beside this
//! crate's sources, served at `/api/v1/openapi.yaml`).

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use rampart_config::Mode;
use rampart_detect::{Restriction, Subject};
use rampart_store::{EventQuery, Verdict};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::{Admin, problem};

/// `GET /api/v1/status`: version, config file, modes, APIs.
pub async fn status(State(admin): State<Admin>) -> Response {
    let rt = admin.control.state.load();
    let apis: Vec<_> = rt
        .apis
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "mode": a.mode.as_str(),
                "spec": a.contract.source,
                "operations": a.contract.operations.len(),
            })
        })
        .collect();
    let monitor = &admin.control.monitor;
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "config": rt.config.path,
        "mode": rt.config.config.mode.as_str(),
        "apis": apis,
        "policies": rt.policy.is_some(),
        "store": monitor.recorder.as_ref().map(|r| r.store().kind()),
        "detection": monitor.detector.is_some(),
        "overrides": admin.control.overrides().all().len(),
    }))
    .into_response()
}

/// `GET /api/v1/config`: the effective config, secrets redacted.
pub async fn config(State(admin): State<Admin>) -> Response {
    let rt = admin.control.state.load();
    match serde_json::to_value(&rt.config.config) {
        Ok(mut v) => {
            crate::redact::redact(&mut v);
            Json(json!({ "path": rt.config.path, "config": v })).into_response()
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the config could not be serialized: {e}"),
        ),
    }
}

/// `POST /api/v1/reload`: reload the config now.
pub async fn reload(State(admin): State<Admin>) -> Response {
    match admin.control.reload().await {
        Ok(()) => {
            tracing::info!("configuration reloaded through the admin API");
            Json(json!({ "reloaded": true })).into_response()
        }
        Err(errors) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("the config was not reloaded; the last good one keeps serving:\n{errors}"),
        ),
    }
}

/// The filters of `rampart events`, as query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Only events newer than this duration (`15m`, `2h`, `7d`).
    since: Option<String>,
    principal: Option<String>,
    ip: Option<String>,
    operation: Option<String>,
    decision: Option<String>,
    limit: Option<usize>,
}

impl EventFilter {
    fn query(&self, now: SystemTime) -> Result<EventQuery, String> {
        let since = match &self.since {
            Some(s) => Some(
                now - humantime::parse_duration(s)
                    .map_err(|e| format!("since: `{s}` is not a duration such as 15m: {e}"))?,
            ),
            None => None,
        };
        let decision = match &self.decision {
            Some(d) => Some(d.parse::<Verdict>().map_err(|e| format!("decision: {e}"))?),
            None => None,
        };
        Ok(EventQuery {
            since,
            until: None,
            principal: self.principal.clone(),
            client_ip: self.ip.clone(),
            operation: self.operation.clone(),
            decision,
            limit: self.limit.unwrap_or(100),
        })
    }
}

/// Query-string rejections as problems, not axum's plain text.
fn bad_query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Box<Response>> {
    q.map(|Query(v)| v)
        .map_err(|e| Box::new(problem(StatusCode::BAD_REQUEST, &e.body_text())))
}

/// `GET /api/v1/events`: recorded exchanges, newest first.
pub async fn events(
    State(admin): State<Admin>,
    q: Result<Query<EventFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = match bad_query(q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let query = match filter.query(SystemTime::now()) {
        Ok(q) => q,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    let Some(recorder) = &admin.control.monitor.recorder else {
        return problem(
            StatusCode::CONFLICT,
            "the audit store is off (store.sink: off); no events are kept",
        );
    };
    match recorder.query(&query).await {
        Ok(events) => Json(json!({ "events": events })).into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the audit store could not be read: {e}"),
        ),
    }
}

/// `GET /api/v1/events/stream`: exchanges as they happen (server-sent
/// events), with the same filters except `since` and `limit`.
pub async fn stream(
    State(admin): State<Admin>,
    q: Result<Query<EventFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = match bad_query(q) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let query = match filter.query(SystemTime::now()) {
        Ok(q) => EventQuery { since: None, ..q },
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    let rx = admin.control.live().subscribe();
    Sse::new(live_events(rx, query))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn live_events(
    rx: tokio::sync::broadcast::Receiver<std::sync::Arc<rampart_store::AuditEvent>>,
    query: EventQuery,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((rx, query), |(mut rx, query)| async move {
        loop {
            match rx.recv().await {
                Ok(e) if query.matches(&e) => {
                    let data = serde_json::to_string(&*e).unwrap_or_else(|_| "{}".to_owned());
                    return Some((
                        Ok(Event::default().event("exchange").data(data)),
                        (rx, query),
                    ));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    let ev = Event::default().event("lagged").data(n.to_string());
                    return Some((Ok(ev), (rx, query)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// `GET /api/v1/overview`: the last hour per minute, and the top rules.
pub async fn overview(State(admin): State<Admin>) -> Response {
    Json(admin.stats.overview(SystemTime::now())).into_response()
}

/// `GET /api/v1/offenders`: the most refused subjects, and whether each is blocked now.
pub async fn offenders(State(admin): State<Admin>) -> Response {
    let now = SystemTime::now();
    let blocks = admin
        .control
        .monitor
        .detector
        .as_ref()
        .map(|d| d.blocks(now))
        .unwrap_or_default();
    let list: Vec<Value> = admin
        .stats
        .offenders(50)
        .into_iter()
        .map(|o| {
            let blocked_now = blocks.iter().any(|b| b.subject.to_string() == o.subject);
            let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("blocked_now".into(), Value::Bool(blocked_now));
            }
            v
        })
        .collect();
    Json(json!({ "offenders": list })).into_response()
}

fn detector(admin: &Admin) -> Result<&rampart_detect::Detector, Box<Response>> {
    admin.control.monitor.detector.as_deref().ok_or_else(|| {
        Box::new(problem(
            StatusCode::CONFLICT,
            "detection is off: set detection.enabled to keep a block list",
        ))
    })
}

/// `GET /api/v1/blocks`: blocks and throttles in force.
pub async fn blocks(State(admin): State<Admin>) -> Response {
    match detector(&admin) {
        Ok(d) => Json(json!({ "blocks": d.blocks(SystemTime::now()) })).into_response(),
        Err(r) => *r,
    }
}

/// A block asked for through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    /// `ip:…`, `principal:…`, `key:…` or `username:…`.
    subject: String,
    /// How long (`15m`, `1h`); at most 30 days.
    ttl: String,
    /// Why (shown to operators, and logged).
    #[serde(default)]
    reason: Option<String>,
    /// Requests per minute allowed; absent: block outright.
    #[serde(default)]
    throttle_per_minute: Option<u32>,
}

/// Longest block an operator can set through the API.
const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// `POST /api/v1/blocks`: block or throttle a subject for a while.
pub async fn add_block(State(admin): State<Admin>, body: Bytes) -> Response {
    let d = match detector(&admin) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let req: NewBlock = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("invalid block: {e}")),
    };
    let subject: Subject = match req.subject.parse() {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("subject: {e}")),
    };
    let ttl = match humantime::parse_duration(&req.ttl) {
        Ok(t) if t > Duration::ZERO && t <= MAX_TTL => t,
        Ok(_) => return problem(StatusCode::BAD_REQUEST, "ttl: between 1s and 30d"),
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("ttl: {e}")),
    };
    let reason = req
        .reason
        .unwrap_or_else(|| "blocked by an operator".to_owned());
    if reason.len() > 500 || reason.chars().any(char::is_control) {
        return problem(
            StatusCode::BAD_REQUEST,
            "reason: at most 500 characters, no control characters",
        );
    }
    let restriction = match req.throttle_per_minute {
        Some(0) => return problem(StatusCode::BAD_REQUEST, "throttle_per_minute: at least 1"),
        Some(n) => Restriction::Throttle { per_minute: n },
        None => Restriction::Block,
    };
    let now = SystemTime::now();
    tracing::warn!(subject = %subject, ttl = ?ttl, "operator block through the admin API");
    d.block(subject.clone(), restriction, ttl, &reason, now);
    let block = d.is_blocked(subject.as_ref(), now);
    (StatusCode::CREATED, Json(json!({ "block": block }))).into_response()
}

/// `DELETE /api/v1/blocks/{subject}`: lift a block.
pub async fn remove_block(State(admin): State<Admin>, Path(subject): Path<String>) -> Response {
    let d = match detector(&admin) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let subject: Subject = match subject.parse() {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("subject: {e}")),
    };
    match d.unblock(subject.as_ref()) {
        Some(b) => {
            tracing::warn!(subject = %subject, "operator unblock through the admin API");
            Json(json!({ "removed": b })).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "no block on that subject"),
    }
}

/// `GET /api/v1/detections`: recent detections and the detector's counters.
pub async fn detections(State(admin): State<Admin>) -> Response {
    match detector(&admin) {
        Ok(d) => {
            let stats = d.stats(SystemTime::now());
            let totals: serde_json::Map<String, Value> = rampart_detect::DetectionKind::ALL
                .iter()
                .map(|k| {
                    (
                        k.as_str().to_owned(),
                        json!(stats.detections_total[k.index()]),
                    )
                })
                .collect();
            Json(json!({
                "detections": d.recent(),
                "totals": totals,
                "tracked_subjects": stats.tracked_subjects,
                "blocks_active": stats.blocks_active,
            }))
            .into_response()
        }
        Err(r) => *r,
    }
}

/// `GET /api/v1/operations`: every declared operation with its mode and traffic.
pub async fn operations(State(admin): State<Admin>) -> Response {
    let rt = admin.control.state.load();
    let mut ops = Vec::new();
    for api in &rt.apis {
        for op in &api.contract.operations {
            let configured = api.mode_of(op);
            let over = admin.control.overrides().get(&api.name, &op.id);
            ops.push(json!({
                "api": api.name,
                "operation": op.id,
                "method": op.method.as_str(),
                "path": op.path,
                "deprecated": op.deprecated,
                "configured_mode": configured.as_str(),
                "override": over.map(|m| m.as_str()),
                "mode": over.unwrap_or(configured).as_str(),
                "traffic": admin.stats.operation(&api.name, &op.id),
            }));
        }
    }
    Json(json!({ "operations": ops })).into_response()
}

/// A mode switch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSwitch {
    /// `enforce`, `monitor` or `off`; `null` clears the override.
    mode: Option<Mode>,
}

/// `PUT /api/v1/operations/{api}/{operation}/mode`: switch one operation's
/// mode at run time (kept across reloads, not across restarts).
pub async fn set_mode(
    State(admin): State<Admin>,
    Path((api, operation)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let switch: ModeSwitch = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("invalid mode switch: {e}"),
            );
        }
    };
    let known = admin
        .control
        .state
        .load()
        .apis
        .iter()
        .any(|a| a.name == api && a.contract.operations.iter().any(|o| o.id == operation));
    if !known {
        return problem(
            StatusCode::NOT_FOUND,
            "no such operation in the running config",
        );
    }
    admin.control.overrides().set(&api, &operation, switch.mode);
    tracing::warn!(api = %api, operation = %operation, mode = switch.mode.map_or("(config)", |m| m.as_str()), "operation mode switched through the admin API");
    Json(json!({
        "api": api,
        "operation": operation,
        "override": switch.mode.map(|m| m.as_str()),
    }))
    .into_response()
}

/// `GET /api/v1/reports/audit`: `rampart audit` of every running spec.
pub async fn audit_report(State(admin): State<Admin>) -> Response {
    let paths: Vec<std::path::PathBuf> = admin
        .control
        .state
        .load()
        .apis
        .iter()
        .map(|a| a.contract.source.clone())
        .collect();
    let done = tokio::task::spawn_blocking(move || {
        let settings = rampart_audit::Settings::default();
        let mut reports = Vec::new();
        for p in &paths {
            match rampart_audit::audit_file(p, &settings) {
                Ok(r) => reports.push(r),
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        serde_json::from_str::<Value>(&rampart_audit::report::json::render(&reports))
            .map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => problem(StatusCode::UNPROCESSABLE_ENTITY, &e),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("audit task: {e}"),
        ),
    }
}

/// Largest report accepted for upload.
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// `PUT /api/v1/reports/{kind}`: upload a report (`rampart scan --format json`
/// output, say) for the dashboard to show. Kept in memory.
pub async fn put_report(
    State(admin): State<Admin>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    if !matches!(kind.as_str(), "scan" | "audit-upload") {
        return problem(
            StatusCode::NOT_FOUND,
            "reports are `scan` or `audit-upload`",
        );
    }
    if body.len() > MAX_REPORT_BYTES {
        return problem(StatusCode::PAYLOAD_TOO_LARGE, "a report is at most 4 MiB");
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("the report is not JSON: {e}"),
            );
        }
    };
    admin.reports.put(&kind, v);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /api/v1/reports/{kind}`: an uploaded report.
pub async fn get_report(State(admin): State<Admin>, Path(kind): Path<String>) -> Response {
    match admin.reports.get(&kind) {
        Some(v) => Json(v).into_response(),
        None => problem(StatusCode::NOT_FOUND, "no such report has been uploaded"),
    }
}

fn desk(admin: &Admin) -> Result<&rampart_disclosure::Disclosures, Box<Response>> {
    admin.control.monitor.disclosures.as_deref().ok_or_else(|| {
        Box::new(problem(
            StatusCode::CONFLICT,
            "disclosure is off: set disclosure.intake.enabled to take reports",
        ))
    })
}

fn report_view(
    d: &rampart_disclosure::Disclosures,
    r: &rampart_disclosure::Report,
    now: SystemTime,
) -> Value {
    json!({ "report": r, "sla": d.sla(r, now) })
}

/// `GET /api/v1/disclosures`: the disclosure queue with each report's SLA
/// clock, overdue reports first.
pub async fn disclosures(State(admin): State<Admin>) -> Response {
    let d = match desk(&admin) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    match d.tracker().list(None).await {
        Ok(reports) => {
            let now = SystemTime::now();
            let mut list: Vec<(bool, i64, Value)> = reports
                .iter()
                .map(|r| {
                    let sla = d.sla(r, now);
                    (sla.overdue, -sla.days_open, report_view(d, r, now))
                })
                .collect();
            list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let overdue = list.iter().filter(|x| x.0).count();
            Json(json!({
                "sla_days": d.sla_days(),
                "overdue": overdue,
                "reports": list.into_iter().map(|x| x.2).collect::<Vec<_>>(),
            }))
            .into_response()
        }
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the tracker could not be read: {e}"),
        ),
    }
}

/// `GET /api/v1/disclosures/{id}`: one report, its SLA clock and its history.
pub async fn disclosure(State(admin): State<Admin>, Path(id): Path<i64>) -> Response {
    let d = match desk(&admin) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let report = match d.tracker().get(id).await {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::NOT_FOUND, &e.to_string()),
    };
    match d.tracker().history(id).await {
        Ok(history) => {
            let mut v = report_view(d, &report, SystemTime::now());
            if let Value::Object(m) = &mut v {
                m.insert(
                    "history".into(),
                    serde_json::to_value(history).unwrap_or(Value::Null),
                );
            }
            Json(v).into_response()
        }
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the tracker could not be read: {e}"),
        ),
    }
}

/// The inventory window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryWindow {
    /// How far back (`24h`, `7d`); default 7 days.
    since: Option<String>,
}

/// `GET /api/v1/inventory`: what traffic shows against what the contract
/// says (the JSON of `rampart inventory --json`).
pub async fn inventory(
    State(admin): State<Admin>,
    q: Result<Query<InventoryWindow>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let window = match bad_query(q) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let since = match humantime::parse_duration(window.since.as_deref().unwrap_or("7d")) {
        Ok(d) => SystemTime::now().checked_sub(d),
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("since: {e}")),
    };
    let Some(recorder) = &admin.control.monitor.recorder else {
        return problem(
            StatusCode::CONFLICT,
            "the audit store is off (store.sink: off); the inventory is built from it",
        );
    };
    let loaded = admin.control.state.load().config.clone();
    let apis =
        match tokio::task::spawn_blocking(move || rampart_inventory::load_apis(&loaded)).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => return problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
            Err(e) => {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("inventory task: {e}"),
                );
            }
        };
    match rampart_inventory::collect(recorder.store(), &apis, since, SystemTime::now()).await {
        Ok(inv) => Json(inv).into_response(),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the inventory could not be built: {e}"),
        ),
    }
}
