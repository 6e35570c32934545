//! A tiny identity provider on a loopback port (a JWKS and an OIDC
//! discovery document, with hit counters and failure modes), and token
//! helpers.

#![allow(dead_code)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rampart_config::{IdentityConfig, IssuerConfig};
use serde_json::{Value, json};

pub const AUD: &str = "rampart-api";

/// How the provider answers `/jwks.json`.
#[derive(Clone, Debug)]
pub enum Mode {
    /// The current key set.
    Serve,
    /// This status with an empty body.
    Status(u16),
    /// A 302 to this path on the same server.
    Redirect(&'static str),
    /// A 2 MiB JSON document.
    Huge,
    /// Not JSON.
    Garbage,
    /// Accept, read the request, never answer.
    Hang,
}

#[derive(Default)]
struct State {
    keys: Mutex<Vec<Value>>,
    mode: Mutex<Option<Mode>>,
    discovery_issuer: Mutex<Option<String>>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    other_hits: AtomicUsize,
    base: Mutex<String>,
}

/// A running identity provider.
pub struct Idp {
    pub base: String,
    state: Arc<State>,
}

impl Idp {
    pub async fn start() -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        *state.base.lock().unwrap() = base.clone();
        let serving = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Idp { base, state }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = Some(mode);
    }

    /// Make the discovery document claim another issuer.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        *self.state.discovery_issuer.lock().unwrap() = Some(issuer.to_owned());
    }

    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    pub fn other_hits(&self) -> usize {
        self.state.other_hits.load(Ordering::SeqCst)
    }

    pub fn all_hits(&self) -> usize {
        self.jwks_hits() + self.discovery_hits() + self.other_hits()
    }
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let json = |body: String| {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    match req.uri().path() {
        "/jwks.json" => {
            state.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let mode = state.mode.lock().unwrap().clone().unwrap_or(Mode::Serve);
            Ok(match mode {
                Mode::Serve => json(json!({"keys": *state.keys.lock().unwrap()}).to_string()),
                Mode::Status(code) => Response::builder()
                    .status(StatusCode::from_u16(code).unwrap())
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
                Mode::Redirect(to) => Response::builder()
                    .status(StatusCode::FOUND)
                    .header("location", to)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
                Mode::Huge => json(format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(2 << 20))),
                Mode::Garbage => json("<html>sign in</html>".to_owned()),
                Mode::Hang => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
            })
        }
        "/.well-known/openid-configuration" => {
            state.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let base = state.base.lock().unwrap().clone();
            let issuer = state
                .discovery_issuer
                .lock()
                .unwrap()
                .clone()
                .unwrap_or(base.clone());
            Ok(json(
                json!({"issuer": issuer, "jwks_uri": format!("{base}/jwks.json")}).to_string(),
            ))
        }
        _ => {
            state.other_hits.fetch_add(1, Ordering::SeqCst);
            Ok(json(json!({"keys": []}).to_string()))
        }
    }
}

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// The private key of a test key file, for signing.
pub fn private(alg: Algorithm, file: &str) -> EncodingKey {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&read(file)).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&read(file)).unwrap(),
        _ => EncodingKey::from_rsa_pem(&read(file)).unwrap(),
    }
}

/// The public JWK of a key, named `kid`.
pub fn jwk(alg: Algorithm, key: &EncodingKey, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A signed token for `iss`; `n` makes it unique (and so uncached).
pub fn token(iss: &str, alg: Algorithm, kid: &str, key: &EncodingKey, n: usize) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let claims = json!({
        "iss": iss, "aud": AUD, "sub": format!("user-{n}"),
        "exp": now() + 600, "iat": now(), "jti": format!("t-{n}"),
    });
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// An issuer fetching keys from `jwks_url`, with `algorithms` allowed.
pub fn remote_issuer(
    iss: &str,
    jwks_url: Option<String>,
    algorithms: &[&str],
    min_refresh: u64,
) -> IssuerConfig {
    IssuerConfig {
        issuer: iss.to_owned(),
        audiences: vec![AUD.to_owned()],
        algorithms: algorithms.iter().map(|a| (*a).to_owned()).collect(),
        discovery: jwks_url.is_none(),
        jwks_url,
        keys: Vec::new(),
        leeway_seconds: 30,
        jwks_min_refresh_seconds: min_refresh,
        claims: Default::default(),
    }
}

pub fn config(issuer: IssuerConfig) -> IdentityConfig {
    IdentityConfig {
        issuers: vec![issuer],
        ..IdentityConfig::default()
    }
}
