//! The verified-token cache: a signature is checked once per token, not once
//! per request.
//!
//! Entries are keyed by the SHA-256 of the whole token, so the cache never
//! holds a usable credential, and a token differing in a single byte (a
//! tampered payload, another signature) is a different entry that must be
//! verified in full. Each entry expires with its token (`exp` plus leeway);
//! the cache is bounded by `token_cache_entries`. Because the time-to-live
//! is only as precise as moka's timer wheel, and revocation can be added to
//! a token already cached, a hit is never trusted on its own: the caller
//! re-checks `exp` and the denylist every time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::principal::Principal;

/// SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

/// Hash a token for use as a cache key.
pub(crate) fn digest(token: &str) -> TokenDigest {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref(),
    );
    out
}

/// What a cache hit yields.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) principal: Principal,
    /// The first second at which the token is no longer accepted
    /// (`exp` plus the issuer's leeway).
    pub(crate) invalid_from: u64,
    ttl: Duration,
}

struct UntilExpiry;

impl Expiry<TokenDigest, Arc<Cached>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        value: &Arc<Cached>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A bounded cache of verified tokens.
pub(crate) struct TokenCache {
    inner: Cache<TokenDigest, Arc<Cached>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens.
    pub(crate) fn new(capacity: u64) -> Self {
        TokenCache {
            inner: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// The cached verification of the token with this digest, if any.
    pub(crate) fn get(&self, key: &TokenDigest) -> Option<Arc<Cached>> {
        self.inner.get(key)
    }

    /// Forget a token (once it is found expired).
    pub(crate) fn remove(&self, key: &TokenDigest) {
        self.inner.invalidate(key);
    }

    /// Remember a verified token until `invalid_from` (Unix seconds), given
    /// that it is now `now`.
    pub(crate) fn insert(
        &self,
        key: TokenDigest,
        principal: Principal,
        invalid_from: u64,
        now: u64,
    ) {
        let ttl = Duration::from_secs(invalid_from.saturating_sub(now));
        if ttl.is_zero() {
            return;
        }
        self.inner.insert(
            key,
            Arc::new(Cached {
                principal,
                invalid_from,
                ttl,
            }),
        );
    }
}
