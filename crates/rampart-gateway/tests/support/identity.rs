//! Identity material for the end-to-end tests: signing keys generated at
//! test time (no private key is ever committed), tokens minted with
//! jsonwebtoken, hand-made attack tokens, an API key file, and the
//! `identity` config section that trusts them.
//!
//! The files live in a directory the test owns ([`IdentityFiles`]); the
//! config names them by absolute path, so they can sit next to, not inside,
//! the harness's own temporary directory (and a test can edit them while the
//! gateway runs).

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The trusted issuer of [`IdentityFiles::config`].
pub const ISSUER: &str = "https://idp.test";
/// The audience it issues for.
pub const AUDIENCE: &str = "rampart-tests";
/// The `kid` of its RSA key.
pub const RSA_KID: &str = "rsa-1";
/// The `kid` of its HMAC secret.
pub const HS_KID: &str = "hs-1";

/// An RSA key pair (PKCS#8 private key, SPKI public key, both PEM).
pub struct RsaKey {
    /// The private key, for signing.
    pub private_pem: String,
    /// The public key, for the gateway.
    pub public_pem: String,
}

impl RsaKey {
    /// A fresh 2048-bit key (slow in debug builds: prefer [`rsa_key`]).
    pub fn generate() -> RsaKey {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        RsaKey {
            private_pem: kp.serialize_pem(),
            public_pem: kp.public_key_pem(),
        }
    }

    /// The signing key.
    pub fn encoding(&self) -> EncodingKey {
        EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).unwrap()
    }

    /// The public JWK, named `kid`, as a JWKS publishes it.
    pub fn jwk(&self, kid: &str) -> Value {
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&self.encoding(), Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_string());
        serde_json::to_value(jwk).unwrap()
    }
}

/// The issuer's RSA key, generated once per test binary.
pub fn rsa_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(RsaKey::generate)
}

/// A second RSA key: the attacker's, or the next one after a rotation.
pub fn other_rsa_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(RsaKey::generate)
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Valid claims for `sub` from [`ISSUER`], with a `jti` unique in this
/// process (so no two tokens share a cache entry by accident).
pub fn claims(sub: &str) -> Value {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now(),
        "exp": now() + 600,
        "jti": format!("jti-{n}-{}", uuid::Uuid::new_v4()),
    })
}

/// [`claims`] with `extra` merged in (`role`, `scope`, or overrides).
pub fn claims_with(sub: &str, extra: Value) -> Value {
    let mut c = claims(sub);
    if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
        c.extend(extra);
    }
    c
}

/// Sign `claims` under `header`.
pub fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// A header for `alg` naming `kid`.
pub fn header(alg: Algorithm, kid: &str) -> Header {
    let mut h = Header::new(alg);
    h.kid = Some(kid.to_string());
    h
}

/// Base64url without padding, as JWS segments are written.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token assembled by hand from a header, claims and signature bytes,
/// for attacks no honest library would produce.
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

/// Replace the payload of a signed token with `claims`, keeping its header
/// and signature.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (h, _, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    format!("{h}.{}.{s}", b64(claims.to_string().as_bytes()))
}

/// The decoded payload of a token.
pub fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// One API key of the key file: the key itself goes to the client, its
/// hash into the file.
pub struct ApiKey {
    /// The id the log names it by.
    pub id: &'static str,
    /// The key, as a client sends it.
    pub key: String,
    /// The principal's id.
    pub subject: &'static str,
    /// Its role, if any.
    pub role: Option<&'static str>,
    /// Its scopes.
    pub scopes: Vec<&'static str>,
}

impl ApiKey {
    /// A freshly generated key.
    pub fn new(
        id: &'static str,
        subject: &'static str,
        role: Option<&'static str>,
        scopes: &[&'static str],
    ) -> ApiKey {
        ApiKey {
            id,
            key: rampart_identity::generate_api_key(),
            subject,
            role,
            scopes: scopes.to_vec(),
        }
    }
}

/// Key files in a directory the test owns, and the config that trusts them:
/// one issuer ([`ISSUER`]) with an RS256 public key ([`RSA_KID`], from
/// [`rsa_key`]) and an HS256 secret ([`HS_KID`], generated here).
pub struct IdentityFiles {
    dir: tempfile::TempDir,
    /// The HS256 secret.
    pub secret: String,
}

impl Default for IdentityFiles {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityFiles {
    /// Write the public key and a new HMAC secret.
    pub fn new() -> IdentityFiles {
        let dir = tempfile::tempdir().unwrap();
        // 43 characters of base64url from 32 random bytes: a strong HS256 secret.
        let secret = rampart_identity::generate_api_key();
        std::fs::write(dir.path().join("rsa.pub.pem"), &rsa_key().public_pem).unwrap();
        std::fs::write(dir.path().join("hs256.secret"), &secret).unwrap();
        IdentityFiles { dir, secret }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write `contents` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// The trusted issuer's config entry.
    pub fn issuer(&self) -> Value {
        json!({
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["RS256", "HS256"],
            "keys": [
                {"kid": RSA_KID, "alg": "RS256", "public_key_file": self.path("rsa.pub.pem")},
                {"kid": HS_KID, "alg": "HS256", "secret_file": self.path("hs256.secret")},
            ],
        })
    }

    /// The config's `identity` section (to merge with `GatewayBuilder::config`).
    pub fn config(&self) -> Value {
        json!({"identity": {"issuers": [self.issuer()]}})
    }

    /// Write the API key file for `keys`; returns its path.
    pub fn api_keys(&self, keys: &[&ApiKey]) -> PathBuf {
        let entries: Vec<Value> = keys
            .iter()
            .map(|k| {
                let mut e = json!({
                    "id": k.id,
                    "hash": rampart_identity::hash_api_key(&k.key),
                    "subject": k.subject,
                    "scopes": k.scopes,
                });
                if let Some(role) = k.role {
                    e["role"] = json!(role);
                }
                e
            })
            .collect();
        self.write(
            "api-keys.yaml",
            &serde_json::to_string_pretty(&json!({ "keys": entries })).unwrap(),
        )
    }

    /// An HS256 token signed with the issuer's secret.
    pub fn hs256(&self, claims: &Value) -> String {
        sign(
            &header(Algorithm::HS256, HS_KID),
            claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )
    }

    /// An RS256 token signed with the issuer's RSA key.
    pub fn rs256(&self, claims: &Value) -> String {
        sign(
            &header(Algorithm::RS256, RSA_KID),
            claims,
            &rsa_key().encoding(),
        )
    }

    /// An HS256 token for `sub` with role `role` (authorization tests).
    pub fn token_for(&self, sub: &str, role: &str) -> String {
        self.hs256(&claims_with(sub, json!({ "role": role })))
    }
}

/// `Authorization: Bearer <token>` on a request.
pub fn bearer(request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    request.header("authorization", format!("Bearer {token}"))
}
