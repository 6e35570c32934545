//! The configuration's typed structs.
//!
//! These structs are the single source of truth for three things: what the
//! loader accepts (serde, with `deny_unknown_fields` so a typo is an error and
//! never a silently ignored setting), the published JSON Schema (schemars), and
//! the configuration reference (the doc comments below become the schema's
//! descriptions). Every section except `apis` has a default, and every default
//! is the safe choice: enforce the contract, reject what it does not declare.
//!
//! Constraints that a JSON Schema can express (ranges, patterns, minimum
//! lengths) are declared here with `#[schemars(...)]` so editors can flag them
//! early; `validate.rs` enforces the same constraints, and more, with file:line
//! errors.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TelemetryConfig;

pub use crate::admin::*;
pub use crate::disclosure::*;
pub use crate::identity::*;
pub use crate::limits_config::*;
pub use crate::monitoring::*;

/// Smallest accepted `limits.max_header_list_bytes`: hyper refuses a read buffer
/// smaller than 8 KiB.
pub(crate) const MIN_HEADER_LIST_BYTES: usize = 8192;
/// Largest accepted `limits.max_json_depth`: deeper documents are a stack
/// exhaustion risk for any recursive validator.
pub(crate) const MAX_JSON_DEPTH: u32 = 1024;
/// Pattern an API name must match.
pub(crate) const API_NAME_PATTERN: &str = "^[a-z0-9_-]{1,64}$";

/// Rampart's configuration file: one public listener in front of one or more
/// APIs, each described by an OpenAPI document whose contract is enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Rampart configuration")]
pub struct Config {
    /// Address and port of the public listener, e.g. `127.0.0.1:8080` or `[::]:443`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// TLS for the public listener. When set, the listener speaks HTTPS and
    /// negotiates HTTP/2 or HTTP/1.1 via ALPN; when absent, it speaks plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Global enforcement mode; each API and operation may override it.
    #[serde(default)]
    pub mode: Mode,
    /// The APIs behind the gateway. At least one is required.
    #[schemars(length(min = 1))]
    pub apis: Vec<ApiConfig>,
    /// Size, count and time limits that bound every exchange.
    #[serde(default)]
    pub limits: Limits,
    /// How strictly requests are held to the contract beyond what it declares.
    #[serde(default)]
    pub contract: ContractOptions,
    /// Security event log and operational log.
    #[serde(default)]
    pub log: LogConfig,
    /// How callers are identified: JWT issuers, API keys, revoked tokens.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Cedar policies deciding what identified callers may do.
    #[serde(default)]
    pub authorization: AuthorizationConfig,
    /// The admin listener (metrics, status, operations API). Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminConfig>,
    /// The durable audit store: one event per exchange, queryable.
    #[serde(default)]
    pub store: StoreConfig,
    /// Behavioural detection of scraping, enumeration, BOLA probing,
    /// credential stuffing and exfiltration.
    #[serde(default)]
    pub detection: DetectionConfig,
    /// Rate limits (GCRA), checked after authentication. Operations may add
    /// their own through the spec's `x-rampart-rate-limit` extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimitRule>,
    /// Where the client's address comes from: the TCP peer, or a header
    /// written by trusted proxies.
    #[serde(default)]
    pub client_ip: ClientIpConfig,
    /// Redis shared by every gateway instance, so limits hold cluster-wide.
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// Vulnerability disclosure: `security.txt`, the report intake and
    /// the tracker's SLA.
    #[serde(default)]
    pub disclosure: DisclosureConfig,
    /// OpenTelemetry trace export. Absent: no spans are exported (a client's
    /// `traceparent` is still forwarded to the upstream). Read at start-up;
    /// a reload does not change it.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))
}

/// Certificate and private key for the public listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file holding the certificate chain, leaf first. Relative paths are
    /// resolved against the configuration file's directory.
    pub cert: PathBuf,
    /// PEM file holding the private key. Relative paths are resolved against
    /// the configuration file's directory.
    pub key: PathBuf,
}

/// What the gateway does when a request or response breaks the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Block the violation and answer with a problem response.
    #[default]
    Enforce,
    /// Let the exchange through but record the violation in the security log.
    Monitor,
    /// Do not check the contract at all (the exchange is still proxied and limited).
    Off,
}

