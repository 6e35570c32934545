//! The inventory as data: what `rampart inventory --json` prints and what
//! the admin API will serve. Every collection is sorted, so two runs over
//! the same events print the same bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classify::DataClass;
use crate::template::ParamKind;

/// The inventory of every configured API over one window of traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// Start of the window (RFC 3339), when bounded.
    pub since: Option<String>,
    /// End of the window (RFC 3339).
    pub until: String,
    /// Events read.
    pub events: u64,
    /// Unrouted requests left out of the shadow clustering because too
    /// many distinct paths were seen (an enumeration run, say).
    pub unclustered: u64,
    /// One entry per configured API, in configuration order.
    pub apis: Vec<ApiInventory>,
}

/// One API: its declared operations as traffic used them, the endpoints
/// traffic reached that the contract does not declare, and the zombies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiInventory {
    /// The API's name in the configuration.
    pub name: String,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// Base path of every route.
    pub base_path: String,
    /// Declared operations, in document order.
    pub operations: Vec<OperationUse>,
    /// Traffic to routes the contract does not declare, clustered into
    /// templates; busiest first.
    pub shadow: Vec<ShadowEndpoint>,
    /// Endpoints that look dead or should be.
    pub zombies: Zombies,
}

/// How traffic used one declared operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationUse {
    /// operationId.
    pub operation: String,
    /// Method.
    pub method: String,
    /// Route template, base path included.
    pub route: String,
    /// `deprecated: true` in the contract.
    pub deprecated: bool,
    /// Exchanges in the window.
    pub calls: u64,
    /// First exchange (RFC 3339).
    pub first_seen: Option<String>,
    /// Latest exchange (RFC 3339).
    pub last_seen: Option<String>,
    /// The authentication callers actually used.
    pub auth: AuthSeen,
    /// Statuses sent to clients, by code.
    pub statuses: BTreeMap<u16, u64>,
    /// Share of exchanges answered 4xx or 5xx (0 without calls).
    pub error_rate: f64,
    /// Share of exchanges answered 5xx.
    pub server_error_rate: f64,
    /// Rampart's decisions (`allowed`, `blocked`, ...), by count.
    pub decisions: BTreeMap<String, u64>,
    /// Rules that fired, by count.
    pub rules: BTreeMap<String, u64>,
    /// Sensitive data seen in sampled responses.
    pub sensitive_fields: Vec<SensitiveField>,
}

/// The authentication seen on an endpoint's exchanges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthSeen {
    /// Exchanges without an authenticated caller: no credentials, refused
    /// ones, and every unrouted request (the gateway authenticates only
    /// routed ones, so a shadow endpoint's callers all count here).
    pub anonymous: u64,
    /// Exchanges per API key id.
    pub api_keys: BTreeMap<String, u64>,
    /// Exchanges per JWT issuer.
    pub jwt_issuers: BTreeMap<String, u64>,
    /// Authenticated exchanges recorded before events carried the issuer.
    pub unknown_scheme: u64,
    /// Distinct principals (counted up to 10,000).
    pub distinct_principals: u64,
}

/// Where a sensitive field is served and what guards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// The property (or one holding it) is `x-rampart-visibility: owner`:
    /// only the owner sees it.
    OwnerOnly,
    /// The object it sits in declares `x-rampart-owner` or
    /// `x-rampart-private`: object-level authorization decides who sees it.
    OwnedObject,
    /// The contract declares the field with no owner or visibility rule.
    None,
    /// The contract does not declare the field (enforce mode strips it
    /// from closed objects; monitor mode serves it).
    Undeclared,
    /// The endpoint itself is not declared: nothing guards it.
    ShadowEndpoint,
}

impl Protection {
    /// The name JSON uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::OwnerOnly => "owner_only",
            Protection::OwnedObject => "owned_object",
            Protection::None => "none",
            Protection::Undeclared => "undeclared",
            Protection::ShadowEndpoint => "shadow_endpoint",
        }
    }
}

/// One class of sensitive data at one field of an endpoint's responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensitiveField {
    /// JSON pointer template (`/*/email`).
    pub pointer: String,
    /// The class of data.
    pub class: DataClass,
    /// Sampled responses that carried it.
    pub count: u64,
    /// First sighting (RFC 3339).
    pub first_seen: String,
    /// Latest sighting (RFC 3339).
    pub last_seen: String,
    /// What the contract does about it.
    pub protection: Protection,
    /// Served without an owner or visibility rule.
    pub unprotected: bool,
}

/// Traffic to one undeclared endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowEndpoint {
    /// Method.
    pub method: String,
    /// Inferred template, base path included (`/api/v1/riders/{id}`).
    pub template: String,
    /// Path parameters, in order, with the kinds of values seen.
    pub params: Vec<ShadowParam>,
    /// Query parameter names seen.
    pub query_params: Vec<String>,
    /// Exchanges.
    pub calls: u64,
    /// First exchange (RFC 3339).
    pub first_seen: String,
    /// Latest exchange (RFC 3339).
    pub last_seen: String,
    /// Statuses sent to clients.
    pub statuses: BTreeMap<u16, u64>,
    /// Statuses the upstream answered (monitor and off modes pass unrouted
    /// requests on).
    pub upstream_statuses: BTreeMap<u16, u64>,
    /// Rampart's decisions, by count.
    pub decisions: BTreeMap<String, u64>,
    /// The authentication callers used.
    pub auth: AuthSeen,
    /// The path is declared, with other methods.
    pub undeclared_method: bool,
    /// The declared operation this looks like an older version of (the
    /// same path without its `v1`-like segment).
    pub version_of: Option<String>,
    /// A few requests, newest first.
    pub examples: Vec<ExampleRequest>,
    /// Sensitive data seen in its sampled responses.
    pub sensitive_fields: Vec<SensitiveField>,
}

/// A path parameter of a shadow endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowParam {
    /// Inferred name.
    pub name: String,
    /// Kinds of value seen.
    pub kinds: Vec<ParamKind>,
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExampleRequest {
    /// When (RFC 3339).
    pub ts: String,
    /// The request id.
    pub request_id: String,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Status sent to the client.
    pub status: u16,
}

/// Zombie candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Zombies {
    /// Declared operations never called in the window.
    pub never_called: Vec<String>,
    /// Deprecated operations still called.
    pub deprecated_in_use: Vec<String>,
    /// Shadow endpoints that look like an older version of a declared
    /// operation (`GET /api/v1/riders/{id}`).
    pub old_versions: Vec<String>,
}
