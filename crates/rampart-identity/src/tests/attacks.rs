//! The JWT attack set. Each test is named for the attack and asserts the
//! exact refusal.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, Header};
use serde_json::json;

use super::*;

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let auth = everything();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = raw(&json!({"alg": alg, "typ": "JWT"}), &claims(), b"");
        assert_eq!(
            verify(&auth, &unsigned).await,
            Err(AuthError::AlgorithmNotAllowed),
            "{alg}"
        );
        // Even with some signature bytes attached.
        let signed = raw(&json!({"alg": alg, "kid": "rsa"}), &claims(), b"sig");
        assert_eq!(
            verify(&auth, &signed).await,
            Err(AuthError::AlgorithmNotAllowed),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn unknown_algorithm_names_are_refused() {
    let auth = everything();
    for alg in ["HS1", "rs256", "ES512", "", "RSA-OAEP"] {
        let token = raw(&json!({"alg": alg, "kid": "rsa"}), &claims(), b"sig");
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::AlgorithmNotAllowed),
            "{alg}"
        );
    }
}

/// The classic: the RSA public key is public, so an attacker HMAC-signs a
/// token with its PEM text as the secret and hopes the verifier feeds the
/// same bytes to HMAC.
fn rs_to_hs_forgery(kid: Option<&str>) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    hmac_signed(&header, &claims(), &read("rsa.pub.pem"))
}

