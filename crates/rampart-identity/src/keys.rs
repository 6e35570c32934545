//! Verification keys, and the one rule that makes algorithm confusion
//! impossible: a key knows its own type, and is only ever used with the
//! algorithms of that type.
//!
//! The classic attacks trick a verifier into using a key with the wrong
//! algorithm: an RSA public key (public, so known to the attacker) used as an
//! HMAC secret (RS/HS confusion), or a P-384 key with ES256. Here every key
//! carries a [`KeyKind`] fixed when it is loaded (from the PEM's or the JWK's
//! own key type, never from a token), and [`VerifyKey::allows`] refuses every
//! algorithm outside that kind, and every algorithm other than the key's
//! declared `alg` when it has one.
//!
//! Keys come from configuration (static) or from a JWKS. Symmetric (`oct`)
//! keys are accepted only from configuration: a JWKS is published, so an HMAC
//! secret in one would let anyone mint tokens.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use rampart_config::{IssuerConfig, StaticKey};
use serde::Deserialize;

use crate::error::IdentityError;

/// The type of a key, which decides the only algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// An HMAC secret: HS256/384/512.
    Hmac,
    /// An RSA public key (at least 2048 bits): RS* and PS*.
    Rsa,
    /// A P-256 public key: ES256 only.
    EcP256,
    /// A P-384 public key: ES384 only.
    EcP384,
    /// An Ed25519 public key: EdDSA only.
    Ed25519,
}

impl KeyKind {
    /// Whether `alg` belongs to this kind of key.
    pub(crate) fn allows(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Hmac => matches!(alg, HS256 | HS384 | HS512),
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::EcP256 => alg == ES256,
            KeyKind::EcP384 => alg == ES384,
            KeyKind::Ed25519 => alg == EdDSA,
        }
    }

    /// The kind a configured algorithm needs (for static keys, whose type
    /// follows from their `alg`).
    fn for_algorithm(alg: Algorithm) -> KeyKind {
        use Algorithm::*;
        match alg {
            HS256 | HS384 | HS512 => KeyKind::Hmac,
            ES256 => KeyKind::EcP256,
            ES384 => KeyKind::EcP384,
            EdDSA => KeyKind::Ed25519,
            _ => KeyKind::Rsa,
        }
    }
}

/// A key ready to verify signatures.
#[derive(Debug, Clone)]
pub(crate) struct VerifyKey {
    /// The `kid` tokens name it by; an exact-match lookup key, nothing more.
    pub(crate) kid: Option<String>,
    /// The one algorithm this key is for, when known (always for static
    /// keys; a JWK's `alg` when it has one).
    pub(crate) alg: Option<Algorithm>,
    /// The key's type, from its own encoding.
    pub(crate) kind: KeyKind,
    /// The key material (its `Debug` is redacted by jsonwebtoken).
    pub(crate) key: DecodingKey,
}

