//! [`Authenticator`]: everything needed to turn a credential into a
//! [`Principal`], compiled once per configuration load.
//!
//! A bearer token goes through these steps, each with its own [`AuthError`]:
//!
//! 1. size (`TooLarge`, before any parsing), then the cache: a hit re-checks
//!    only expiry and revocation;
//! 2. shape: three base64url segments, JSON header and payload (`Malformed`),
//!    and an `alg` that exists and is not `none` (`AlgorithmNotAllowed`);
//! 3. the issuer, chosen by exact match of the unverified `iss`
//!    (`UnknownIssuer`), whose allowlist must hold `alg`;
//! 4. the key: that issuer's key with the token's `kid`, of a type that
//!    allows `alg` (`UnknownKey`, `AlgorithmNotAllowed`, `KeyUnavailable`);
//! 5. the signature (`BadSignature`), and only then the claims: `exp`,
//!    `nbf`, `iat`, `aud`, the subject (`Expired`, ...), and the `jti`
//!    denylist (`Revoked`).
//!
//! Verifying the signature before judging any claim means that an
//! unauthenticated caller learns nothing from the error beyond "your token
//! is not signed by a key we trust".

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_config::IdentityConfig;
use serde_json::Value;

use crate::api_keys::ApiKeys;
use crate::cache::{self, TokenCache};
use crate::error::{AuthError, IdentityError};
use crate::fetch::{self, FetchClient};
use crate::issuer::Issuer;
use crate::principal::{self, Principal, PrincipalKind};
use crate::token;

/// The source of "now", in Unix seconds. Injected so tests can move time
/// without sleeping.
pub(crate) type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Built once per config (re)load; shared by every worker thread.
///
/// It holds no secret in a form that `Debug` prints: issuers are listed by
/// name, and keys, secrets and hashes not at all.
pub struct Authenticator {
    issuers: HashMap<String, Issuer>,
    max_token_bytes: usize,
    revoked: HashSet<String>,
    api_keys: ApiKeys,
    cache: Option<TokenCache>,
    client: Option<FetchClient>,
    clock: Clock,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut issuers: Vec<&str> = self.issuers.keys().map(String::as_str).collect();
        issuers.sort_unstable();
        f.debug_struct("Authenticator")
            .field("issuers", &issuers)
            .field("api_keys", &self.api_keys.len())
            .field("revoked_jtis", &self.revoked.len())
            .field("max_token_bytes", &self.max_token_bytes)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Load static keys (secrets from the environment or files; PEM public
    /// keys), the API key file and the revoked-`jti` file. `resolve` turns
    /// configuration-relative paths into real ones. No network: remote keys
    /// are fetched by [`Authenticator::prefetch`] or on first use.
    pub fn new(
        cfg: &IdentityConfig,
        resolve: impl Fn(&Path) -> PathBuf,
    ) -> Result<Authenticator, IdentityError> {
        let mut issuers = HashMap::with_capacity(cfg.issuers.len());
        for issuer_cfg in &cfg.issuers {
            let issuer = Issuer::new(issuer_cfg, &resolve)?;
            if issuers.insert(issuer.name.clone(), issuer).is_some() {
                return Err(IdentityError::Issuer {
                    issuer: issuer_cfg.issuer.clone(),
                    reason: "listed twice".into(),
                });
            }
        }
        let client = if issuers.values().any(Issuer::is_remote) {
            Some(fetch::client()?)
        } else {
            None
        };
        let api_keys = match &cfg.api_keys_file {
            Some(file) => ApiKeys::load(&resolve(file))?,
            None => ApiKeys::default(),
        };
        let revoked = match &cfg.revoked_jtis_file {
            Some(file) => load_revoked(&resolve(file))?,
            None => HashSet::new(),
        };
        Ok(Authenticator {
            issuers,
            max_token_bytes: cfg.max_token_bytes,
            revoked,
            api_keys,
            cache: (cfg.token_cache_entries > 0).then(|| TokenCache::new(cfg.token_cache_entries)),
            client,
            clock: Arc::new(system_clock),
        })
    }

    /// Replace the clock (tests).
    #[cfg(test)]
    pub(crate) fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Revoke a `jti` after construction (tests: revocation of a token that
    /// is already cached).
    #[cfg(test)]
    pub(crate) fn revoke(&mut self, jti: &str) {
        self.revoked.insert(jti.to_owned());
    }

    /// Verify a bearer token (the part after `Bearer `) and return its
    /// principal.
    ///
    /// May fetch the issuer's JWKS (or discovery document) when the token
    /// names an unknown `kid`, at most once per the issuer's
    /// `jwks_min_refresh_seconds`, within 5 s and 1 MiB, following no
    /// redirects. Verified tokens are cached until they expire.
    pub async fn verify_bearer(&self, token: &str) -> Result<Principal, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge);
        }
        let now = (self.clock)();
        let digest = self.cache.as_ref().map(|_| cache::digest(token));
        if let (Some(cache), Some(digest)) = (&self.cache, &digest)
            && let Some(hit) = cache.get(digest)
        {
            if now >= hit.invalid_from {
                cache.remove(digest);
                return Err(AuthError::Expired);
            }
            self.check_not_revoked(hit.principal.token_id.as_deref())?;
            return Ok(hit.principal.clone());
        }

