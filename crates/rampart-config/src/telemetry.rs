//! The `telemetry` section: OpenTelemetry trace export.
//!
//! Rampart always forwards a client's W3C `traceparent` to the upstream.
//! Exporting its own spans is optional and off unless `telemetry.otlp` is
//! set, because an exporter needs a collector to send to and costs a
//! background thread and memory for the batch queue.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::{Report, check_webhook_url, is_env_name, quoted};

/// Telemetry export settings. Absent: nothing is exported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Export one server span per exchange over OTLP. Absent: no export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp: Option<OtlpConfig>,
}

/// Where and how spans are exported over OTLP.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector's base URL, e.g. `http://127.0.0.1:4318`; spans are
    /// posted to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// The OTLP transport.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// `service.name` of the exported spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// Share of new traces recorded, from 0.0 to 1.0. A request that carries
    /// a `traceparent` follows its caller's sampling decision instead.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
    /// Environment variable holding extra request headers for the collector
    /// (such as an API key), as `name=value` pairs separated by commas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_env: Option<String>,
}

/// Equality compares `sample_ratio` bit for bit, so it stays an equivalence
/// (and the config keeps `Eq`) even for a NaN that validation will refuse.
impl PartialEq for OtlpConfig {
    fn eq(&self, other: &Self) -> bool {
        self.endpoint == other.endpoint
            && self.protocol == other.protocol
            && self.service_name == other.service_name
            && self.sample_ratio.to_bits() == other.sample_ratio.to_bits()
            && self.headers_env == other.headers_env
    }
}

impl Eq for OtlpConfig {}

/// OTLP transports Rampart speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OtlpProtocol {
    /// Protocol buffers over HTTP (`POST /v1/traces`).
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

fn default_service_name() -> String {
    "rampart".to_owned()
}

fn default_sample_ratio() -> f64 {
    1.0
}

/// Checks the `telemetry` section.
pub(crate) fn check(config: &crate::Config, report: &mut Report<'_>) {
    let Some(otlp) = &config.telemetry.otlp else {
        return;
    };
    if let Err(reason) = check_endpoint(&otlp.endpoint) {
        report.error(
            "telemetry.otlp.endpoint",
            format!("invalid endpoint URL {}: {reason}", quoted(&otlp.endpoint)),
        );
    }
    if !(0.0..=1.0).contains(&otlp.sample_ratio) {
        report.error(
            "telemetry.otlp.sample_ratio",
            format!("must be between 0.0 and 1.0, got {}", otlp.sample_ratio),
        );
    }
    if otlp.service_name.trim().is_empty() {
        report.error("telemetry.otlp.service_name", "must not be empty");
    }
    if let Some(env) = &otlp.headers_env
        && !is_env_name(env)
    {
        report.error(
            "telemetry.otlp.headers_env",
            format!(
                "invalid environment variable name {}: use A-Z, 0-9 and `_`",
                quoted(env)
            ),
        );
    }
}

/// An endpoint is an absolute http(s) URL without user info or query: the
/// exporter appends `/v1/traces` to it.
fn check_endpoint(url: &str) -> Result<(), String> {
    check_webhook_url(url).map_err(|e| e.replace("token_env", "headers_env"))?;
    if url.contains('?') {
        return Err("a query is not allowed; spans go to <endpoint>/v1/traces".to_owned());
    }
    Ok(())
}
