//! OTLP trace export: one server span per exchange, named after the route
//! template, with the decision's attributes, joined to the client's trace
//! when it sends a `traceparent`, and named as the parent in the
//! `traceparent` the upstream receives. A real OTLP/HTTP receiver on
//! `127.0.0.1:0` decodes what the gateway exports with the OTLP protobuf
//! types; the gateway's shutdown flushes the batch, so nothing sleeps.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::json;
use support::{Gateway, RIDERS, Upstream, send};
use tokio::net::TcpListener;

/// A client's trace: its trace id and the id of its calling span.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// One exported span with the resource's `service.name`.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    span: Span,
}

impl Exported {
    fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// The span's attributes as text (integers printed).
    fn attrs(&self) -> HashMap<String, String> {
        self.span
            .attributes
            .iter()
            .filter_map(|kv| {
                let v = match kv.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(s) => s.clone(),
                    AnyValue::IntValue(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                Some((kv.key.clone(), v))
            })
            .collect()
    }
}

/// A real OTLP/HTTP receiver: `POST /v1/traces` with a protobuf
/// `ExportTraceServiceRequest`, answered with an empty export response.
struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<Exported>>>,
    posts: Arc<Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let spans: Arc<Mutex<Vec<Exported>>> = Arc::default();
        let posts: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (s, p) = (spans.clone(), posts.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, p) = (s.clone(), p.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (s, p) = (s.clone(), p.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let content_type = parts
                                .headers
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            p.lock()
                                .unwrap()
                                .push((parts.uri.path().to_owned(), content_type));
                            let body = body.collect().await.unwrap().to_bytes();
                            let export = ExportTraceServiceRequest::decode(body).unwrap();
                            for rs in export.resource_spans {
                                let service = rs
                                    .resource
                                    .iter()
                                    .flat_map(|r| &r.attributes)
                                    .find(|kv| kv.key == "service.name")
                                    .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                                    .map(|v| match v {
                                        AnyValue::StringValue(s) => s.clone(),
                                        other => format!("{other:?}"),
                                    })
                                    .unwrap_or_default();
                                for ss in rs.scope_spans {
                                    for span in ss.spans {
                                        s.lock().unwrap().push(Exported {
                                            service: service.clone(),
                                            span,
                                        });
                                    }
                                }
                            }
                            let mut resp = Response::new(Full::new(Bytes::new()));
                            resp.headers_mut().insert(
                                "content-type",
                                http::HeaderValue::from_static("application/x-protobuf"),
                            );
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Collector {
            addr,
            spans,
            posts,
            task,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn spans(&self) -> Vec<Exported> {
        self.spans.lock().unwrap().clone()
    }

    /// The one span for `request_id`.
    #[track_caller]
    fn span_for(&self, request_id: &str) -> Exported {
        let found: Vec<Exported> = self
            .spans()
            .into_iter()
            .filter(|e| e.attrs().get("rampart.request_id").map(String::as_str) == Some(request_id))
            .collect();
        assert_eq!(found.len(), 1, "spans for {request_id}: {found:#?}");
        found.into_iter().next().unwrap()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `00-<trace>-<parent>-<flags>` split into its parts.
fn traceparent_parts(value: &str) -> (String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent {value}");
    assert_eq!(parts[0], "00", "traceparent {value}");
    (parts[1].into(), parts[2].into(), parts[3].into())
}

async fn gateway_exporting_to(collector: &Collector, upstream: &Upstream) -> Gateway {
    Gateway::builder(RIDERS, upstream)
        .config(json!({"telemetry": {"otlp": {
            "endpoint": collector.endpoint(),
            "service_name": "rampart-test",
        }}}))
        .start()
        .await
}

#[tokio::test]
async fn an_incoming_trace_is_joined_and_the_upstream_gets_the_gateway_span_as_parent() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = gateway_exporting_to(&collector, &upstream).await;
    let answer = send(
        gateway
            .request("GET", "/api/riders/7")
            .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let request_id = answer.request_id().to_owned();
    gateway.finish().await;

    let exported = collector.span_for(&request_id);
    assert_eq!(exported.service, "rampart-test");
    assert_eq!(exported.span.name, "GET /api/riders/{riderId}");
    assert_eq!(exported.span.kind, SpanKind::Server as i32);
    assert_eq!(exported.trace_id(), CLIENT_TRACE);
    assert_eq!(exported.parent_id(), CLIENT_SPAN);
    let attrs = exported.attrs();
    let expected = [
        ("http.request.method", "GET"),
        ("http.route", "/api/riders/{riderId}"),
        ("http.response.status_code", "200"),
        ("rampart.decision", "allowed"),
        ("rampart.operation", "getRider"),
        ("rampart.api", "riders"),
        ("rampart.request_id", request_id.as_str()),
    ];
    for (key, value) in expected {
        assert_eq!(
            attrs.get(key).map(String::as_str),
            Some(value),
            "{key}: {attrs:?}"
        );
    }
    assert!(
        !attrs.contains_key("rampart.rule"),
        "no rule fired: {attrs:?}"
    );
    assert!(
        !attrs.values().any(|v| v.contains("/api/riders/7")),
        "the raw path never appears: {attrs:?}"
    );

    let seen = upstream.only_request();
    let (trace, parent, flags) = traceparent_parts(seen.header("traceparent").unwrap());
    assert_eq!(trace, CLIENT_TRACE);
    assert_eq!(
        parent,
        exported.span_id(),
        "the upstream's parent is the gateway span"
    );
    assert_eq!(flags, "01");
    assert_eq!(
        collector.posts.lock().unwrap()[0],
        ("/v1/traces".to_owned(), "application/x-protobuf".to_owned())
    );
}

#[tokio::test]
async fn without_a_traceparent_the_gateway_starts_the_trace() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = gateway_exporting_to(&collector, &upstream).await;
    let answer = gateway.get("/api/riders/7").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let request_id = answer.request_id().to_owned();
    gateway.finish().await;

    let exported = collector.span_for(&request_id);
    assert!(
        exported.span.parent_span_id.is_empty(),
        "a root span: {exported:?}"
    );
    assert_eq!(exported.span.trace_id.len(), 16);
    assert_ne!(exported.trace_id(), "0".repeat(32));
    let seen = upstream.only_request();
    let (trace, parent, _) = traceparent_parts(seen.header("traceparent").unwrap());
    assert_eq!(trace, exported.trace_id());
    assert_eq!(parent, exported.span_id());
}

#[tokio::test]
async fn a_malformed_traceparent_starts_a_new_trace() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = gateway_exporting_to(&collector, &upstream).await;
    let answer = send(
        gateway
            .request("GET", "/api/riders/7")
            .header("traceparent", "00-not-a-trace-01"),
    )
    .await;
    let request_id = answer.request_id().to_owned();
    gateway.finish().await;

    let exported = collector.span_for(&request_id);
    assert!(exported.span.parent_span_id.is_empty());
    let seen = upstream.only_request();
    let (trace, parent, _) = traceparent_parts(seen.header("traceparent").unwrap());
    assert_eq!((trace, parent), (exported.trace_id(), exported.span_id()));
}

#[tokio::test]
async fn a_refused_request_still_produces_a_blocked_span() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = gateway_exporting_to(&collector, &upstream).await;
    let unknown = gateway.get("/api/riders/7/secrets").await;
    unknown.assert_problem(404, "contract.route.unknown");
    let bad_param = gateway.get("/api/riders/0").await;
    assert_eq!(bad_param.status, 400, "{}", bad_param.text());
    let (unknown_id, bad_id) = (
        unknown.request_id().to_owned(),
        bad_param.request_id().to_owned(),
    );
    gateway.finish().await;
    upstream.assert_untouched();

    let exported = collector.span_for(&unknown_id);
    // No route: named after the method alone, never the raw path.
    assert_eq!(exported.span.name, "GET");
    let attrs = exported.attrs();
    assert_eq!(attrs["rampart.decision"], "blocked");
    assert_eq!(attrs["rampart.rule"], "contract.route.unknown");
    assert_eq!(attrs["http.response.status_code"], "404");
    assert!(!attrs.contains_key("http.route"), "{attrs:?}");

    let exported = collector.span_for(&bad_id);
    assert_eq!(exported.span.name, "GET /api/riders/{riderId}");
    let attrs = exported.attrs();
    assert_eq!(attrs["rampart.decision"], "blocked");
    assert_eq!(attrs["rampart.operation"], "getRider");
    assert!(attrs["rampart.rule"].starts_with("contract."), "{attrs:?}");
}

#[tokio::test]
async fn without_the_section_nothing_is_exported_and_traceparent_passes_through() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let incoming = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let with = send(
        gateway
            .request("GET", "/api/riders/7")
            .header("traceparent", incoming.as_str()),
    )
    .await;
    assert_eq!(with.status, 200);
    let without = gateway.get("/api/riders/8").await;
    assert_eq!(without.status, 200);
    gateway.finish().await;

    assert!(collector.spans().is_empty());
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("traceparent"), Some(incoming.as_str()));
    assert_eq!(seen[1].header("traceparent"), None);
}

#[tokio::test]
async fn a_sampled_out_trace_exports_nothing_but_still_propagates() {
    let collector = Collector::start().await;
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"telemetry": {"otlp": {
            "endpoint": collector.endpoint(),
            "sample_ratio": 0.0,
        }}}))
        .start()
        .await;
    let answer = gateway.get("/api/riders/7").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    gateway.finish().await;

    assert!(collector.spans().is_empty(), "{:#?}", collector.spans());
    let seen = upstream.only_request();
    let (trace, parent, flags) = traceparent_parts(seen.header("traceparent").unwrap());
    assert_eq!(trace.len(), 32);
    assert_ne!(trace, "0".repeat(32));
    assert_ne!(parent, "0".repeat(16));
    assert_eq!(flags, "00", "the upstream learns the trace is not recorded");
}
