//! The admin listener: metrics, status and (as they land) the operations API
//! and dashboard. It never shares the public listener, binds loopback by
//! default, and refuses every request without the admin token.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of the admin listener. Absent: no admin listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address and port; loopback by default. It must differ from `listen`.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// Environment variable holding the admin bearer token (at least 32
    /// characters). One of `token_env` and `token_file` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// File holding the admin bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Mark the dashboard's session cookie `Secure` (and `__Host-`
    /// prefixed). Set it when operators reach the admin listener through a
    /// TLS-terminating proxy; browsers then never send the cookie over
    /// plain HTTP.
    #[serde(default)]
    pub secure_cookie: bool,
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 9090))
}