impl Mode {
    /// The mode's name as written in the configuration file.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
            Mode::Off => "off",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string is not one of `enforce`, `monitor` or `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode `{0}`, expected one of enforce, monitor, off")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;

    /// Parses exactly the spellings the configuration file accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforce" => Ok(Mode::Enforce),
            "monitor" => Ok(Mode::Monitor),
            "off" => Ok(Mode::Off),
            other => Err(ParseModeError(other.to_owned())),
        }
    }
}

/// One API behind the gateway: its contract and where to forward its traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Unique name of the API, used in logs and metrics: 1 to 64 characters
    /// from `a-z`, `0-9`, `_` and `-`.
    #[schemars(regex(pattern = API_NAME_PATTERN))]
    pub name: String,
    /// The API's OpenAPI 3.0 or 3.1 document, YAML or JSON. Relative paths are
    /// resolved against the configuration file's directory.
    pub spec: PathBuf,
    /// Base URL of the upstream service: `http` or `https`, with a host, an
    /// optional port and an optional path prefix, and without user info, query
    /// or fragment. Example: `http://127.0.0.1:3000/internal`.
    pub upstream: String,
    /// Path prefix under which the API is served, e.g. `/api`. Overrides the
    /// path of the spec's `servers[].url`. Must start with `/` and must not end
    /// with `/` (except `/` itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
    /// Enforcement mode for this API; overrides the global `mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Per-operation overrides, keyed by the spec's `operationId`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, OperationConfig>,
    /// Most requests in flight to this API's upstream at once (overrides
    /// `limits.upstream_max_concurrent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_requests: Option<usize>,
}

/// Overrides for a single operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    /// Enforcement mode for this operation; overrides the API's and the global mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// For writes to objects whose owner is not in the request: the
    /// operationId of a GET whose response names the owner (through
    /// `x-rampart-owner`). Rampart calls it first, with the same path
    /// parameters and credentials, and authorizes the write against its
    /// answer before the write reaches the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<String>,
}

/// Size, count and time limits. Every limit must be greater than zero: there is
/// no "unlimited", because an unbounded read is a denial of service waiting to happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    #[schemars(range(min = 1))]
    pub max_request_body_bytes: u64,
    /// Largest upstream response body accepted, in bytes.
    #[schemars(range(min = 1))]
    pub max_response_body_bytes: u64,
    /// Largest total size of a request's header section, in bytes (at least 8192).
    #[schemars(range(min = MIN_HEADER_LIST_BYTES))]
    pub max_header_list_bytes: usize,
    /// Largest number of request header fields.
    #[schemars(range(min = 1))]
    pub max_headers: usize,
    /// Time allowed for a client to send the complete request header section, in milliseconds.
    #[schemars(range(min = 1))]
    pub header_read_timeout_ms: u64,
    /// Time allowed for a client to send the complete request body, in milliseconds.
    #[schemars(range(min = 1))]
    pub request_body_timeout_ms: u64,
    /// Time allowed to open a connection to the upstream, in milliseconds.
    #[schemars(range(min = 1))]
    pub upstream_connect_timeout_ms: u64,
    /// Time allowed for the upstream to respond, in milliseconds.
    #[schemars(range(min = 1))]
    pub upstream_timeout_ms: u64,
    /// Deepest nesting of arrays and objects accepted in a JSON body (1 to 1024).
    #[schemars(range(min = 1, max = MAX_JSON_DEPTH))]
    pub max_json_depth: u32,
    /// Most elements in one JSON array, and most members in one JSON
    /// object, of a request or response body. A tighter `maxItems` in the
    /// contract still applies.
    #[schemars(range(min = 1))]
    pub max_json_array_items: usize,
    /// Longest JSON string (keys included), in bytes, in a request or
    /// response body. A tighter `maxLength` in the contract still applies.
    #[schemars(range(min = 1))]
    pub max_json_string_bytes: usize,
    /// Most requests in flight to one API's upstream at once (per gateway
    /// process); `apis[].max_concurrent_requests` overrides it per API.
    #[schemars(range(min = 1))]
    pub upstream_max_concurrent: usize,
    /// Requests that may wait for one of those slots; past this they are
    /// refused at once with 503 and `Retry-After`.
    #[schemars(range(min = 1))]
    pub upstream_max_queued: usize,
    /// Longest a request waits in that queue, in milliseconds, before 503.
    #[schemars(range(min = 1))]
    pub upstream_queue_timeout_ms: u64,
    /// Largest number of simultaneous client connections.
    #[schemars(range(min = 1))]
    pub max_connections: usize,
    /// Most keys (callers, addresses...) each rate limit tracks in process.
    /// Keys idle long enough to have recovered their whole burst are dropped
    /// first, which forgets nothing; past the bound, frequently seen keys are
    /// kept over one-off ones. About 350 bytes per key.
    #[schemars(range(min = 1))]
    pub max_rate_limit_keys: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_body_bytes: 1024 * 1024,
            max_response_body_bytes: 8 * 1024 * 1024,
            max_header_list_bytes: 16 * 1024,
            max_headers: 64,
            header_read_timeout_ms: 10_000,
            request_body_timeout_ms: 30_000,
            upstream_connect_timeout_ms: 5_000,
            upstream_timeout_ms: 30_000,
            max_json_depth: 64,
            max_json_array_items: 10_000,
            max_json_string_bytes: 256 * 1024,
            upstream_max_concurrent: 512,
            upstream_max_queued: 1024,
            upstream_queue_timeout_ms: 2_000,
            max_connections: 10_000,
            max_rate_limit_keys: 100_000,
        }
    }
}

