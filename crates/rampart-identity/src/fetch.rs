//! Fetching an issuer's keys: a JWKS, or an OIDC discovery document that
//! names one.
//!
//! What comes back is untrusted input from the network, so every fetch is
//! bounded: a 5 s deadline for the whole exchange, a 1 MiB body cap, and no
//! redirects (hyper's client never follows them, and a 3xx is an error here),
//! so a compromised or slow identity provider can neither stall the gateway
//! nor exhaust its memory, nor bounce it to an attacker's key set.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::IdentityError;
use crate::keys::{self, VerifyKey};

/// The deadline for one fetch (connect, request, whole body).
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS or discovery document accepted.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The client shared by all issuers of one authenticator.
pub(crate) type FetchClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Build the client. Trust for `https` comes from the system's certificate
/// store, with certificates always verified; `http` is allowed (for loopback
/// identity providers in tests and labs) and warned about at load time.
pub(crate) fn client() -> Result<FetchClient, IdentityError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(FETCH_TIMEOUT));
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| {
            IdentityError::Client(format!(
                "cannot load the system's trusted certificates: {e}"
            ))
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build(connector))
}

/// Why a fetch failed; logged (with the issuer and URL), never sent to
/// clients, who only see `KeyUnavailable`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no answer within {}s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered HTTP {0} (redirects are not followed)")]
    Status(u16),
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes, or was cut off")]
    Body,
    #[error("the answer is not a JSON object")]
    NotJson,
    #[error("{0}")]
    Invalid(String),
}

/// GET `url` and parse the answer as a JSON object, within the limits above.
pub(crate) async fn get_json(client: &FetchClient, url: &Uri) -> Result<Value, FetchError> {
    let request = Request::get(url.clone())
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, "rampart")
        .body(Empty::new())
        .map_err(|e| FetchError::Request(e.to_string()))?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| {
            // hyper-util's error says "client error (Connect)"; the cause
            // (refused, DNS, TLS) is one level down.
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            FetchError::Request(match cause {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            })
        })?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|_| FetchError::Body)?
            .to_bytes();
        Ok(body)
    };
    let body = tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| FetchError::Timeout)??;
    match serde_json::from_slice::<Value>(&body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(FetchError::NotJson),
    }
}

/// Read a JWKS into keys. Keys that cannot or must not be used are skipped
/// (and logged at debug), so one exotic key does not take down the set.
pub(crate) fn parse_jwks(issuer: &str, doc: &Value) -> Result<Vec<VerifyKey>, FetchError> {
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return Err(FetchError::Invalid(
            "not a JWKS (no `keys` array)".to_owned(),
        ));
    };
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        match keys::from_jwk(entry) {
            Ok(key) => out.push(key),
            Err(why) => tracing::debug!(issuer, key = i, "skipping a JWKS key: {why}"),
        }
    }
    Ok(out)
}

/// Read the `jwks_uri` of an OIDC discovery document. Its `issuer` must be
/// exactly the configured one (OpenID Connect Discovery 1.0, section 4.3),
/// so a document served for another tenant is never trusted. An `http`
/// `jwks_uri` is refused unless discovery itself was over `http`: TLS must
/// not be silently dropped between the two fetches.
pub(crate) fn parse_discovery(
    issuer: &str,
    discovery_url: &Uri,
    doc: &Value,
) -> Result<Uri, FetchError> {
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(FetchError::Invalid(
            "the discovery document's `issuer` is not the configured issuer".to_owned(),
        ));
    }
    let raw = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| FetchError::Invalid("the discovery document has no `jwks_uri`".into()))?;
    let uri = parse_url(raw).map_err(FetchError::Invalid)?;
    if uri.scheme_str() == Some("http") && discovery_url.scheme_str() != Some("http") {
        return Err(FetchError::Invalid(
            "the discovery document's `jwks_uri` is not https".to_owned(),
        ));
    }
    Ok(uri)
}

/// Parse an absolute `http` or `https` URL.
pub(crate) fn parse_url(raw: &str) -> Result<Uri, String> {
    let not_http = || format!("`{raw}` is not an http or https URL");
    let uri: Uri = raw.parse().map_err(|_| not_http())?;
    match uri.scheme_str() {
        Some("https" | "http") if uri.authority().is_some() => Ok(uri),
        _ => Err(not_http()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn discovery_must_name_the_configured_issuer() {
        let at: Uri = "https://idp.example/.well-known/openid-configuration"
            .parse()
            .unwrap();
        let doc = json!({"issuer": "https://evil.example", "jwks_uri": "https://idp.example/k"});
        assert!(parse_discovery("https://idp.example", &at, &doc).is_err());
        let doc = json!({"issuer": "https://idp.example", "jwks_uri": "https://idp.example/k"});
        let uri = parse_discovery("https://idp.example", &at, &doc).unwrap();
        assert_eq!(uri.path(), "/k");
    }

    #[test]
    fn discovery_over_https_cannot_downgrade_the_jwks_to_http() {
        let at: Uri = "https://idp.example/.well-known/openid-configuration"
            .parse()
            .unwrap();
        let doc = json!({"issuer": "https://idp.example", "jwks_uri": "http://idp.example/k"});
        assert!(parse_discovery("https://idp.example", &at, &doc).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert!(parse_url("https://idp.example/jwks").is_ok());
        assert!(parse_url("file:///etc/passwd").is_err());
        assert!(parse_url("/jwks").is_err());
    }
}
