//! Test helpers: the intake served on a real socket, a webhook receiver on
//! a real socket, and a scratch configuration around the demo's riders API.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use rampart_disclosure::{Intake, IntakeRequest};
use tokio::sync::mpsc;

/// The demo's riders spec.
pub fn riders_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-demo/assets/riders.openapi.yaml")
}

/// The demo's Cedar policies.
pub fn riders_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-demo/assets/riders.cedar")
}

/// A reqwest client that ignores proxy settings.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Serves `intake` on an ephemeral loopback port, reading at most
/// `max_body_bytes + 1` bytes of each body, as the gateway does.
pub async fn serve_intake(intake: Arc<Intake>) -> SocketAddr {
    let app = axum::Router::new().fallback(handle).with_state(intake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn handle(
    State(intake): State<Arc<Intake>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<axum::body::Body>,
) -> axum::response::Response {
    let (parts, mut body) = request.into_parts();
    if !intake.routes(parts.uri.path()) {
        return (StatusCode::NOT_FOUND, "not the intake").into_response_();
    }
    let limit = intake.max_body_bytes() + 1;
    let mut buf = Vec::new();
    while buf.len() < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(limit - buf.len());
                    buf.extend_from_slice(&data[..take]);
                }
            }
            Some(Err(_)) => return (StatusCode::BAD_REQUEST, "body").into_response_(),
            None => break,
        }
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let answer = intake
        .handle(IntakeRequest {
            method: &parts.method,
            path: parts.uri.path(),
            content_type: header("content-type"),
            accept: header("accept"),
            client_ip: peer.ip(),
            body: &buf,
        })
        .await;
    answer.into_http().map(axum::body::Body::from)
}

trait IntoResponse_ {
    fn into_response_(self) -> axum::response::Response;
}

impl IntoResponse_ for (StatusCode, &'static str) {
    fn into_response_(self) -> axum::response::Response {
        let mut r = axum::response::Response::new(axum::body::Body::from(self.1));
        *r.status_mut() = self.0;
        r
    }
}

/// A notification as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on an ephemeral port: every POST is passed on.
pub async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Received { headers, body });
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/hook"), rx)
}

/// The next notification, within 10 seconds.
pub async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification within 10 s")
        .expect("the receiver is running")
}

/// Writes a configuration for the riders API with a disclosure section in
/// `dir` and returns its path. `disclosure` is YAML indented by two spaces.
pub fn write_config(dir: &Path, disclosure: &str) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::copy(riders_policies(), policies.join("riders.cedar")).unwrap();
    let text = format!(
        "apis:\n  - name: riders\n    spec: '{}'\n    upstream: 'http://127.0.0.1:3080'\nauthorization:\n  policies: policies\n  privileged_roles: [admin]\ndisclosure:\n{disclosure}",
        riders_spec().display()
    );
    let path = dir.join("rampart.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A valid JSON report.
pub fn report_json(title: &str, description: &str) -> String {
    serde_json::json!({ "title": title, "description": description }).to_string()
}

/// Runs `sql` on the SQLite file at `path` through a connection of its
/// own, as any other client of the database would.
pub async fn sqlite_exec(path: &Path, sql: &str) -> Result<u64, String> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| e.to_string())?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    result
}
