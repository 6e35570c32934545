//! The real upstream: a hyper HTTP/1.1 server on `127.0.0.1:0` that answers
//! with a closure the test chooses and records every request exactly as it
//! arrived, so tests can assert what reached it, and what never did.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query exactly as they arrived on the wire.
    pub target: String,
    /// Protocol version.
    pub version: Version,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// Whether reading the body failed part-way.
    pub body_failed: bool,
}

impl Seen {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the upstream answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::raw(
            status,
            "application/json",
            serde_json::to_vec(&body).unwrap(),
        )
    }

    /// An answer with a content type and exact body bytes.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

type Responder = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A real HTTP/1.1 server on `127.0.0.1:0` that answers with a closure and
/// records every request it receives.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Start an upstream that answers every request with `respond`.
    pub async fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let respond: Arc<Responder> = Arc::new(respond);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let log = log.clone();
                        let respond = respond.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let (body, body_failed) = match body.collect().await {
                                Ok(c) => (c.to_bytes(), false),
                                Err(_) => (Bytes::new(), true),
                            };
                            let seen = Seen {
                                method: parts.method.to_string(),
                                target: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.as_str().to_string())
                                    .unwrap_or_default(),
                                version: parts.version,
                                headers: parts.headers,
                                body,
                                body_failed,
                            };
                            let reply = respond(&seen);
                            log.lock().unwrap().push(seen);
                            let mut resp = Response::new(Full::new(reply.body));
                            *resp.status_mut() = http::StatusCode::from_u16(reply.status).unwrap();
                            for (k, v) in reply.headers {
                                resp.headers_mut().append(
                                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                    HeaderValue::from_str(&v).unwrap(),
                                );
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream { addr, seen, task }
    }

    /// An upstream that answers every declared riders operation correctly
    /// (see [`riders_reply`]).
    pub async fn riders() -> Upstream {
        Upstream::start(riders_reply).await
    }

    /// An upstream whose answer the test changes as it goes (see [`Script`]);
    /// it answers `204` until told otherwise.
    pub async fn scripted() -> (Upstream, Script) {
        let script = Script(Arc::new(Mutex::new(Reply::empty(204))));
        let current = script.clone();
        let upstream = Upstream::start(move |_| current.0.lock().unwrap().clone()).await;
        (upstream, script)
    }

    /// An upstream that always answers `reply`.
    pub async fn always(reply: Reply) -> Upstream {
        Upstream::start(move |_| reply.clone()).await
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The one request received so far (panics unless exactly one).
    pub fn only_request(&self) -> Seen {
        let seen = self.requests();
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one upstream request: {seen:#?}"
        );
        seen.into_iter().next().unwrap()
    }

    /// Panics if any request reached the upstream.
    pub fn assert_untouched(&self) {
        let seen = self.requests();
        assert!(seen.is_empty(), "the upstream was reached: {seen:#?}");
    }
}

/// What a [`Upstream::scripted`] upstream answers.
#[derive(Clone)]
pub struct Script(Arc<Mutex<Reply>>);

impl Script {
    /// Answer `reply` from now on.
    pub fn answer(&self, reply: Reply) {
        *self.0.lock().unwrap() = reply;
    }
}

/// A well-behaved riders service: a contract-valid answer for every
/// operation of [`RIDERS`], and `200 {"shadow": true}` for anything else.
pub fn riders_reply(seen: &Seen) -> Reply {
    let segments: Vec<&str> = seen.path().split('/').filter(|s| !s.is_empty()).collect();
    match (seen.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "riders"]) => Reply::json(200, json!([{"id": 1, "name": "ann"}])),
        ("POST", ["api", "riders"]) => {
            let name = serde_json::from_slice::<Value>(&seen.body)
                .ok()
                .and_then(|v| v.get("name").cloned())
                .unwrap_or(json!("new"));
            Reply::json(201, json!({"id": 2, "name": name}))
        }
        ("GET" | "PATCH", ["api", "riders", id]) => match id.parse::<u64>() {
            Ok(id) if id > 0 => Reply::json(200, json!({"id": id, "name": "ann"})),
            _ => Reply::json(404, json!({"message": "no such rider"})),
        },
        ("GET", ["api", "files", _]) => Reply::raw(200, "text/plain", "file contents"),
        ("PUT", ["api", "uploads", _]) | ("GET", ["api", "status"]) => Reply::empty(204),
        _ => Reply::json(200, json!({"shadow": true})),
    }
}

/// A loopback port that refuses connections: bound but never listening, so
/// no other test can be handed it while this lives.
pub struct ClosedPort {
    /// The refusing address.
    pub addr: SocketAddr,
    _socket: tokio::net::TcpSocket,
}

impl ClosedPort {
    /// Reserve one.
    pub fn reserve() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        ClosedPort {
            addr: socket.local_addr().unwrap(),
            _socket: socket,
        }
    }

    /// As an upstream URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