/// How the gateway treats what a request carries but the contract does not declare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContractOptions {
    /// Request headers the operation does not declare.
    pub undeclared_headers: Undeclared,
    /// Extra header names always allowed, whatever the operation declares.
    /// Compared case-insensitively.
    #[schemars(inner(regex(pattern = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")))]
    pub allowed_headers: Vec<String>,
    /// Cookies the operation does not declare.
    pub undeclared_cookies: Undeclared,
    /// Request body properties the schema does not declare (where the schema
    /// leaves `additionalProperties` open). Response bodies are always stripped
    /// of undeclared properties.
    pub undeclared_body_properties: Undeclared,
}

/// Whether something the contract does not declare is rejected or let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Undeclared {
    /// Refuse the request (or, in monitor mode, record the violation).
    #[default]
    Reject,
    /// Let it through.
    Allow,
}

/// Where the logs go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Destination of the security event log (JSON lines, one per exchange):
    /// `stdout`, `stderr`, or a file path (resolved against the configuration
    /// file's directory; write `./stdout` for a file named `stdout`).
    pub security: SecurityLogTarget,
    /// Filter for the operational log, in tracing's `EnvFilter` syntax,
    /// e.g. `info` or `info,rampart_gateway=debug`.
    pub level: String,
    /// Format of the operational log, which goes to stderr.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            security: SecurityLogTarget::Stdout,
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Format of the operational log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Destination of the security event log. Written in the file as a plain
/// string: `stdout`, `stderr`, or anything else as a file path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum SecurityLogTarget {
    /// The process's standard output.
    #[default]
    Stdout,
    /// The process's standard error.
    Stderr,
    /// A file, appended to (relative to the configuration file's directory).
    File(PathBuf),
}

impl Serialize for SecurityLogTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SecurityLogTarget::Stdout => serializer.serialize_str("stdout"),
            SecurityLogTarget::Stderr => serializer.serialize_str("stderr"),
            SecurityLogTarget::File(path) => path.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for SecurityLogTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "stdout" => Ok(SecurityLogTarget::Stdout),
            "stderr" => Ok(SecurityLogTarget::Stderr),
            "" => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(""),
                &"`stdout`, `stderr` or a file path",
            )),
            _ => Ok(SecurityLogTarget::File(PathBuf::from(text))),
        }
    }
}

impl JsonSchema for SecurityLogTarget {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecurityLogTarget".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`stdout`, `stderr`, or the path of a file to append to.",
            "type": "string",
            "minLength": 1,
            "examples": ["stdout", "stderr", "./logs/security.jsonl"]
        })
    }
}
