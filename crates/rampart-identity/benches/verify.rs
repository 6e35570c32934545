#![allow(clippy::unwrap_used, missing_docs)]
//! Micro-benchmark of credential verification: what identity adds to a
//! request. Plain `Instant` loops; run with
//! `cargo bench -p rampart-identity --bench verify`.
//!
//! "Uncached" uses an authenticator with `token_cache_entries: 0`, so every
//! iteration parses the token, verifies the signature and checks the claims.
//! "Cached" is the steady state for a client reusing its token: a SHA-256 of
//! the token, a cache lookup, the expiry and revocation re-checks, and a
//! clone of the principal.

use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rampart_config::{IdentityConfig, IssuerConfig, StaticKey};
use rampart_identity::{Authenticator, generate_api_key, hash_api_key};
use serde_json::json;

const ISS: &str = "https://idp.bench";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn key(kid: &str, alg: &str, secret_file: Option<&str>, pem: Option<&str>) -> StaticKey {
    StaticKey {
        kid: Some(kid.into()),
        alg: alg.into(),
        secret_env: None,
        secret_file: secret_file.map(data),
        public_key_file: pem.map(data),
    }
}

fn config(cache_entries: u64, api_keys_file: Option<PathBuf>) -> IdentityConfig {
    IdentityConfig {
        issuers: vec![IssuerConfig {
            issuer: ISS.into(),
            audiences: vec!["api".into()],
            algorithms: vec!["HS256".into(), "RS256".into(), "ES256".into()],
            jwks_url: None,
            discovery: false,
            keys: vec![
                key("hs", "HS256", Some("hmac.secret"), None),
                key("rs", "RS256", None, Some("rsa.pub.pem")),
                key("es", "ES256", None, Some("ec256.pub.pem")),
            ],
            leeway_seconds: 30,
            jwks_min_refresh_seconds: 30,
            claims: Default::default(),
        }],
        api_keys_file,
        token_cache_entries: cache_entries,
        ..IdentityConfig::default()
    }
}

/// A realistic access token: a dozen claims, about 600 to 800 bytes signed.
fn token(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({
        "iss": ISS, "aud": "api", "sub": "rider-1234567", "exp": now + 3600,
        "iat": now, "nbf": now, "jti": "5f0c6b8e-2d1a-4c7e-9f3b-1a2b3c4d5e6f",
        "role": "member", "scope": "profile:read profile:write rides:read",
        "tenant": "peloton", "email": "rider@example.com",
    });
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn report(name: &str, iterations: u32, run: impl FnOnce(u32)) {
    let started = Instant::now();
    run(iterations);
    let ns = started.elapsed().as_nanos() / u128::from(iterations);
    println!("{name:<32} {ns:>9} ns/op   ({iterations} iterations)");
}

fn bench_async<F: Future<Output = ()>>(
    rt: &tokio::runtime::Runtime,
    name: &str,
    iterations: u32,
    run: impl Fn(u32) -> F,
) {
    // Warm up: caches, branch predictors, lazily built state.
    rt.block_on(run(iterations / 10 + 1));
    report(name, iterations, |n| rt.block_on(run(n)));
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resolve = |p: &Path| p.to_path_buf();

    let hs = token(
        Algorithm::HS256,
        "hs",
        &EncodingKey::from_secret(std::fs::read(data("hmac.secret")).unwrap().trim_ascii_end()),
    );
    let rs = token(
        Algorithm::RS256,
        "rs",
        &EncodingKey::from_rsa_pem(&std::fs::read(data("rsa.key.pem")).unwrap()).unwrap(),
    );
    let es = token(
        Algorithm::ES256,
        "es",
        &EncodingKey::from_ec_pem(&std::fs::read(data("ec256.key.pem")).unwrap()).unwrap(),
    );

    // 100 API keys; the one presented sits in the middle (the lookup scans
    // all of them regardless).
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("api-keys.yaml");
    let keys: Vec<String> = (0..100).map(|_| generate_api_key()).collect();
    let mut yaml = String::from("keys:\n");
    for (i, k) in keys.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{id: k{i}, hash: \"{}\", subject: svc-{i}, role: service, scopes: [read]}}\n",
            hash_api_key(k)
        ));
    }
    std::fs::write(&keys_file, yaml).unwrap();

    let uncached = Authenticator::new(&config(0, Some(keys_file)), resolve).unwrap();
    let cached = Authenticator::new(&config(10_000, None), resolve).unwrap();
    // Sanity: every token verifies.
    for t in [&hs, &rs, &es] {
        rt.block_on(uncached.verify_bearer(t)).unwrap();
    }
    println!(
        "token sizes: HS256 {} B, RS256 {} B, ES256 {} B",
        hs.len(),
        rs.len(),
        es.len()
    );

    let verify_n = |auth: &'static Authenticator, t: &'static str| {
        move |n: u32| async move {
            for _ in 0..n {
                black_box(auth.verify_bearer(black_box(t)).await.unwrap());
            }
        }
    };
    let uncached: &'static Authenticator = Box::leak(Box::new(uncached));
    let cached: &'static Authenticator = Box::leak(Box::new(cached));
    let (hs, rs, es): (&'static str, &'static str, &'static str) = (
        Box::leak(hs.into_boxed_str()),
        Box::leak(rs.into_boxed_str()),
        Box::leak(es.into_boxed_str()),
    );

    bench_async(
        &rt,
        "HS256 verify, uncached",
        200_000,
        verify_n(uncached, hs),
    );
    bench_async(
        &rt,
        "RS256 verify, uncached",
        20_000,
        verify_n(uncached, rs),
    );
    bench_async(
        &rt,
        "ES256 verify, uncached",
        20_000,
        verify_n(uncached, es),
    );
    bench_async(
        &rt,
        "verify, cache hit (RS256 token)",
        500_000,
        verify_n(cached, rs),
    );

    let presented = keys[50].clone();
    uncached.verify_api_key(&presented).unwrap();
    report("API key lookup (100 keys)", 200_000, |n| {
        for _ in 0..n {
            black_box(uncached.verify_api_key(black_box(&presented)).unwrap());
        }
    });
}
