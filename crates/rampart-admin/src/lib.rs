//! The admin listener.
//!
//! Operators see and steer Rampart here, never through the public listener:
//! it binds loopback by default, and every request needs the admin bearer
//! token, compared in constant time. It serves Prometheus metrics and the
//! status of the running configuration; the operations API and dashboard
//! grow here.
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rampart_gateway::Runtime;
use rampart_gateway::metrics::Metrics;
use serde_json::json;
use tokio::net::TcpListener;

/// What the admin handlers read.
#[derive(Clone)]
pub struct Admin {
    state: Arc<ArcSwap<Runtime>>,
    metrics: Arc<Metrics>,
    token: Arc<Token>,
}

/// The admin token. Its `Debug` never shows it.
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// Shortest admin token accepted.
pub const MIN_TOKEN_LEN: usize = 32;

impl Token {
    /// Wrap a token, refusing short ones.
    pub fn new(text: &str) -> Result<Token, String> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the admin token must be at least {MIN_TOKEN_LEN} characters"
            ));
        }
        Ok(Token(t.as_bytes().to_vec()))
    }

    /// Constant-time comparison with a presented token.
    fn matches(&self, presented: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, presented).is_ok()
    }
}

impl Admin {
    /// The admin state over the gateway's runtime and metrics.
    pub fn new(state: Arc<ArcSwap<Runtime>>, metrics: Arc<Metrics>, token: Token) -> Self {
        Admin {
            state,
            metrics,
            token: Arc::new(token),
        }
    }

    /// The routes, behind the token check.
    pub fn router(self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/api/v1/status", get(status))
            .layer(middleware::from_fn_with_state(self.clone(), require_token))
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

fn problem(status: StatusCode, detail: &str) -> Response {
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

async fn require_token(State(admin): State<Admin>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().as_bytes().to_vec());
    match presented {
        Some(t) if admin.token.matches(&t) => {
            let mut resp = next.run(req).await;
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Some(_) => problem(StatusCode::UNAUTHORIZED, "the admin token is not valid"),
        None => {
            let mut r = problem(StatusCode::UNAUTHORIZED, "the admin token is required");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rampart-admin\""),
            );
            r
        }
    }
}

async fn metrics(State(admin): State<Admin>) -> Response {
    let mut resp = admin.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

async fn status(State(admin): State<Admin>) -> Response {
    let rt = admin.state.load();
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
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "config": rt.config.path,
        "mode": rt.config.config.mode.as_str(),
        "apis": apis,
        "policies": rt.policy.is_some(),
    }))
    .into_response()
}
