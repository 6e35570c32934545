//! OpenTelemetry traces: one server span per exchange, exported over OTLP.
//!
//! Off unless the config has `telemetry.otlp`. Then each exchange opens a
//! span as it arrives (a child of the client's `traceparent` when that is
//! valid, else a new trace), the upstream request carries a `traceparent`
//! naming that span so the upstream's spans join the trace, and the record
//! phase names the span after the route template (never the raw path, which
//! holds object ids and would make span names unbounded) and sets the
//! decision's attributes before ending it.
//!
//! Export runs in the SDK's batch processor on its own thread, so the
//! request path only appends the finished span to a bounded queue (spans are
//! dropped, not waited for, when the collector falls behind). The transport
//! is OTLP/HTTP protobuf through the SDK's blocking reqwest client: the same
//! reqwest 0.13 the workspace builds (rustls, no OpenSSL), so no second HTTP
//! stack, and a blocking client is what that processor's thread expects.
//!
//! With export off, a client's `traceparent` still reaches the upstream
//! unchanged (the upstream module copies end-to-end headers), but the
//! gateway starts no trace of its own: it would name a parent span that no
//! collector ever receives, leaving the upstream's spans orphaned.

use std::collections::HashMap;
use std::time::SystemTime;

use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use rampart_config::{OtlpConfig, OtlpProtocol};

/// Why trace export could not start.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// `headers_env` names a variable that is not set.
    #[error("telemetry.otlp.headers_env: the environment variable {0} is not set")]
    MissingHeadersEnv(String),
    /// The variable is set but is not `name=value` pairs.
    #[error("telemetry.otlp.headers_env: {0} must hold `name=value` pairs separated by commas")]
    BadHeaders(String),
    /// The SDK refused the exporter settings.
    #[error("cannot start the OTLP exporter: {0}")]
    Exporter(String),
}

/// The running exporter: a tracer for the workers, a provider to flush.
pub struct Traces {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagator: TraceContextPropagator,
}

impl Traces {
    /// Build the exporter and its batch processor. Call from a tokio worker
    /// or plain thread; the blocking HTTP client is built on a thread of its
    /// own by the SDK.
    pub fn start(config: &OtlpConfig) -> Result<Traces, TraceError> {
        let headers = match &config.headers_env {
            Some(name) => {
                let raw =
                    std::env::var(name).map_err(|_| TraceError::MissingHeadersEnv(name.clone()))?;
                parse_headers(&raw).ok_or_else(|| TraceError::BadHeaders(name.clone()))?
            }
            None => HashMap::new(),
        };
        // The only transport for now; a new one fails to compile here.
        let OtlpProtocol::HttpProtobuf = config.protocol;
        let endpoint = format!("{}/v1/traces", config.endpoint.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_headers(headers)
            .build()
            .map_err(|e| TraceError::Exporter(e.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name(config.service_name.clone())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio,
            ))))
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("rampart-gateway");
        Ok(Traces {
            provider,
            tracer,
            propagator: TraceContextPropagator::new(),
        })
    }

    /// Open the span of an exchange that arrived at `ts` with `headers`.
    pub fn begin(
        &self,
        headers: &HeaderMap,
        method: &http::Method,
        ts: SystemTime,
    ) -> ExchangeSpan {
        let parent = self.propagator.extract(&HeaderExtractor(headers));
        // Named after the method until routing knows the template (the
        // semantic conventions' name when there is no route).
        let span = self
            .tracer
            .span_builder(method.as_str().to_owned())
            .with_kind(SpanKind::Server)
            .with_start_time(ts)
            .start_with_context(&self.tracer, &parent);
        ExchangeSpan {
            cx: parent.with_span(span),
            propagator: self.propagator.clone(),
        }
    }

    /// Export what is queued and stop the batch thread. Blocks: call it
    /// from `spawn_blocking`.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "the OTLP exporter did not shut down cleanly");
        }
    }
}

/// `name=value,name2=value2` (the `OTEL_EXPORTER_OTLP_HEADERS` format),
/// values percent-decoded; `None` when a pair has no `=` or an empty name.
fn parse_headers(raw: &str) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return None;
        }
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8_lossy()
            .into_owned();
        http::HeaderValue::from_str(&value).ok()?;
        out.insert(name.to_owned(), value);
    }
    Some(out)
}

/// The span of one exchange, open until the record phase ends it.
pub struct ExchangeSpan {
    cx: Context,
    propagator: TraceContextPropagator,
}

/// What the record phase puts on the span.
pub struct SpanFields<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The route template (`/riders/{riderId}`), when the request was routed.
    pub route: Option<&'a str>,
    /// The status sent to the client.
    pub status: u16,
    /// The gateway's decision (`allowed`, `blocked`, ...).
    pub decision: &'static str,
    /// The first rule that fired, if any.
    pub rule: Option<&'a str>,
    /// The operation id, when routed.
    pub operation: Option<&'a str>,
    /// The API's name, when known.
    pub api: Option<&'a str>,
    /// The request id Rampart gave the exchange.
    pub request_id: &'a str,
}

impl ExchangeSpan {
    /// Set `traceparent` (and `tracestate`) on the upstream request so it
    /// names this span as the parent, replacing the client's.
    pub fn inject(&self, headers: &mut HeaderMap) {
        headers.remove("tracestate");
        self.propagator
            .inject_context(&self.cx, &mut HeaderInjector(headers));
    }

    /// Name the span, set the exchange's attributes and end it (which
    /// queues it for export).
    pub fn finish(self, f: &SpanFields<'_>) {
        let span = self.cx.span();
        if !span.is_recording() {
            return;
        }
        if let Some(route) = f.route {
            span.update_name(format!("{} {route}", f.method));
        }
        let mut attrs = Vec::with_capacity(8);
        attrs.push(KeyValue::new("http.request.method", f.method.to_owned()));
        attrs.push(KeyValue::new(
            "http.response.status_code",
            i64::from(f.status),
        ));
        attrs.push(KeyValue::new("rampart.decision", f.decision));
        attrs.push(KeyValue::new("rampart.request_id", f.request_id.to_owned()));
        let optional = [
            ("http.route", f.route),
            ("rampart.rule", f.rule),
            ("rampart.operation", f.operation),
            ("rampart.api", f.api),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                attrs.push(KeyValue::new(key, v.to_owned()));
            }
        }
        span.set_attributes(attrs);
        if f.status >= 500 {
            span.set_status(Status::error(""));
        }
        span.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_env_pairs_are_parsed_and_decoded() {
        let h = parse_headers("x-api-key=abc%3D1, authorization=Bearer%20t").unwrap();
        assert_eq!(h["x-api-key"], "abc=1");
        assert_eq!(h["authorization"], "Bearer t");
        assert!(parse_headers("novalue").is_none());
        assert!(parse_headers("bad name=1").is_none());
        assert!(parse_headers("").unwrap().is_empty());
    }

    #[test]
    fn a_missing_headers_env_is_a_start_error_naming_the_variable() {
        let config = OtlpConfig {
            endpoint: "http://127.0.0.1:4318".to_owned(),
            protocol: OtlpProtocol::HttpProtobuf,
            service_name: "rampart".to_owned(),
            sample_ratio: 1.0,
            headers_env: Some("RAMPART_TEST_OTLP_HEADERS_NEVER_SET".to_owned()),
        };
        let Err(e) = Traces::start(&config) else {
            panic!("started without its headers");
        };
        assert!(
            e.to_string()
                .contains("RAMPART_TEST_OTLP_HEADERS_NEVER_SET is not set"),
            "{e}"
        );
    }
}
