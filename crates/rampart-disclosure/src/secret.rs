//! Status tokens and webhook signatures.
//!
//! A status token is the reporter's only credential: 256 bits from the
//! system CSPRNG, base64url without padding. Only its SHA-256 is stored,
//! so a leaked database reveals no working link; the stored hash is
//! compared in constant time. Webhook bodies are signed with HMAC-SHA256
//! so a receiver can tell Rampart's notifications from forgeries.

use aws_lc_rs::{constant_time, digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of randomness in a status token.
const TOKEN_BYTES: usize = 32;

/// A freshly issued status token: the text for the reporter and the hash
/// for the store.
#[derive(Clone)]
pub struct IssuedToken {
    /// base64url text, shown once to the reporter.
    pub token: String,
    /// SHA-256 of the token text, hex: what the store keeps.
    pub hash: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Issues a new token from the system CSPRNG.
pub fn issue_token() -> Result<IssuedToken, RandomError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes).map_err(|_| RandomError)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    Ok(IssuedToken { token, hash })
}

/// SHA-256 of `token`'s text, hex. Any text hashes (a malformed guess takes
/// the same path as a well-formed one).
pub fn token_hash(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// Whether two hashes are equal, in time independent of where they differ.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// The `X-Rampart-Signature` value for `body` under `key`: `sha256=<hex>`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    format!("sha256={}", hex(hmac::sign(&key, body).as_ref()))
}

/// Checks a signature made by [`sign`], in constant time (for receivers
/// written in Rust, and for tests).
pub fn verify_signature(key: &[u8], body: &[u8], signature: &str) -> bool {
    hashes_equal(&sign(key, body), signature)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_hash_stably() {
        let a = issue_token().unwrap();
        let b = issue_token().unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43, "256 bits in base64url without padding");
        assert!(
            a.token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(token_hash(&a.token), a.hash);
        assert!(hashes_equal(&a.hash, &token_hash(&a.token)));
        assert!(!hashes_equal(&a.hash, &b.hash));
    }

    #[test]
    fn signatures_verify_only_with_the_key_and_body() {
        let sig = sign(b"key", b"{}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify_signature(b"key", b"{}", &sig));
        assert!(!verify_signature(b"other", b"{}", &sig));
        assert!(!verify_signature(b"key", b"{ }", &sig));
    }
}