impl VerifyKey {
    /// Whether this key may verify a signature made with `alg`.
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        self.kind.allows(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

/// Parse an algorithm name from configuration. `none` (in any case) is
/// refused by name so the error says why.
pub(crate) fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    if name.eq_ignore_ascii_case("none") {
        return Err("algorithm `none` is never accepted".into());
    }
    name.parse::<Algorithm>().map_err(|_| {
        format!(
            "unknown algorithm `{name}` (expected one of HS256, HS384, HS512, RS256, RS384, \
             RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
        )
    })
}

/// The shortest HMAC secret accepted for `alg`: the hash's output size, as
/// RFC 7518 §3.2 requires. A shorter secret can be brute-forced offline from
/// any one token.
fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Load one static key of `issuer`. `index` is the key's position, used to
/// name a key without `kid` in errors.
pub(crate) fn load_static(
    issuer: &IssuerConfig,
    index: usize,
    cfg: &StaticKey,
    allowed: &[Algorithm],
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<VerifyKey, IdentityError> {
    let label = cfg.kid.clone().unwrap_or_else(|| format!("#{}", index + 1));
    let err = |reason: String| IdentityError::Key {
        issuer: issuer.issuer.clone(),
        key: label.clone(),
        reason,
    };
    let alg = parse_algorithm(&cfg.alg).map_err(err)?;
    if !allowed.contains(&alg) {
        return Err(err(format!(
            "algorithm {alg:?} is not in the issuer's `algorithms`"
        )));
    }
    let kind = KeyKind::for_algorithm(alg);
    let key = if kind == KeyKind::Hmac {
        if cfg.public_key_file.is_some() {
            return Err(err(format!(
                "{alg:?} is an HMAC algorithm: set secret_env or secret_file, not public_key_file"
            )));
        }
        let secret = match (&cfg.secret_env, &cfg.secret_file) {
            (Some(var), None) => match std::env::var(var) {
                Ok(value) => value.into_bytes(),
                Err(_) => {
                    return Err(IdentityError::SecretEnvUnset {
                        issuer: issuer.issuer.clone(),
                        key: label,
                        var: var.clone(),
                    });
                }
            },
            (None, Some(file)) => {
                let mut bytes = read("secret file", &resolve(file))?;
                // Editors add a final newline; it is never part of a secret.
                while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    bytes.pop();
                }
                bytes
            }
            _ => return Err(err("set exactly one of secret_env and secret_file".into())),
        };
        if secret.len() < min_secret_len(alg) {
            return Err(err(format!(
                "the secret is {} bytes; {alg:?} needs at least {} (RFC 7518 section 3.2)",
                secret.len(),
                min_secret_len(alg)
            )));
        }
        DecodingKey::from_secret(&secret)
    } else {
        if cfg.secret_env.is_some() || cfg.secret_file.is_some() {
            return Err(err(format!(
                "{alg:?} verifies with a public key: set public_key_file, not a secret"
            )));
        }
        let Some(file) = &cfg.public_key_file else {
            return Err(err(format!("{alg:?} needs public_key_file")));
        };
        let path = resolve(file);
        let pem = read("key file", &path)?;
        public_key_from_pem(&pem, kind)
            .map_err(|reason| err(format!("{}: {reason}", path.display())))?
    };
    Ok(VerifyKey {
        kid: cfg.kid.clone(),
        alg: Some(alg),
        kind,
        key,
    })
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|source| IdentityError::ReadFile {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Decode a PEM public key of the expected kind. Private keys are refused
/// (the gateway only verifies; a private key does not belong on it), and so
/// are certificates (use the certificate's public key).
fn public_key_from_pem(pem: &[u8], kind: KeyKind) -> Result<DecodingKey, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not a PEM file".to_owned())?;
    let label = text
        .split_once("-----BEGIN ")
        .and_then(|(_, rest)| rest.split_once("-----"))
        .map(|(label, _)| label)
        .ok_or_else(|| "not a PEM file (no BEGIN line)".to_owned())?;
    if label.contains("PRIVATE") {
        return Err("holds a private key; configure the public key instead".into());
    }
    if label != "PUBLIC KEY" && label != "RSA PUBLIC KEY" {
        return Err(format!(
            "expected a PEM public key (BEGIN PUBLIC KEY), found BEGIN {label}"
        ));
    }
    match kind {
        KeyKind::Rsa => {
            let key = DecodingKey::from_rsa_pem(pem).map_err(|_| "not an RSA public key")?;
            let der = key
                .try_get_as_bytes()
                .map_err(|_| "not an RSA public key")?;
            let public =
                aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| "not an RSA public key")?;
            let parts = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(&public);
            check_rsa_modulus(&parts.n)?;
            Ok(DecodingKey::from_rsa_raw_components(&parts.n, &parts.e))
        }
        KeyKind::EcP256 | KeyKind::EcP384 => {
            let key = DecodingKey::from_ec_pem(pem).map_err(|_| "not an EC public key")?;
            let point_len = key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
            match (point_len, kind) {
                (65, KeyKind::EcP256) | (97, KeyKind::EcP384) => Ok(key),
                (65, _) => Err("is a P-256 key; its algorithm must be ES256".into()),
                (97, _) => Err("is a P-384 key; its algorithm must be ES384".into()),
                _ => Err("is not a P-256 or P-384 public key".into()),
            }
        }
        KeyKind::Ed25519 => {
            let key = DecodingKey::from_ed_pem(pem).map_err(|_| "not an Ed25519 public key")?;
            match key.try_get_as_bytes() {
                Ok(raw) if raw.len() == 32 => Ok(key),
                _ => Err("not an Ed25519 public key".into()),
            }
        }
        KeyKind::Hmac => Err("HMAC keys are secrets, not PEM files".into()),
    }
}

/// RSA keys under 2048 bits are factorable in practice; aws-lc would refuse
/// them at verification anyway, but saying so at load time is kinder.
fn check_rsa_modulus(n: &[u8]) -> Result<(), String> {
    let significant = n.iter().skip_while(|b| **b == 0).count();
    if significant < 256 {
        return Err(format!(
            "the RSA key is {} bits; at least 2048 are required",
            significant * 8
        ));
    }
    Ok(())
}

/// Turn one JWK from a JWKS into a key, or say why it is skipped. A JWKS
/// often holds keys this gateway cannot or must not use (encryption keys,
/// other curves); they are skipped one by one, not fatal to the set.
pub(crate) fn from_jwk(value: &serde_json::Value) -> Result<VerifyKey, String> {
    let jwk = Jwk::deserialize(value).map_err(|_| "not a valid JWK".to_owned())?;
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err("its `use` is not `sig`".into());
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err("its `key_ops` do not include `verify`".into());
    }
    let alg = match common.key_algorithm {
        None => None,
        Some(ka) => Some(
            Algorithm::try_from(ka)
                .map_err(|_| format!("its algorithm {ka} is not for signing"))?,
        ),
    };
    let (kind, key) = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            check_rsa_modulus(&b64(&p.n)?)?;
            let key = DecodingKey::from_rsa_components(&p.n, &p.e).map_err(|_| "bad RSA key")?;
            (KeyKind::Rsa, key)
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (kind, len) = match p.curve {
                EllipticCurve::P256 => (KeyKind::EcP256, 32),
                EllipticCurve::P384 => (KeyKind::EcP384, 48),
                _ => return Err(format!("curve {:?} is not supported", p.curve)),
            };
            if b64(&p.x)?.len() != len || b64(&p.y)?.len() != len {
                return Err("its coordinates do not fit its curve".into());
            }
            let key = DecodingKey::from_ec_components(&p.x, &p.y).map_err(|_| "bad EC key")?;
            (kind, key)
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            if p.curve != EllipticCurve::Ed25519 || b64(&p.x)?.len() != 32 {
                return Err("only Ed25519 OKP keys are supported".into());
            }
            let key = DecodingKey::from_ed_components(&p.x).map_err(|_| "bad OKP key")?;
            (KeyKind::Ed25519, key)
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are never taken from a JWKS".into());
        }
        _ => return Err("its key type is not supported".into()),
    };
    if let Some(alg) = alg
        && !kind.allows(alg)
    {
        return Err(format!("its `alg` {alg:?} does not match its key type"));
    }
    Ok(VerifyKey {
        kid: common.key_id.clone(),
        alg,
        kind,
        key,
    })
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| "a key parameter is not base64url".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_allows_only_its_own_algorithms() {
        use Algorithm::*;
        let all = [
            HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
        ];
        let allowed = |kind: KeyKind| -> Vec<Algorithm> {
            all.iter().copied().filter(|a| kind.allows(*a)).collect()
        };
        assert_eq!(allowed(KeyKind::Hmac), [HS256, HS384, HS512]);
        assert_eq!(
            allowed(KeyKind::Rsa),
            [RS256, RS384, RS512, PS256, PS384, PS512]
        );
        assert_eq!(allowed(KeyKind::EcP256), [ES256]);
        assert_eq!(allowed(KeyKind::EcP384), [ES384]);
        assert_eq!(allowed(KeyKind::Ed25519), [EdDSA]);
    }

    #[test]
    fn none_is_refused_by_name_in_any_case() {
        for name in ["none", "None", "NONE"] {
            assert!(
                parse_algorithm(name)
                    .unwrap_err()
                    .contains("never accepted")
            );
        }
        assert!(parse_algorithm("rs256").is_err());
        assert_eq!(parse_algorithm("EdDSA"), Ok(Algorithm::EdDSA));
    }

    #[test]
    fn jwks_oct_keys_and_encryption_keys_are_skipped() {
        let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"});
        assert!(from_jwk(&oct).unwrap_err().contains("oct"));
        let enc = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "use": "enc",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(from_jwk(&enc).unwrap_err().contains("use"));
        let mismatched = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "HS256",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(
            from_jwk(&mismatched)
                .unwrap_err()
                .contains("does not match")
        );
        let ok = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "e",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let key = from_jwk(&ok).unwrap();
        assert_eq!(key.kind, KeyKind::Ed25519);
        assert_eq!(key.kid.as_deref(), Some("e"));
    }
}
