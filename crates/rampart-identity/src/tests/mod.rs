//! Unit tests of the authenticator with static keys. The network (JWKS,
//! discovery) is tested end to end in `tests/jwks.rs`.

mod attacks;
mod config;
mod happy;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rampart_config::{IdentityConfig, IssuerConfig, StaticKey};
use serde_json::{Value, json};

use crate::{AuthError, Authenticator, Principal};

pub(crate) const ISS: &str = "https://idp.test";
pub(crate) const AUD: &str = "rampart-api";

/// Test keys and secrets live in `tests/data` (see its README).
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub(crate) fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The HMAC secret of `tests/data/hmac.secret`, without its newline.
pub(crate) fn hmac_secret() -> Vec<u8> {
    let mut s = read("hmac.secret");
    s.pop();
    s
}

/// A static key from a PEM public key in `tests/data`.
pub(crate) fn pem_key(kid: Option<&str>, alg: &str, file: &str) -> StaticKey {
    StaticKey {
        kid: kid.map(str::to_owned),
        alg: alg.into(),
        secret_env: None,
        secret_file: None,
        public_key_file: Some(file.into()),
    }
}

/// A static HMAC key from `tests/data/hmac.secret`.
pub(crate) fn hmac_key(kid: Option<&str>, alg: &str) -> StaticKey {
    StaticKey {
        kid: kid.map(str::to_owned),
        alg: alg.into(),
        secret_env: None,
        secret_file: Some("hmac.secret".into()),
        public_key_file: None,
    }
}

pub(crate) fn issuer(name: &str, algorithms: &[&str], keys: Vec<StaticKey>) -> IssuerConfig {
    IssuerConfig {
        issuer: name.into(),
        audiences: vec![AUD.into(), "other-api".into()],
        algorithms: algorithms.iter().map(|a| (*a).to_owned()).collect(),
        jwks_url: None,
        discovery: false,
        keys,
        leeway_seconds: 30,
        jwks_min_refresh_seconds: 30,
        claims: Default::default(),
    }
}

pub(crate) fn config(issuers: Vec<IssuerConfig>) -> IdentityConfig {
    IdentityConfig {
        issuers,
        ..IdentityConfig::default()
    }
}

/// Build an authenticator whose relative paths resolve into `tests/data`.
pub(crate) fn build(cfg: &IdentityConfig) -> Authenticator {
    Authenticator::new(cfg, |p| data("").join(p)).unwrap()
}

/// The usual test issuer: one key of each type, each named by a `kid`.
pub(crate) fn everything() -> Authenticator {
    build(&config(vec![issuer(
        ISS,
        &["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"],
        vec![
            hmac_key(Some("hmac"), "HS256"),
            pem_key(Some("rsa"), "RS256", "rsa.pub.pem"),
            pem_key(Some("rsa-pss"), "PS256", "rsa.pub.pem"),
            pem_key(Some("ec256"), "ES256", "ec256.pub.pem"),
            pem_key(Some("ec384"), "ES384", "ec384.pub.pem"),
            pem_key(Some("ed"), "EdDSA", "ed25519.pub.pem"),
        ],
    )]))
}

/// Valid claims for [`ISS`] and [`AUD`].
pub(crate) fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "rider-42",
        "exp": now + 600,
        "iat": now,
        "nbf": now - 5,
        "jti": "token-1",
        "role": "member",
        "scope": "profile:read rides:read",
        "tenant": "peloton",
    })
}

/// Claims with `changes` merged in (`null` removes a claim).
pub(crate) fn claims_with(changes: Value) -> Value {
    let mut c = claims();
    if let (Some(c), Value::Object(changes)) = (c.as_object_mut(), changes) {
        for (k, v) in changes {
            if v.is_null() {
                c.remove(&k);
            } else {
                c.insert(k, v);
            }
        }
    }
    c
}

/// The private key that signs for `alg`, from `tests/data`.
pub(crate) fn signing_key(alg: Algorithm, private_pem: &str) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(&hmac_secret())
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            EncodingKey::from_ec_pem(&read(private_pem)).unwrap()
        }
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&read(private_pem)).unwrap(),
        _ => EncodingKey::from_rsa_pem(&read(private_pem)).unwrap(),
    }
}

/// Sign `claims` with `alg`, naming `kid`.
pub(crate) fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A token signed with our RSA key under kid `rsa`.
pub(crate) fn rs256(claims: &Value) -> String {
    sign(
        Algorithm::RS256,
        Some("rsa"),
        &signing_key(Algorithm::RS256, "rsa.key.pem"),
        claims,
    )
}

/// A token assembled by hand: any header, any payload, any signature.
pub(crate) fn raw(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// HMAC-sign `header.payload` by hand with `secret` (for confusion attacks,
/// where the "secret" is something that must never be one).
pub(crate) fn hmac_signed(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

pub(crate) async fn verify(auth: &Authenticator, token: &str) -> Result<Principal, AuthError> {
    auth.verify_bearer(token).await
}

/// A clock the test moves by hand.
pub(crate) fn manual_clock(auth: &mut Authenticator, start: u64) -> Arc<AtomicU64> {
    let time = Arc::new(AtomicU64::new(start));
    let reading = Arc::clone(&time);
    auth.set_clock(Arc::new(move || reading.load(Ordering::SeqCst)));
    time
}
