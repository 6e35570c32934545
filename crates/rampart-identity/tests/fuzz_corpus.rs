//! Replays the committed seeds of the `jwt` fuzz target (`fuzz/corpus/jwt/`)
//! on stable, against the same fixed issuer and HS256 secret: every seed is
//! a forgery or garbage, so every one must be refused, and none may panic.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rampart_config::IdentityConfig;
use rampart_identity::Authenticator;

#[tokio::test]
async fn every_jwt_fuzz_seed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hs256.secret");
    // The fuzz target's secret (fuzz/fuzz_targets/jwt.rs): the seeds were
    // made against it, so a wrong-key seed is wrong for this reason alone.
    std::fs::write(&secret, "fuzzing-secret-0123456789abcdefghijklmnop").unwrap();
    let cfg: IdentityConfig = serde_json::from_value(serde_json::json!({
        "issuers": [{
            "issuer": "https://idp.test",
            "audiences": ["rampart-tests"],
            "algorithms": ["HS256"],
            "keys": [{"kid": "hs-1", "alg": "HS256", "secret_file": secret}],
        }],
        "token_cache_entries": 0,
    }))
    .unwrap();
    let auth = Authenticator::new(&cfg, |p| p.to_path_buf()).unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/jwt");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(token) = std::str::from_utf8(&bytes) else {
            continue;
        };
        replayed += 1;
        let verdict = auth.verify_bearer(token).await;
        assert!(
            verdict.is_err(),
            "{} was accepted: {verdict:?}",
            path.display()
        );
    }
    assert!(replayed >= 5, "{replayed} seeds");
}
