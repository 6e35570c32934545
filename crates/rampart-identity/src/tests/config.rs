//! Configuration errors: each names the issuer, the key or the file and the
//! cause, and none repeats a secret.

use rampart_config::StaticKey;

use super::*;
use crate::IdentityError;

fn error(cfg: &IdentityConfig) -> String {
    match Authenticator::new(cfg, |p| data("").join(p)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn one_key(algorithms: &[&str], key: StaticKey) -> IdentityConfig {
    config(vec![issuer(ISS, algorithms, vec![key])])
}

#[test]
fn an_unset_secret_env_is_named() {
    let key = StaticKey {
        kid: Some("k1".into()),
        alg: "HS256".into(),
        secret_env: Some("RAMPART_TEST_SURELY_UNSET_SECRET".into()),
        secret_file: None,
        public_key_file: None,
    };
    assert_eq!(
        error(&one_key(&["HS256"], key)),
        "issuer https://idp.test key k1: secret_env RAMPART_TEST_SURELY_UNSET_SECRET is not set"
    );
}

#[test]
fn a_secret_from_the_environment_is_used() {
    // Cargo sets this for test binaries; it is long enough for HS256.
    let var = "CARGO_PKG_DESCRIPTION";
    let key = StaticKey {
        kid: Some("env".into()),
        alg: "HS256".into(),
        secret_env: Some(var.into()),
        secret_file: None,
        public_key_file: None,
    };
    let Ok(secret) = std::env::var(var) else {
        return; // not run by cargo
    };
    let auth = build(&one_key(&["HS256"], key));
    let token = sign(
        jsonwebtoken::Algorithm::HS256,
        Some("env"),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        &claims(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(rt.block_on(auth.verify_bearer(&token)).is_ok());
}

#[test]
fn a_missing_key_file_is_named_with_its_cause() {
    let e = error(&one_key(
        &["RS256"],
        pem_key(Some("k"), "RS256", "missing.pem"),
    ));
    assert!(e.starts_with("cannot read key file "), "{e}");
    assert!(
        e.contains("missing.pem") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn short_hmac_secrets_are_refused_without_showing_them() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.secret");
    std::fs::write(&short, "hunter2-hunter2\n").unwrap();
    let mut key = hmac_key(Some("k"), "HS256");
    key.secret_file = Some(short);
    let e = error(&one_key(&["HS256"], key));
    assert!(e.contains("15 bytes") && e.contains("at least 32"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    // HS512 needs 64 bytes; hmac.secret has exactly that.
    assert!(
        Authenticator::new(&one_key(&["HS512"], hmac_key(None, "HS512")), |p| data("")
            .join(p))
        .is_ok()
    );
}

#[test]
fn private_keys_and_certificates_are_not_public_keys() {
    let e = error(&one_key(
        &["RS256"],
        pem_key(Some("k"), "RS256", "rsa.key.pem"),
    ));
    assert!(e.contains("private key"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut key = pem_key(Some("k"), "RS256", "");
    key.public_key_file = Some(cert);
    assert!(error(&one_key(&["RS256"], key)).contains("BEGIN CERTIFICATE"));
}

#[test]
fn a_key_of_the_wrong_type_or_curve_is_refused() {
    let e = error(&one_key(
        &["ES256"],
        pem_key(Some("k"), "ES256", "ec384.pub.pem"),
    ));
    assert!(e.contains("P-384") && e.contains("ES384"), "{e}");
    let e = error(&one_key(
        &["RS256"],
        pem_key(Some("k"), "RS256", "ec256.pub.pem"),
    ));
    assert!(e.contains("not an RSA public key"), "{e}");
    let e = error(&one_key(
        &["EdDSA"],
        pem_key(Some("k"), "EdDSA", "rsa.pub.pem"),
    ));
    assert!(e.contains("not an Ed25519 public key"), "{e}");
    // A secret for a public-key algorithm, and a PEM for HMAC.
    let e = error(&one_key(&["RS256"], hmac_key(Some("k"), "RS256")));
    assert!(e.contains("set public_key_file"), "{e}");
    let e = error(&one_key(
        &["HS256"],
        pem_key(Some("k"), "HS256", "rsa.pub.pem"),
    ));
    assert!(e.contains("not public_key_file"), "{e}");
}

#[test]
fn algorithms_are_checked() {
    let e = error(&one_key(
        &["RS256", "none"],
        pem_key(None, "RS256", "rsa.pub.pem"),
    ));
    assert_eq!(
        e,
        "issuer https://idp.test: algorithm `none` is never accepted"
    );
    let e = error(&one_key(
        &["RS256"],
        pem_key(None, "ES256", "ec256.pub.pem"),
    ));
    assert_eq!(
        e,
        "issuer https://idp.test key #1: algorithm ES256 is not in the issuer's `algorithms`"
    );
    let e = error(&one_key(&["RS257"], pem_key(None, "RS256", "rsa.pub.pem")));
    assert!(e.contains("unknown algorithm `RS257`"), "{e}");
}

#[test]
fn an_issuer_needs_a_key_source() {
    let e = error(&config(vec![issuer(ISS, &["RS256"], Vec::new())]));
    assert_eq!(
        e,
        "issuer https://idp.test: configure keys, jwks_url or discovery"
    );
    let mut both = issuer(ISS, &["RS256"], Vec::new());
    both.jwks_url = Some("https://idp.test/jwks".into());
    both.discovery = true;
    assert!(error(&config(vec![both])).contains("not both"));
    let mut bad = issuer(ISS, &["RS256"], Vec::new());
    bad.jwks_url = Some("file:///etc/jwks.json".into());
    assert!(error(&config(vec![bad])).contains("not an http or https URL"));
    let mut not_url = issuer("idp", &["RS256"], Vec::new());
    not_url.discovery = true;
    assert!(error(&config(vec![not_url])).contains("discovery needs"));
}

#[test]
fn an_issuer_listed_twice_is_refused() {
    let one = issuer(ISS, &["RS256"], vec![pem_key(None, "RS256", "rsa.pub.pem")]);
    let e = error(&config(vec![one.clone(), one]));
    assert_eq!(e, "issuer https://idp.test: listed twice");
}

#[test]
fn missing_api_key_and_revocation_files_are_named() {
    let mut cfg = config(Vec::new());
    cfg.api_keys_file = Some("no-such-keys.yaml".into());
    assert!(error(&cfg).starts_with("cannot read API key file "));
    let mut cfg = config(Vec::new());
    cfg.revoked_jtis_file = Some("no-such-revoked.txt".into());
    assert!(error(&cfg).starts_with("cannot read revoked jti file "));
}

#[test]
fn the_authenticator_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Authenticator>();
    assert_send_sync::<IdentityError>();
    assert_send_sync::<Principal>();
    // The futures too, so the gateway can await them on any worker.
    fn assert_send<T: Send>(_: &T) {}
    let auth = everything();
    assert_send(&auth.verify_bearer("t"));
    assert_send(&auth.prefetch());
}

#[test]
fn every_refusal_has_a_distinct_rule_id_and_a_reason_without_detail() {
    let all = [
        AuthError::Missing,
        AuthError::TooLarge,
        AuthError::Malformed,
        AuthError::AlgorithmNotAllowed,
        AuthError::UnknownIssuer,
        AuthError::UnknownKey,
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::IssuedInFuture,
        AuthError::WrongAudience,
        AuthError::MissingClaim,
        AuthError::Revoked,
        AuthError::KeyUnavailable,
        AuthError::UnknownApiKey,
        AuthError::InsufficientScope,
    ];
    let ids: std::collections::HashSet<&str> = all.iter().map(AuthError::rule_id).collect();
    assert_eq!(ids.len(), all.len());
    assert!(ids.iter().all(|id| id.starts_with("identity.")));
    assert_eq!(AuthError::Expired.rule_id(), "identity.jwt.expired");
    for e in all {
        assert_eq!(e.to_string(), e.reason());
    }
}
