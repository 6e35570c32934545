//! Bearer token parsing and verification with a fixed HS256 secret and a
//! fixed issuer: arbitrary bytes as the token. Static keys only, so no
//! network is ever touched.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_config::IdentityConfig;
use rampart_identity::Authenticator;

fn authenticator() -> &'static (Authenticator, tokio::runtime::Runtime) {
    static AUTH: OnceLock<(Authenticator, tokio::runtime::Runtime)> = OnceLock::new();
    AUTH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rampart-fuzz-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let secret = dir.join("hs256.secret");
        std::fs::write(&secret, "fuzzing-secret-0123456789abcdefghijklmnop").expect("written");
        let cfg: IdentityConfig = serde_json::from_value(serde_json::json!({
            "issuers": [{
                "issuer": "https://idp.test",
                "audiences": ["rampart-tests"],
                "algorithms": ["HS256"],
                "keys": [{"kid": "hs-1", "alg": "HS256", "secret_file": secret}],
            }],
            "token_cache_entries": 0,
        }))
        .expect("a valid identity config");
        let auth = Authenticator::new(&cfg, |p| p.to_path_buf()).expect("the authenticator builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        (auth, rt)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (auth, rt) = authenticator();
    if let Ok(principal) = rt.block_on(auth.verify_bearer(token)) {
        // Only a token signed with the fixed secret can get here, which
        // random input cannot produce: a success is a forgery.
        panic!("a fuzzed token was accepted: {principal:?}");
    }
});
