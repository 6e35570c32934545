//! Identity and authorization settings: who is calling (JWT issuers, API
//! keys, revoked tokens) and which Cedar policies decide what they may do.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How callers are identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Trusted JWT issuers. A bearer token is accepted only if its `iss` is
    /// listed here and it verifies against that issuer's keys and rules.
    pub issuers: Vec<IssuerConfig>,
    /// YAML file of API keys (stored as SHA-256 hashes, never in clear):
    /// `keys: [{id, hash: "sha256:<hex>", subject, role, scopes}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_keys_file: Option<PathBuf>,
    /// File of revoked token ids (`jti`), one per line; `#` starts a comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_jtis_file: Option<PathBuf>,
    /// Largest bearer token accepted, in bytes.
    #[schemars(range(min = 256))]
    pub max_token_bytes: usize,
    /// How many verified tokens to remember (each until its `exp`), so a
    /// token's signature is checked once rather than on every request.
    /// 0 turns the cache off.
    pub token_cache_entries: u64,
    /// Operations whose spec declares no `security` requirement at all:
    /// `deny` (the default: nothing is public unless the spec says
    /// `security: []`) or `allow`.
    pub unsecured_operations: Unsecured,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            issuers: Vec::new(),
            api_keys_file: None,
            revoked_jtis_file: None,
            max_token_bytes: 8192,
            token_cache_entries: 10_000,
            unsecured_operations: Unsecured::Deny,
        }
    }
}

/// What to do with operations that declare no security requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Unsecured {
    /// Refuse them (403).
    #[default]
    Deny,
    /// Treat them as public.
    Allow,
}

/// One trusted JWT issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` claim value.
    pub issuer: String,
    /// Accepted audiences; a token's `aud` must contain at least one.
    #[schemars(length(min = 1))]
    pub audiences: Vec<String>,
    /// Allowed signing algorithms for this issuer (e.g. `RS256`, `ES256`,
    /// `EdDSA`, `HS256`). `none` is never accepted, and a key is only used
    /// with algorithms of its own type, so RS/HS confusion is impossible.
    #[schemars(length(min = 1))]
    pub algorithms: Vec<String>,
    /// A JWKS URL to fetch keys from. Cached; refetched when a token names an
    /// unknown `kid` (at most once per `jwks_min_refresh_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// Discover the JWKS URL from `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: bool,
    /// Static keys.
    #[serde(default)]
    pub keys: Vec<StaticKey>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Shortest interval between two JWKS fetches, in seconds.
    #[serde(default = "default_refresh")]
    pub jwks_min_refresh_seconds: u64,
    /// Which claims carry the subject, the roles and the scopes.
    #[serde(default)]
    pub claims: ClaimNames,
}

fn default_leeway() -> u64 {
    30
}

fn default_refresh() -> u64 {
    30
}

/// Names of the claims Rampart reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimNames {
    /// The subject (the principal's id).
    pub subject: String,
    /// The role or roles (a string or an array of strings).
    pub roles: String,
    /// The scopes (a space-separated string or an array of strings).
    pub scopes: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            subject: "sub".into(),
            roles: "role".into(),
            scopes: "scope".into(),
        }
    }
}

/// A key configured in the file (or its environment) rather than fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticKey {
    /// The `kid` tokens name; a token without `kid` may use the issuer's only key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm this key is used with.
    pub alg: String,
    /// For HMAC algorithms: the environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// For HMAC algorithms: a file holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// For RSA, EC and EdDSA algorithms: a PEM file with the public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_file: Option<PathBuf>,
}

/// Cedar authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorizationConfig {
    /// A `.cedar` file, or a directory whose `.cedar` files are all loaded.
    /// When absent, no Cedar policy runs: callers are authenticated against
    /// the spec's `security` requirements (with scopes) and nothing more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<PathBuf>,
    /// Roles whose members see full views of every object (e.g. `admin`),
    /// used in the Cedar context as `context.privileged`.
    pub privileged_roles: Vec<String>,
}
