#![allow(clippy::unwrap_used)]
//! Keys fetched from a real (loopback) identity provider: JWKS, OIDC
//! discovery, rotation, the refetch rate limit, and every way the provider
//! can fail.

mod support;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use rampart_identity::{AuthError, Authenticator};
use serde_json::json;
use support::{Idp, Mode, config, jwk, private, remote_issuer, token};

const ISS: &str = "https://idp.test";

fn build(cfg: &rampart_config::IdentityConfig) -> Authenticator {
    Authenticator::new(cfg, |p| p.to_path_buf()).unwrap()
}

fn rsa() -> EncodingKey {
    private(Algorithm::RS256, "rsa.key.pem")
}

fn rsa_other() -> EncodingKey {
    private(Algorithm::RS256, "rsa_other.key.pem")
}

#[tokio::test]
async fn jwks_keys_of_every_type_verify_from_one_fetch() {
    let idp = Idp::start().await;
    let ec = private(Algorithm::ES256, "ec256.key.pem");
    let ed = private(Algorithm::EdDSA, "ed25519.key.pem");
    idp.set_keys(vec![
        jwk(Algorithm::RS256, &rsa(), "r"),
        jwk(Algorithm::ES256, &ec, "e"),
        jwk(Algorithm::EdDSA, &ed, "d"),
    ]);
    let auth = build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256", "ES256", "EdDSA"],
        30,
    )));
    assert_eq!(auth.prefetch().await, Vec::new());
    assert_eq!(idp.jwks_hits(), 1);
    for (i, (alg, kid, key)) in [
        (Algorithm::RS256, "r", &rsa()),
        (Algorithm::ES256, "e", &ec),
        (Algorithm::EdDSA, "d", &ed),
    ]
    .into_iter()
    .enumerate()
    {
        let p = auth
            .verify_bearer(&token(ISS, alg, kid, key, i))
            .await
            .unwrap();
        assert_eq!(p.id, format!("user-{i}"));
    }
    assert_eq!(idp.jwks_hits(), 1, "known kids never refetch");
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refetch_and_picks_up_the_rotated_key() {
    let idp = Idp::start().await;
    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "2026-10")]);
    // No minimum interval, so the rotation is not held back by the prefetch.
    let auth = build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256"],
        0,
    )));
    assert!(auth.prefetch().await.is_empty());
    assert!(
        auth.verify_bearer(&token(ISS, Algorithm::RS256, "2026-10", &rsa(), 1))
            .await
            .is_ok()
    );
    assert_eq!(idp.jwks_hits(), 1);

    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa_other(), "2026-11")]);
    let p = auth
        .verify_bearer(&token(ISS, Algorithm::RS256, "2026-11", &rsa_other(), 2))
        .await;
    assert_eq!(p.unwrap().id, "user-2");
    assert_eq!(idp.jwks_hits(), 2, "exactly one refetch");
    assert!(
        auth.verify_bearer(&token(ISS, Algorithm::RS256, "2026-11", &rsa_other(), 3))
            .await
            .is_ok()
    );
    assert_eq!(idp.jwks_hits(), 2);

    // The retired key is gone after that refetch.
    let old = token(ISS, Algorithm::RS256, "2026-10", &rsa(), 4);
    assert_eq!(auth.verify_bearer(&old).await, Err(AuthError::UnknownKey));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_interval() {
    let idp = Idp::start().await;
    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "real")]);
    let auth = Arc::new(build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256"],
        3600,
    ))));
    let key = rsa();
    let flood = (0..64).map(|i| {
        let auth = Arc::clone(&auth);
        let t = token(ISS, Algorithm::RS256, &format!("random-{i}"), &key, i);
        tokio::spawn(async move { auth.verify_bearer(&t).await })
    });
    for result in futures_util::future::join_all(flood).await {
        assert_eq!(result.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(idp.jwks_hits(), 1, "64 concurrent unknown kids, one fetch");
    for i in 100..164 {
        let t = token(ISS, Algorithm::RS256, &format!("random-{i}"), &key, i);
        assert_eq!(auth.verify_bearer(&t).await, Err(AuthError::UnknownKey));
    }
    assert_eq!(idp.jwks_hits(), 1, "and none for the sequential ones");
    // The one fetch did load the real key.
    assert!(
        auth.verify_bearer(&token(ISS, Algorithm::RS256, "real", &key, 1000))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_jwks_server_that_is_down_means_key_unavailable() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}/jwks.json");
    let auth = build(&config(remote_issuer(
        ISS,
        Some(url.clone()),
        &["RS256"],
        3600,
    )));
    assert_eq!(
        auth.prefetch().await,
        vec![(ISS.to_owned(), AuthError::KeyUnavailable)]
    );
    // Within the interval: no new attempt, and still "unavailable", not "unknown".
    let t = token(ISS, Algorithm::RS256, "k", &rsa(), 1);
    assert_eq!(auth.verify_bearer(&t).await, Err(AuthError::KeyUnavailable));
    // Without an interval, each request tries (and fails) again.
    let eager = build(&config(remote_issuer(ISS, Some(url), &["RS256"], 0)));
    assert_eq!(
        eager.verify_bearer(&t).await,
        Err(AuthError::KeyUnavailable)
    );
}

#[tokio::test]
async fn errors_redirects_oversized_and_non_json_answers_mean_key_unavailable() {
    for mode in [
        Mode::Status(500),
        Mode::Status(404),
        Mode::Redirect("/elsewhere.json"),
        Mode::Huge,
        Mode::Garbage,
    ] {
        let idp = Idp::start().await;
        idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "k")]);
        idp.set_mode(mode.clone());
        let auth = build(&config(remote_issuer(
            ISS,
            Some(idp.jwks_url()),
            &["RS256"],
            0,
        )));
        let t = token(ISS, Algorithm::RS256, "k", &rsa(), 1);
        assert_eq!(
            auth.verify_bearer(&t).await,
            Err(AuthError::KeyUnavailable),
            "{mode:?}"
        );
        assert_eq!(
            idp.other_hits(),
            0,
            "{mode:?}: a redirect is never followed"
        );
    }
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    let idp = Idp::start().await;
    idp.set_mode(Mode::Hang);
    let auth = build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256"],
        0,
    )));
    let started = std::time::Instant::now();
    let t = token(ISS, Algorithm::RS256, "k", &rsa(), 1);
    assert_eq!(auth.verify_bearer(&t).await, Err(AuthError::KeyUnavailable));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
}

