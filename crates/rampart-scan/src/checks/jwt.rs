//! The JWT set: `alg: none`, a wrong key, tampered claims, an expired
//! token, and an HMAC secret found in a small built-in wordlist.
//!
//! Control: the identity's own valid token is accepted on a read, and the
//! same read with no credentials is refused. Without that refusal the
//! server ignores credentials altogether (missing authentication, reported
//! by its own check), and accepting a forged token would prove nothing.
//! The wordlist attack is offline: the token's own signature is checked
//! against each candidate in constant time, and no request is spent on it.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use serde_json::{Value, json};

use super::Ctx;
use crate::client::{Req, Who};
use crate::exchange::Auth;
use crate::finding::{Check, Evidence, Finding, Severity};
use crate::identity::Jwt;

/// Secrets people sign tokens with and should not.
pub const WORDLIST: &[&str] = &[
    "secret",
    "password",
    "123456",
    "12345678",
    "1234567890",
    "changeme",
    "change-me",
    "jwt",
    "jwt_secret",
    "jwt-secret",
    "jwtsecret",
    "your-256-bit-secret",
    "your-secret-key",
    "your_secret_key",
    "your_jwt_secret",
    "secretkey",
    "secret_key",
    "secret-key",
    "SECRET_KEY",
    "secret123",
    "mysecret",
    "my_secret",
    "supersecret",
    "super-secret",
    "s3cr3t",
    "key",
    "private",
    "test",
    "testing",
    "dev",
    "development",
    "default",
    "admin",
    "qwerty",
    "letmein",
    "token",
    "pass",
    "hello",
    "abc123",
    "shhhhh",
    "keyboard cat",
    "not-so-secret",
    "gandalf",
    "HS256",
    "ThisIsMySecret",
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hmac_alg(alg: &str) -> Option<hmac::Algorithm> {
    match alg {
        "HS256" => Some(hmac::HMAC_SHA256),
        "HS384" => Some(hmac::HMAC_SHA384),
        "HS512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// A token with `header` and `claims`, signed with HMAC `key`.
pub fn sign_hs(header: &Value, claims: &Value, key: &[u8]) -> Option<String> {
    let alg = hmac_alg(header.get("alg")?.as_str()?)?;
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(alg, key), input.as_bytes());
    Some(format!("{input}.{}", b64(tag.as_ref())))
}

/// The token with `alg` set to `none` and no signature.
pub fn alg_none(jwt: &Jwt, spelling: &str) -> String {
    let mut header = jwt.header.clone();
    if let Some(h) = header.as_object_mut() {
        h.insert("alg".into(), json!(spelling));
    }
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(jwt.claims.to_string().as_bytes())
    )
}

/// The token with its claims changed and its original signature kept.
pub fn tampered(jwt: &Jwt, claims: &Value) -> String {
    let header_part = jwt.signing_input.split('.').next().unwrap_or_default();
    format!(
        "{header_part}.{}.{}",
        b64(claims.to_string().as_bytes()),
        b64(&jwt.signature)
    )
}

/// The wordlist entry the token is signed with, if any (HS* only).
pub fn crack<'w>(jwt: &Jwt, words: &[&'w str]) -> Option<&'w str> {
    let alg = hmac_alg(jwt.alg())?;
    words.iter().copied().find(|w| {
        hmac::verify(
            &hmac::Key::new(alg, w.as_bytes()),
            jwt.signing_input.as_bytes(),
            &jwt.signature,
        )
        .is_ok()
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Run the check.
pub async fn run(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for who in 0..ctx.client.identities().len() {
        let Some(token) = ctx.client.bearer_token(who).await else {
            continue;
        };
        let Some(jwt) = Jwt::parse(&token) else {
            continue;
        };
        let Some(control) = ctx.baseline.iter().find(|b| b.who == who) else {
            continue;
        };
        let Some(op) = ctx.ops.get(control.op) else {
            continue;
        };
        let Some(anon) = ctx
            .client
            .send(&Req::get(control.path.clone(), Who::Anonymous))
            .await
        else {
            continue;
        };
        if anon.ok() {
            continue;
        }
        let other = (0..ctx.client.identities().len())
            .find(|o| *o != who)
            .and_then(|o| ctx.principal(o))
            .unwrap_or("rampart-scan-tampered")
            .to_string();
        let mut claims_sub = jwt.claims.clone();
        let mut claims_exp = jwt.claims.clone();
        if let Some(c) = claims_sub.as_object_mut() {
            c.insert("sub".into(), json!(other));
        }
        if let Some(c) = claims_exp.as_object_mut() {
            c.insert("exp".into(), json!(now().saturating_sub(86_400)));
        }
        let mut wrong_key_header = jwt.header.clone();
        if let Some(h) = wrong_key_header.as_object_mut() {
            h.insert("alg".into(), json!("HS256"));
        }
        let attempts: Vec<(String, &str, String)> = [
            (
                Some(alg_none(&jwt, "none")),
                "alg-none",
                "a token with alg \"none\" and no signature".to_string(),
            ),
            (
                Some(alg_none(&jwt, "None")),
                "alg-none",
                "a token with alg \"None\" and no signature".to_string(),
            ),
            (
                sign_hs(&wrong_key_header, &jwt.claims, b"rampart-scan-wrong-key"),
                "wrong-key",
                "the same claims signed with a key the server does not hold".to_string(),
            ),
            (
                Some(tampered(&jwt, &claims_sub)),
                "claim-tampering",
                format!("the token with `sub` changed to {other} and the original signature"),
            ),
            (
                Some(tampered(&jwt, &claims_exp)),
                "expired",
                "the token with `exp` a day in the past and the original signature".to_string(),
            ),
        ]
        .into_iter()
        .filter_map(|(t, k, d)| t.map(|t| (t, k, d)))
        .collect();
        let mut reported = Vec::new();
        for (forged, kind, what) in attempts {
            if reported.contains(&kind) {
                continue;
            }
            let Some(mut probe) = ctx
                .client
                .send(&Req::get(control.path.clone(), Who::Forged(forged.clone())))
                .await
            else {
                continue;
            };
            if !probe.ok() {
                continue;
            }
            // Tampered tokens keep the real signature: never print it.
            if matches!(kind, "claim-tampering" | "expired") {
                let unsigned = forged.rsplit_once('.').map(|(i, _)| i).unwrap_or_default();
                probe.auth = Auth::Forged {
                    token: format!("{unsigned}.<{}'s original signature>", ctx.name(who)),
                };
            }
            reported.push(kind);
            out.push(Finding::new(
                Check::Jwt,
                Severity::Critical,
                op.id.clone(),
                format!("forged JWT accepted ({kind}) on {}", op.id),
                Evidence {
                    probe,
                    control: anon.clone(),
                    steps: vec![control.exchange.clone()],
                    fields: vec![kind.to_string()],
                    why: format!(
                        "{what} was accepted; the same read with no credentials (the control) was refused with {}, so the server does check credentials, just not this one",
                        anon.status
                    ),
                },
            ));
        }
        if let Some(secret) = crack(&jwt, WORDLIST) {
            let Some(forged) = sign_hs(&jwt.header, &claims_sub, secret.as_bytes()) else {
                continue;
            };
            let Some(mut probe) = ctx
                .client
                .send(&Req::get(control.path.clone(), Who::Forged(forged.clone())))
                .await
            else {
                continue;
            };
            // The forged token works on the target: never print it whole.
            let unsigned = forged.rsplit_once('.').map(|(i, _)| i).unwrap_or_default();
            probe.auth = Auth::Forged {
                token: format!("{unsigned}.<signature with the guessed secret>"),
            };
            out.push(Finding::new(
                Check::Jwt,
                Severity::Critical,
                op.id.clone(),
                format!("{}'s JWT is signed with a guessable secret", ctx.name(who)),
                Evidence {
                    why: format!(
                        "the token's {} signature verifies with a secret from the built-in wordlist ({} characters); a token for another subject signed with it got {} where no credentials got {}",
                        jwt.alg(),
                        secret.len(),
                        probe.status,
                        anon.status
                    ),
                    probe,
                    control: anon.clone(),
                    steps: Vec::new(),
                    fields: vec!["weak-hs-secret".into()],
                },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_signed_with_a_listed_secret_is_cracked() {
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let claims = json!({"sub": "2", "role": "member"});
        let token = sign_hs(&header, &claims, b"keyboard cat").unwrap();
        let jwt = Jwt::parse(&token).unwrap();
        assert_eq!(crack(&jwt, WORDLIST), Some("keyboard cat"));
        let strong = sign_hs(&header, &claims, b"b5f0c6d1e2a3948576afbe0c1d2e3f40").unwrap();
        assert_eq!(crack(&Jwt::parse(&strong).unwrap(), WORDLIST), None);
    }

    #[test]
    fn forgeries_have_the_expected_shape() {
        let header = json!({"alg": "HS384", "kid": "k"});
        let claims = json!({"sub": "2"});
        let token = sign_hs(&header, &claims, b"x").unwrap();
        let jwt = Jwt::parse(&token).unwrap();
        let none = alg_none(&jwt, "none");
        assert!(none.ends_with('.'));
        let parsed = Jwt::parse(&none).unwrap();
        assert_eq!(parsed.alg(), "none");
        assert_eq!(parsed.header["kid"], "k");
        let t = tampered(&jwt, &json!({"sub": "4"}));
        let tj = Jwt::parse(&t).unwrap();
        assert_eq!(tj.claims["sub"], "4");
        assert_eq!(
            tj.signature, jwt.signature,
            "the original signature is kept"
        );
    }
}