        let unverified = token::parse(token)?;
        let issuer = unverified
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.issuers.get(iss))
            .ok_or(AuthError::UnknownIssuer)?;
        if !issuer.algorithms.contains(&unverified.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let key = issuer
            .key_for(
                unverified.kid.as_deref(),
                unverified.alg,
                self.client.as_ref(),
            )
            .await?;
        // `key_for` only returns keys whose type allows `alg`; checked again
        // here because this line is where confusion would do its damage.
        if !key.allows(unverified.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let valid = jsonwebtoken::crypto::verify(
            unverified.signature,
            unverified.signing_input.as_bytes(),
            &key.key,
            unverified.alg,
        );
        match valid {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::BadSignature),
            Err(e) => {
                return Err(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => AuthError::Malformed,
                    _ => AuthError::BadSignature,
                });
            }
        }

        let times = token::check_claims(&unverified.claims, issuer, now)?;
        let principal = build_principal(issuer, unverified.claims, times.exp)?;
        self.check_not_revoked(principal.token_id.as_deref())?;
        if let (Some(cache), Some(digest)) = (&self.cache, digest) {
            let invalid_from = times.exp.saturating_add(issuer.leeway);
            cache.insert(digest, principal.clone(), invalid_from, now);
        }
        Ok(principal)
    }

    /// Look up an API key: SHA-256 of the presented key, compared in
    /// constant time with every stored hash.
    pub fn verify_api_key(&self, presented: &str) -> Result<Principal, AuthError> {
        if presented.is_empty() {
            return Err(AuthError::Missing);
        }
        if presented.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge);
        }
        self.api_keys
            .verify(presented)
            .ok_or(AuthError::UnknownApiKey)
    }

    /// Fetch the JWKS (through discovery where configured) of every issuer
    /// that uses one, concurrently. Call at start-up and after a reload so
    /// the first requests do not wait for the identity provider. Failures
    /// are returned (and logged with their cause), not fatal: the gateway
    /// can start and fetch again when a token needs the keys.
    pub async fn prefetch(&self) -> Vec<(String, AuthError)> {
        let Some(client) = &self.client else {
            return Vec::new();
        };
        let mut remote: Vec<&Issuer> = self.issuers.values().filter(|i| i.is_remote()).collect();
        remote.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let results =
            futures_util::future::join_all(remote.iter().map(|issuer| issuer.prefetch(client)))
                .await;
        remote
            .iter()
            .zip(results)
            .filter_map(|(issuer, result)| result.err().map(|e| (issuer.name.clone(), e)))
            .collect()
    }

    fn check_not_revoked(&self, jti: Option<&str>) -> Result<(), AuthError> {
        match jti {
            Some(jti) if self.revoked.contains(jti) => Err(AuthError::Revoked),
            _ => Ok(()),
        }
    }
}

/// The principal of a verified token. The subject is required: an
/// authenticated caller without an id could never own anything, and an
/// empty id must stay reserved for the anonymous caller.
fn build_principal(
    issuer: &Issuer,
    claims: serde_json::Map<String, Value>,
    exp: u64,
) -> Result<Principal, AuthError> {
    let id = match claims.get(&issuer.claims.subject) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(AuthError::MissingClaim),
    };
    let token_id = match claims.get("jti") {
        None => None,
        Some(Value::String(jti)) => Some(jti.clone()),
        Some(_) => return Err(AuthError::Malformed),
    };
    Ok(Principal {
        kind: PrincipalKind::Jwt {
            issuer: issuer.name.clone(),
        },
        id,
        roles: principal::roles_from(claims.get(&issuer.claims.roles)),
        scopes: principal::scopes_from(claims.get(&issuer.claims.scopes)),
        claims,
        token_id,
        expires_at: Some(exp),
    })
}

/// Read the revoked-`jti` file: one id per line, `#` starts a comment,
/// blank lines are skipped.
fn load_revoked(path: &Path) -> Result<HashSet<String>, IdentityError> {
    let text = std::fs::read_to_string(path).map_err(|source| IdentityError::ReadFile {
        what: "revoked jti file",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|line| {
            line.split_once('#')
                .map_or(line, |(before, _)| before)
                .trim()
        })
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}
