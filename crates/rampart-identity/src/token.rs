//! Reading a compact JWS, and checking its claims once its signature holds.
//!
//! The header is read by our own minimal struct, not by a general JOSE
//! header type: only `alg`, `kid` and `crit` are looked at. `jku`, `x5u`,
//! `jwk` and `x5c` are never even deserialized, so no code path can fetch a
//! URL or trust a key that the token itself supplies. `kid` is kept as an
//! opaque string compared for equality with configured key ids; it is never
//! a path, a query or a URL.
//!
//! The payload is parsed before verification only because the issuer (and
//! so the key set) is chosen by the unverified `iss`; nothing else in it is
//! believed until the signature has been checked with that issuer's keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::issuer::Issuer;

/// A split, decoded, not yet verified token.
#[derive(Debug)]
pub(crate) struct Unverified<'t> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) claims: Map<String, Value>,
    /// `base64(header) "." base64(payload)`: what the signature covers.
    pub(crate) signing_input: &'t str,
    /// The signature segment, still base64url.
    pub(crate) signature: &'t str,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// Split and decode a token. Fails with `Malformed` for anything that is
/// not three base64url segments with a JSON-object header and payload, and
/// with `AlgorithmNotAllowed` for `none` or an unknown `alg`.
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, AuthError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(AuthError::Malformed)?;
    if payload_b64.contains('.') {
        return Err(AuthError::Malformed);
    }
    let header: Header =
        serde_json::from_slice(&b64(header_b64)?).map_err(|_| AuthError::Malformed)?;
    // RFC 7515 section 4.1.11: extensions listed in `crit` must be
    // understood, and we understand none.
    if header.crit.is_some() {
        return Err(AuthError::Malformed);
    }
    // `none`, `None`, `NONE`, and anything else jsonwebtoken does not know,
    // can never name a usable key type.
    let alg = header
        .alg
        .parse::<Algorithm>()
        .map_err(|_| AuthError::AlgorithmNotAllowed)?;
    if signature.is_empty() {
        return Err(AuthError::Malformed);
    }
    let payload = b64(payload_b64)?;
    // A repeated claim (`"sub":"alice","sub":"admin"`) is read last-wins
    // here and may be read first-wins by the upstream, which also gets the
    // token: refuse it rather than pick a reading.
    serde_json::from_slice::<UniqueKeys>(&payload).map_err(|_| AuthError::Malformed)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
    Ok(Unverified {
        alg,
        kid: header.kid,
        claims,
        signing_input,
        signature,
    })
}

/// A JSON object whose top-level keys are all distinct (values unread).
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object without repeated keys")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    if !seen.insert(key) {
                        return Err(serde::de::Error::custom("a repeated key"));
                    }
                }
                Ok(UniqueKeys)
            }
        }
        d.deserialize_map(Keys)
    }
}

fn b64(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed)
}

/// The validated time claims of a verified token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: u64,
}

/// Check `exp` (required), `nbf`, `iat` and `aud` against `issuer`'s rules
/// at time `now` (Unix seconds).
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    issuer: &Issuer,
    now: u64,
) -> Result<Times, AuthError> {
    let leeway = issuer.leeway;
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim)?;
    // RFC 7519 section 4.1.4: the token must not be accepted on or after exp.
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(AuthError::IssuedInFuture);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => issuer.audiences.iter().any(|a| a == aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| issuer.audiences.iter().any(|a| a == aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(AuthError::WrongAudience);
    }
    Ok(Times { exp })
}

/// A NumericDate claim: absent, or a non-negative number of seconds
/// (fractions are allowed by RFC 7519 and truncated). Any other type is
/// malformed rather than ignored, so `"exp": "never"` cannot slip through.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(secs) = n.as_u64() {
                Ok(Some(secs))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => {
                        // Truncation toward zero is the intent.
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        Ok(Some(f as u64))
                    }
                    _ => Err(AuthError::Malformed),
                }
            }
        }
        Some(_) => Err(AuthError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn two_or_four_segments_are_malformed() {
        let h = seg(r#"{"alg":"HS256"}"#);
        let p = seg(r#"{"iss":"x"}"#);
        assert_eq!(
            parse(&format!("{h}.{p}")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            parse(&format!("{h}.{p}.c2ln.c2ln")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            parse(&format!("{h}.{p}.")).unwrap_err(),
            AuthError::Malformed
        );
    }

    #[test]
    fn padded_or_non_url_base64_is_malformed() {
        let p = seg(r#"{"iss":"x"}"#);
        let padded = format!("{}=", seg(r#"{"alg":"HS256"}"#));
        assert_eq!(
            parse(&format!("{padded}.{p}.c2ln")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            parse(&format!("a+b/.{p}.c2ln")).unwrap_err(),
            AuthError::Malformed
        );
    }

    #[test]
    fn crit_headers_are_refused() {
        let h = seg(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#);
        let p = seg(r#"{"iss":"x"}"#);
        assert_eq!(
            parse(&format!("{h}.{p}.c2ln")).unwrap_err(),
            AuthError::Malformed
        );
    }

    #[test]
    fn repeated_claims_or_header_fields_are_malformed() {
        let h = seg(r#"{"alg":"HS256"}"#);
        for p in [
            r#"{"iss":"x","sub":"alice","sub":"admin"}"#,
            r#"{"iss":"x","r\u006fle":"member","role":"admin"}"#,
        ] {
            let token = format!("{h}.{}.c2ln", seg(p));
            assert_eq!(parse(&token).unwrap_err(), AuthError::Malformed, "{p}");
        }
        let dup_alg = seg(r#"{"alg":"HS256","alg":"none"}"#);
        let token = format!("{dup_alg}.{}.c2ln", seg(r#"{"iss":"x"}"#));
        assert_eq!(parse(&token).unwrap_err(), AuthError::Malformed);
        let ok = format!("{h}.{}.c2ln", seg(r#"{"iss":"x","sub":"a","n":{"sub":1}}"#));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn numeric_dates_reject_strings_and_negatives() {
        let claims: Map<String, Value> =
            serde_json::from_str(r#"{"a":"soon","b":-1,"c":1.9,"d":5}"#).unwrap();
        assert_eq!(numeric_date(&claims, "a"), Err(AuthError::Malformed));
        assert_eq!(numeric_date(&claims, "b"), Err(AuthError::Malformed));
        assert_eq!(numeric_date(&claims, "c"), Ok(Some(1)));
        assert_eq!(numeric_date(&claims, "d"), Ok(Some(5)));
        assert_eq!(numeric_date(&claims, "e"), Ok(None));
    }
}
