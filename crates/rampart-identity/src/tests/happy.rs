//! Genuine tokens of every algorithm family, and what the principal holds.

use jsonwebtoken::Algorithm;
use rampart_config::ClaimNames;
use serde_json::json;

use super::*;
use crate::PrincipalKind;

async fn accepts(auth: &Authenticator, alg: Algorithm, kid: &str, private_pem: &str) -> Principal {
    let token = sign(alg, Some(kid), &signing_key(alg, private_pem), &claims());
    match verify(auth, &token).await {
        Ok(p) => p,
        Err(e) => panic!("{alg:?} with {kid}: {e:?}"),
    }
}

#[tokio::test]
async fn every_family_verifies() {
    let auth = everything();
    for (alg, kid, pem) in [
        (Algorithm::HS256, "hmac", ""),
        (Algorithm::RS256, "rsa", "rsa.key.pem"),
        (Algorithm::PS256, "rsa-pss", "rsa.key.pem"),
        (Algorithm::ES256, "ec256", "ec256.key.pem"),
        (Algorithm::ES384, "ec384", "ec384.key.pem"),
        (Algorithm::EdDSA, "ed", "ed25519.key.pem"),
    ] {
        let p = accepts(&auth, alg, kid, pem).await;
        assert_eq!(p.id, "rider-42");
    }
}

#[tokio::test]
async fn the_larger_hashes_verify_too() {
    let auth = build(&config(vec![issuer(
        ISS,
        &["HS384", "HS512", "RS384", "RS512", "PS384", "PS512"],
        vec![
            hmac_key(Some("hs384"), "HS384"),
            hmac_key(Some("hs512"), "HS512"),
            pem_key(Some("rs384"), "RS384", "rsa.pub.pem"),
            pem_key(Some("rs512"), "RS512", "rsa.pub.pem"),
            pem_key(Some("ps384"), "PS384", "rsa.pub.pem"),
            pem_key(Some("ps512"), "PS512", "rsa.pub.pem"),
        ],
    )]));
    for (alg, kid) in [
        (Algorithm::HS384, "hs384"),
        (Algorithm::HS512, "hs512"),
        (Algorithm::RS384, "rs384"),
        (Algorithm::RS512, "rs512"),
        (Algorithm::PS384, "ps384"),
        (Algorithm::PS512, "ps512"),
    ] {
        accepts(&auth, alg, kid, "rsa.key.pem").await;
    }
}

#[tokio::test]
async fn the_principal_carries_subject_roles_scopes_and_claims() {
    let auth = everything();
    let p = verify(&auth, &rs256(&claims())).await.unwrap();
    assert_eq!(p.kind, PrincipalKind::Jwt { issuer: ISS.into() });
    assert_eq!(p.id, "rider-42");
    assert_eq!(p.roles, ["member"]);
    assert_eq!(p.scopes, ["profile:read", "rides:read"]);
    assert_eq!(p.token_id.as_deref(), Some("token-1"));
    assert_eq!(p.expires_at, claims()["exp"].as_u64());
    assert_eq!(p.claims["tenant"], "peloton");
    assert!(p.has_scopes(&["rides:read".into()]));
    // The cached answer is the same principal.
    assert_eq!(verify(&auth, &rs256(&claims())).await.unwrap(), p);
}

#[tokio::test]
async fn claim_names_are_configurable() {
    let mut iss = issuer(
        ISS,
        &["RS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    );
    iss.claims = ClaimNames {
        subject: "oid".into(),
        roles: "groups".into(),
        scopes: "scp".into(),
    };
    let auth = build(&config(vec![iss]));
    let token = rs256(&claims_with(json!({
        "oid": "user-7", "groups": ["admin", "member"], "scp": ["a", "b"],
    })));
    let p = verify(&auth, &token).await.unwrap();
    assert_eq!(p.id, "user-7");
    assert_eq!(p.roles, ["admin", "member"]);
    assert_eq!(p.scopes, ["a", "b"]);
}

#[tokio::test]
async fn a_token_without_kid_uses_the_issuers_only_key() {
    let auth = build(&config(vec![issuer(
        ISS,
        &["ES256"],
        vec![pem_key(None, "ES256", "ec256.pub.pem")],
    )]));
    let token = sign(
        Algorithm::ES256,
        None,
        &signing_key(Algorithm::ES256, "ec256.key.pem"),
        &claims(),
    );
    assert!(verify(&auth, &token).await.is_ok());
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let mut cfg = config(vec![issuer(
        ISS,
        &["RS256"],
        vec![pem_key(Some("rsa"), "RS256", "rsa.pub.pem")],
    )]);
    cfg.token_cache_entries = 0;
    let auth = build(&cfg);
    let token = rs256(&claims());
    assert!(verify(&auth, &token).await.is_ok());
    assert!(verify(&auth, &token).await.is_ok());
}

#[test]
fn api_keys_verify_through_the_authenticator() {
    let key = crate::generate_api_key();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.yaml");
    std::fs::write(
        &file,
        format!(
            "keys:\n  - id: ops\n    hash: \"{}\"\n    subject: svc-ops\n    role: admin\n    scopes: [\"export\"]\n",
            crate::hash_api_key(&key)
        ),
    )
    .unwrap();
    let mut cfg = config(Vec::new());
    cfg.api_keys_file = Some(file);
    let auth = build(&cfg);
    let p = auth.verify_api_key(&key).unwrap();
    assert_eq!(
        p.kind,
        PrincipalKind::ApiKey {
            key_id: "ops".into()
        }
    );
    assert_eq!(
        (p.id.as_str(), p.roles.as_slice()),
        ("svc-ops", &["admin".to_owned()][..])
    );
    assert_eq!(
        auth.verify_api_key("rk_wrong"),
        Err(AuthError::UnknownApiKey)
    );
    assert_eq!(auth.verify_api_key(""), Err(AuthError::Missing));
    assert_eq!(
        auth.verify_api_key(&"k".repeat(9000)),
        Err(AuthError::TooLarge)
    );
    let shown = format!("{auth:?}");
    assert!(!shown.contains(&key) && !shown.contains(&crate::hash_api_key(&key)[7..]));
}

#[test]
fn anonymous_has_nothing() {
    let p = Principal::anonymous();
    assert_eq!(p.kind, PrincipalKind::Anonymous);
    assert!(p.id.is_empty() && p.roles.is_empty() && p.scopes.is_empty());
    assert!(!p.has_role(""));
}
