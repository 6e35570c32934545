//! The admin listener: the operations API and the web dashboard.
//!
//! Operators see and steer Rampart here, never through the public listener:
//! it binds loopback by default, and every request needs the admin token,
//! compared in constant time, either as a bearer token (API clients) or
//! traded for a dashboard session (see [`auth`]). The API is described by
//! its own OpenAPI document, served at `/api/v1/openapi.yaml`; the
//! dashboard's assets are compiled into the binary (see [`dashboard`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod redact;
pub mod stats;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use rampart_gateway::Control;
use serde_json::json;
use tokio::net::TcpListener;

pub use auth::{MIN_TOKEN_LEN, Token};

/// The admin API's OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.yaml");

/// Reports uploaded for the dashboard (scan results and the like), in memory.
#[derive(Default)]
pub struct Reports {
    map: Mutex<HashMap<String, serde_json::Value>>,
}

impl Reports {
    fn put(&self, kind: &str, v: serde_json::Value) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(kind.to_owned(), v);
    }

    fn get(&self, kind: &str) -> Option<serde_json::Value> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(kind).cloned()
    }
}

/// What the admin handlers read.
#[derive(Clone)]
pub struct Admin {
    control: Control,
    token: Arc<Token>,
    sessions: Arc<auth::Sessions>,
    stats: stats::LiveStats,
    reports: Arc<Reports>,
    secure_cookie: bool,
}

impl Admin {
    /// The admin state over the gateway's control handle. Starts the task
    /// that keeps the dashboard's statistics, so call it inside a tokio
    /// runtime, before traffic arrives.
    pub fn new(control: Control, token: Token) -> Self {
        let stats = stats::LiveStats::spawn(control.live());
        Admin {
            control,
            token: Arc::new(token),
            sessions: Arc::new(auth::Sessions::default()),
            stats,
            reports: Arc::new(Reports::default()),
            secure_cookie: false,
        }
    }

    /// Mark the session cookie `Secure` (and `__Host-`): for a dashboard
    /// reached over TLS, e.g. behind a TLS-terminating proxy.
    pub fn with_secure_cookie(mut self, secure: bool) -> Self {
        self.secure_cookie = secure;
        self
    }

    /// The routes: the login page and static assets are public, everything
    /// else needs the token or a session.
    pub fn router(self) -> Router {
        let protected = Router::new()
            .route("/", get(dashboard::index))
            .route("/metrics", get(metrics))
            .route("/logout", post(logout))
            .route("/api/v1/session", get(session))
            .route("/api/v1/openapi.yaml", get(openapi))
            .route("/api/v1/status", get(api::status))
            .route("/api/v1/config", get(api::config))
            .route("/api/v1/reload", post(api::reload))
            .route("/api/v1/events", get(api::events))
            .route("/api/v1/events/stream", get(api::stream))
            .route("/api/v1/overview", get(api::overview))
            .route("/api/v1/offenders", get(api::offenders))
            .route("/api/v1/blocks", get(api::blocks).post(api::add_block))
            .route("/api/v1/blocks/{subject}", delete(api::remove_block))
            .route("/api/v1/detections", get(api::detections))
            .route("/api/v1/operations", get(api::operations))
            .route(
                "/api/v1/operations/{api}/{operation}/mode",
                put(api::set_mode),
            )
            .route("/api/v1/inventory", get(api::inventory))
            .route("/api/v1/disclosures", get(api::disclosures))
            .route("/api/v1/disclosures/{id}", get(api::disclosure))
            .route("/api/v1/reports/audit", get(api::audit_report))
            .route(
                "/api/v1/reports/{kind}",
                get(api::get_report).put(api::put_report),
            )
            .layer(middleware::from_fn_with_state(self.clone(), require_auth));
        Router::new()
            .route("/login", get(dashboard::login_page).post(login))
            .route("/assets/{name}", get(dashboard::asset))
            .merge(protected)
            .fallback(not_found)
            .layer(axum::extract::DefaultBodyLimit::max(api::MAX_REPORT_BYTES))
            .layer(middleware::from_fn(security_headers))
            .with_state(self)
    }

    /// Serve on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// An RFC 9457 problem response.
pub(crate) fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "https://rampart.dev/problems/admin",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "no such admin resource")
}

/// Headers on every admin response. The CSP allows only this origin's own
/// scripts and styles (no inline script, no `eval`), so even markup that
/// slipped into the page could not run; framing is refused (clickjacking
/// of the block buttons); nothing is cached.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The gate in front of every protected route.
async fn require_auth(State(admin): State<Admin>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if let Some(presented) = auth::bearer(headers) {
        if admin.token.matches(presented) {
            return next.run(req).await;
        }
        return problem(StatusCode::UNAUTHORIZED, "the admin token is not valid");
    }
    if let Some(id) = auth::session_cookie(headers, admin.secure_cookie)
        && let Some(csrf) = admin.sessions.touch(&id)
    {
        if auth::is_write(req.method()) {
            if auth::cross_site(headers) {
                return problem(StatusCode::FORBIDDEN, "cross-site writes are refused");
            }
            if !auth::csrf_matches(&csrf, headers) {
                return problem(
                    StatusCode::FORBIDDEN,
                    "a write needs the session's X-CSRF-Token header",
                );
            }
        }
        return next.run(req).await;
    }
    // A browser asking for the dashboard goes to the login page.
    if req.method() == Method::GET && req.uri().path() == "/" {
        return (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/login"))],
        )
            .into_response();
    }
    let mut r = problem(StatusCode::UNAUTHORIZED, "the admin token is required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"rampart-admin\""),
    );
    r
}

/// `POST /login`: trade the admin token (a form field) for a session.
async fn login(
    State(admin): State<Admin>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if auth::cross_site(&headers) {
        return problem(StatusCode::FORBIDDEN, "cross-site logins are refused");
    }
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !admin.token.matches(token.trim().as_bytes()) {
        tracing::warn!("a dashboard login with a wrong token");
        return (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/login?failed"))],
        )
            .into_response();
    }
    let session = match admin.sessions.create() {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let mut resp = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/"))],
    )
        .into_response();
    if let Some(cookie) = auth::set_cookie(&session.id, admin.secure_cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    resp
}

/// `POST /logout`: end the session.
async fn logout(State(admin): State<Admin>, headers: axum::http::HeaderMap) -> Response {
    if let Some(id) = auth::session_cookie(&headers, admin.secure_cookie) {
        admin.sessions.end(&id);
    }
    let mut resp = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/login"))],
    )
        .into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie(admin.secure_cookie));
    resp
}

/// `GET /api/v1/session`: the CSRF token the dashboard's writes carry.
async fn session(State(admin): State<Admin>, headers: axum::http::HeaderMap) -> Response {
    let csrf = auth::session_cookie(&headers, admin.secure_cookie)
        .and_then(|id| admin.sessions.touch(&id));
    axum::Json(json!({ "csrf": csrf })).into_response()
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        OPENAPI,
    )
        .into_response()
}

async fn metrics(State(admin): State<Admin>) -> Response {
    let mut resp = admin.control.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}