#[tokio::test]
async fn discovery_finds_the_jwks() {
    let idp = Idp::start().await;
    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "k")]);
    // The issuer is the provider's own URL; its discovery document names the JWKS.
    let auth = build(&config(remote_issuer(&idp.base, None, &["RS256"], 30)));
    let p = auth
        .verify_bearer(&token(&idp.base, Algorithm::RS256, "k", &rsa(), 1))
        .await;
    assert_eq!(p.unwrap().id, "user-1");
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 1));
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_not_trusted() {
    let idp = Idp::start().await;
    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "k")]);
    idp.set_discovery_issuer("https://evil.test");
    let auth = build(&config(remote_issuer(&idp.base, None, &["RS256"], 30)));
    let t = token(&idp.base, Algorithm::RS256, "k", &rsa(), 1);
    assert_eq!(auth.verify_bearer(&t).await, Err(AuthError::KeyUnavailable));
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 0));
}

#[tokio::test]
async fn urls_and_keys_in_the_token_header_are_never_fetched_or_used() {
    let idp = Idp::start().await;
    idp.set_keys(vec![jwk(Algorithm::RS256, &rsa(), "ours")]);
    let attacker = Idp::start().await;
    attacker.set_keys(vec![jwk(Algorithm::RS256, &rsa_other(), "evil")]);
    let auth = build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256"],
        0,
    )));
    for kid in ["evil", "ours"] {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        header.jku = Some(attacker.jwks_url());
        header.x5u = Some(format!("{}/cert.pem", attacker.base));
        let claims =
            json!({"iss": ISS, "aud": support::AUD, "sub": "admin", "exp": support::now() + 60});
        let forged = jsonwebtoken::encode(&header, &claims, &rsa_other()).unwrap();
        let expected = if kid == "ours" {
            AuthError::BadSignature
        } else {
            AuthError::UnknownKey
        };
        assert_eq!(auth.verify_bearer(&forged).await, Err(expected), "{kid}");
    }
    assert_eq!(
        attacker.all_hits(),
        0,
        "the attacker's server was never contacted"
    );
}

#[tokio::test]
async fn symmetric_keys_in_a_jwks_are_never_used() {
    let idp = Idp::start().await;
    let secret = b"published-for-all-the-world-to-see-0123456789";
    let oct = jwk(Algorithm::HS256, &EncodingKey::from_secret(secret), "h");
    idp.set_keys(vec![oct, jwk(Algorithm::RS256, &rsa(), "r")]);
    let auth = build(&config(remote_issuer(
        ISS,
        Some(idp.jwks_url()),
        &["RS256", "HS256"],
        30,
    )));
    let t = token(
        ISS,
        Algorithm::HS256,
        "h",
        &EncodingKey::from_secret(secret),
        1,
    );
    assert_eq!(auth.verify_bearer(&t).await, Err(AuthError::UnknownKey));
    assert!(
        auth.verify_bearer(&token(ISS, Algorithm::RS256, "r", &rsa(), 2))
            .await
            .is_ok()
    );
}