#[tokio::test]
async fn rs_to_hs_confusion_against_an_rs256_only_issuer() {
    let auth = build(&config(vec![issuer(
        ISS,
        &["RS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    )]));
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(Some("rsa"))).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(None)).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn rs_to_hs_confusion_when_the_issuer_allows_both_rs256_and_hs256() {
    // The allowlist admits HS256, but the only key is an RSA key, which never
    // verifies an HMAC: the key's type, not the token, decides.
    let auth = build(&config(vec![issuer(
        ISS,
        &["RS256", "HS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    )]));
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(Some("rsa"))).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(None)).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    // The same with the DER bytes of the key as the "secret".
    let der = {
        let pem = String::from_utf8(read("rsa.pub.pem")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let forged = hmac_signed(&json!({"alg": "HS256", "kid": "rsa"}), &claims(), &der);
    assert_eq!(
        verify(&auth, &forged).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    // And a genuine RS256 token still works.
    assert!(verify(&auth, &rs256(&claims())).await.is_ok());
}

#[tokio::test]
async fn rs_to_hs_confusion_when_the_issuer_also_has_an_hmac_key() {
    let auth = build(&config(vec![issuer(
        ISS,
        &["RS256", "HS256"],
        vec![
            pem_key(Some("rsa"), "RS256", "rsa.pub.pem"),
            hmac_key(Some("hmac"), "HS256"),
        ],
    )]));
    // Naming the RSA key: wrong type for HS256.
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(Some("rsa"))).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    // Naming the HMAC key: the PEM is not its secret.
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(Some("hmac"))).await,
        Err(AuthError::BadSignature)
    );
    // No kid and two keys: no guessing.
    assert_eq!(
        verify(&auth, &rs_to_hs_forgery(None)).await,
        Err(AuthError::UnknownKey)
    );
}

#[tokio::test]
async fn a_key_is_used_only_with_its_own_declared_algorithm() {
    let auth = everything();
    // Our RSA key is configured for RS256; a PS256 token naming it is refused
    // even though PS256 is allowed for the issuer and RSA can do PSS.
    let ps = sign(
        Algorithm::PS256,
        Some("rsa"),
        &signing_key(Algorithm::PS256, "rsa.key.pem"),
        &claims(),
    );
    assert_eq!(
        verify(&auth, &ps).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    // An ES384 token naming the P-256 key.
    let es = sign(
        Algorithm::ES384,
        Some("ec256"),
        &signing_key(Algorithm::ES384, "ec384.key.pem"),
        &claims(),
    );
    assert_eq!(
        verify(&auth, &es).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn an_algorithm_outside_the_issuers_allowlist_is_refused() {
    let auth = build(&config(vec![issuer(
        ISS,
        &["ES256"],
        vec![pem_key(Some("ec256"), "ES256", "ec256.pub.pem")],
    )]));
    assert_eq!(
        verify(&auth, &rs256(&claims())).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn wrong_key_is_a_bad_signature() {
    let auth = everything();
    let token = sign(
        Algorithm::RS256,
        Some("rsa"),
        &signing_key(Algorithm::RS256, "rsa_other.key.pem"),
        &claims(),
    );
    assert_eq!(verify(&auth, &token).await, Err(AuthError::BadSignature));
    let token = sign(
        Algorithm::ES256,
        Some("ec256"),
        &jsonwebtoken::EncodingKey::from_ec_pem(&read("ec256.key.pem")).unwrap(),
        &claims(),
    );
    assert!(verify(&auth, &token).await.is_ok());
}

#[tokio::test]
async fn expired_tokens_are_refused_beyond_the_leeway() {
    let auth = everything();
    let now = now();
    let token = rs256(&claims_with(
        json!({"exp": now - 3600, "iat": now - 7200, "nbf": null}),
    ));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::Expired));
    // Within the 30 s leeway it is still accepted.
    let token = rs256(&claims_with(json!({"exp": now - 10, "jti": "leeway"})));
    assert!(verify(&auth, &token).await.is_ok());
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let auth = everything();
    let token = rs256(&claims_with(json!({"exp": null})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::MissingClaim));
    let token = rs256(&claims_with(json!({"exp": "tomorrow"})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::Malformed));
}

#[tokio::test]
async fn not_yet_valid_tokens_are_refused() {
    let auth = everything();
    let token = rs256(&claims_with(json!({"nbf": now() + 3600})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::NotYetValid));
}

#[tokio::test]
async fn tokens_issued_in_the_future_are_refused() {
    let auth = everything();
    let token = rs256(&claims_with(json!({"iat": now() + 3600})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::IssuedInFuture));
}

#[tokio::test]
async fn wrong_or_missing_audience_is_refused() {
    let auth = everything();
    for aud in [
        json!("another-service"),
        json!(["x", "y"]),
        json!(null),
        json!(7),
    ] {
        let token = rs256(&claims_with(json!({"aud": aud})));
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::WrongAudience),
            "{aud}"
        );
    }
    let token = rs256(&claims_with(json!({"aud": ["x", AUD]})));
    assert!(verify(&auth, &token).await.is_ok());
}

#[tokio::test]
async fn unknown_or_missing_issuer_is_refused() {
    let auth = everything();
    for iss in [
        json!("https://evil.test"),
        json!(null),
        json!(["https://idp.test"]),
        json!("https://idp.test/"),
    ] {
        let token = rs256(&claims_with(json!({"iss": iss})));
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::UnknownIssuer),
            "{iss}"
        );
    }
}

#[tokio::test]
async fn the_issuer_is_chosen_first_and_only_its_keys_are_tried() {
    // Two issuers; the token claims B but is signed with A's key under A's kid.
    let auth = build(&config(vec![
        issuer(
            ISS,
            &["RS256"],
            vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
        ),
        issuer(
            "https://b.test",
            &["RS256"],
            vec![pem_key(Some("b"), "RS256", "rsa_other.pub.pem")],
        ),
    ]));
    let token = rs256(&claims_with(json!({"iss": "https://b.test"})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::UnknownKey));
}

#[tokio::test]
async fn tampered_claims_break_the_signature() {
    let auth = everything();
    let token = rs256(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = claims_with(json!({"sub": "admin", "role": "admin"}));
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_eq!(
        verify(&auth, &parts.join(".")).await,
        Err(AuthError::BadSignature)
    );
    // A tampered header (another allowed algorithm of the same key type).
    let hs = sign(
        Algorithm::HS256,
        Some("hmac"),
        &signing_key(Algorithm::HS256, ""),
        &claims(),
    );
    let mut parts: Vec<&str> = hs.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"hmac","typ":"at+jwt"}"#);
    parts[0] = &header;
    assert_eq!(
        verify(&auth, &parts.join(".")).await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn unknown_kid_is_refused_without_any_fetch() {
    let auth = everything();
    for kid in [
        "nope",
        "../../etc/passwd",
        "rsa' OR '1'='1",
        "https://evil.test/key",
        "RSA",
        "rsa ",
    ] {
        let token = sign(
            Algorithm::RS256,
            Some(kid),
            &signing_key(Algorithm::RS256, "rsa.key.pem"),
            &claims(),
        );
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::UnknownKey),
            "{kid}"
        );
    }
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_parsing() {
    let mut cfg = config(vec![issuer(
        ISS,
        &["RS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    )]);
    cfg.max_token_bytes = 1024;
    let auth = build(&cfg);
    // Garbage: refused for its size, not its shape.
    assert_eq!(
        verify(&auth, &"x".repeat(1025)).await,
        Err(AuthError::TooLarge)
    );
    // A valid token padded with a large claim.
    let token = rs256(&claims_with(json!({"pad": "p".repeat(1024)})));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::TooLarge));
    // At the limit it is parsed (and found malformed).
    assert_eq!(
        verify(&auth, &"x".repeat(1024)).await,
        Err(AuthError::Malformed)
    );
    assert_eq!(verify(&auth, "").await, Err(AuthError::Missing));
}

/// A header that points at, or embeds, the attacker's key.
fn injected_header(kid: Option<&str>) -> Header {
    let attacker = signing_key(Algorithm::RS256, "rsa_other.key.pem");
    let mut jwk = Jwk::from_encoding_key(&attacker, Algorithm::RS256).unwrap();
    jwk.common.key_id = kid.map(str::to_owned);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    header.jku = Some("http://127.0.0.1:9/attacker-jwks.json".into());
    header.x5u = Some("http://127.0.0.1:9/attacker.pem".into());
    header.jwk = Some(jwk);
    header.x5c = Some(vec!["MIIBattackercert".into()]);
    header
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_are_ignored() {
    let attacker = signing_key(Algorithm::RS256, "rsa_other.key.pem");
    let auth = everything();
    // Naming our kid: verified against our key, so the signature fails.
    let token = jsonwebtoken::encode(&injected_header(Some("rsa")), &claims(), &attacker).unwrap();
    assert_eq!(verify(&auth, &token).await, Err(AuthError::BadSignature));
    // Naming the attacker's own kid: not one of ours.
    let token = jsonwebtoken::encode(&injected_header(Some("evil")), &claims(), &attacker).unwrap();
    assert_eq!(verify(&auth, &token).await, Err(AuthError::UnknownKey));
    // No kid, against an issuer with a single RSA key: still only that key.
    let single = build(&config(vec![issuer(
        ISS,
        &["RS256"],
        vec![pem_key(None, "RS256", "rsa.pub.pem")],
    )]));
    let token = jsonwebtoken::encode(&injected_header(None), &claims(), &attacker).unwrap();
    assert_eq!(verify(&single, &token).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let auth = everything();
    let good = rs256(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], "%%%", parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], "not*base64"),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("not json"),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("not json"),
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("[1,2]"),
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"kid":"rsa"}"#),
            parts[1],
            parts[2]
        ),
        "...".to_owned(),
        "Bearer".to_owned(),
    ];
    for token in &cases {
        assert_eq!(
            verify(&auth, token).await,
            Err(AuthError::Malformed),
            "{token}"
        );
    }
}

#[tokio::test]
async fn revoked_jtis_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let revoked = dir.path().join("revoked.txt");
    std::fs::write(
        &revoked,
        "# revoked after the 2026-11 incident\nstolen-1  # laptop\n\nstolen-2\n",
    )
    .unwrap();
    let mut cfg = config(vec![issuer(
        ISS,
        &["RS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    )]);
    cfg.revoked_jtis_file = Some(revoked);
    let auth = build(&cfg);
    for jti in ["stolen-1", "stolen-2"] {
        let token = rs256(&claims_with(json!({"jti": jti})));
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::Revoked),
            "{jti}"
        );
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::Revoked),
            "{jti} again"
        );
    }
    let token = rs256(&claims_with(json!({"jti": "laptop"})));
    assert!(verify(&auth, &token).await.is_ok());
}

#[tokio::test]
async fn revocation_applies_to_cached_tokens() {
    let mut auth = everything();
    let token = rs256(&claims_with(json!({"jti": "cached-then-revoked"})));
    assert!(verify(&auth, &token).await.is_ok());
    assert!(verify(&auth, &token).await.is_ok(), "served from the cache");
    auth.revoke("cached-then-revoked");
    assert_eq!(verify(&auth, &token).await, Err(AuthError::Revoked));
}

#[tokio::test]
async fn cached_tokens_expire_with_their_exp() {
    let mut auth = everything();
    let start = now();
    let clock = manual_clock(&mut auth, start);
    let token = rs256(&claims_with(json!({"exp": start + 60})));
    assert!(verify(&auth, &token).await.is_ok());
    // Within exp + leeway (30 s): still served.
    clock.store(start + 89, std::sync::atomic::Ordering::SeqCst);
    assert!(verify(&auth, &token).await.is_ok());
    clock.store(start + 90, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(verify(&auth, &token).await, Err(AuthError::Expired));
    assert_eq!(verify(&auth, &token).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn a_token_without_a_subject_is_refused() {
    let auth = everything();
    for sub in [json!(null), json!(""), json!(42)] {
        let token = rs256(&claims_with(json!({"sub": sub})));
        assert_eq!(
            verify(&auth, &token).await,
            Err(AuthError::MissingClaim),
            "{sub}"
        );
    }
}
