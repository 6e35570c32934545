//! One trusted issuer: its rules (audiences, algorithms, leeway, claim
//! names) and its keys, static or fetched.
//!
//! Fetched keys live in an `ArcSwap`, so verification reads them without a
//! lock. A token naming an unknown `kid` may trigger a refetch (keys rotate),
//! but refetches are serialized by a mutex and rate-limited to one per
//! `jwks_min_refresh_seconds`: otherwise a flood of tokens with random `kid`s
//! would turn the gateway into an amplifier against the identity provider.
//! Requests that arrive while a fetch is running wait for it and then look
//! again, so a rotation costs exactly one fetch however many callers notice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::Uri;
use jsonwebtoken::Algorithm;
use rampart_config::{ClaimNames, IssuerConfig};

use crate::error::{AuthError, IdentityError};
use crate::fetch::{self, FetchClient, FetchError};
use crate::keys::{self, VerifyKey};

/// Where an issuer's remote keys come from.
#[derive(Debug)]
enum Source {
    /// A configured JWKS URL.
    Jwks(Uri),
    /// `<issuer>/.well-known/openid-configuration`, which names the JWKS.
    Discovery(Uri),
}

/// A remote key source and its refresh bookkeeping.
#[derive(Debug)]
struct Remote {
    source: Source,
    min_refresh: Duration,
    state: tokio::sync::Mutex<RefreshState>,
}

#[derive(Debug, Default)]
struct RefreshState {
    /// When the last fetch started; the rate limit counts from here.
    last_attempt: Option<Instant>,
    /// Whether the last fetch succeeded.
    last_ok: bool,
}

/// One configured issuer, compiled.
#[derive(Debug)]
pub(crate) struct Issuer {
    pub(crate) name: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: u64,
    pub(crate) claims: ClaimNames,
    statics: Vec<Arc<VerifyKey>>,
    /// Static keys followed by the last fetched ones.
    keys: ArcSwap<Vec<Arc<VerifyKey>>>,
    remote: Option<Remote>,
}

/// The outcome of looking a token's key up in the current set.
enum Lookup {
    Found(Arc<VerifyKey>),
    /// A key has this `kid`, but not for this algorithm.
    WrongAlgorithm,
    NotFound,
}

impl Issuer {
    /// Compile an issuer: parse its algorithms, load its static keys and
    /// check its URLs. No network.
    pub(crate) fn new(
        cfg: &IssuerConfig,
        resolve: &dyn Fn(&Path) -> PathBuf,
    ) -> Result<Issuer, IdentityError> {
        let err = |reason: String| IdentityError::Issuer {
            issuer: cfg.issuer.clone(),
            reason,
        };
        if cfg.issuer.is_empty() {
            return Err(err("the issuer is empty".into()));
        }
        if cfg.audiences.is_empty() {
            return Err(err("list at least one audience".into()));
        }
        if cfg.algorithms.is_empty() {
            return Err(err("list at least one algorithm".into()));
        }
        let algorithms = cfg
            .algorithms
            .iter()
            .map(|a| keys::parse_algorithm(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let statics = cfg
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| keys::load_static(cfg, i, k, &algorithms, resolve).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let source = match (&cfg.jwks_url, cfg.discovery) {
            (Some(_), true) => return Err(err("set jwks_url or discovery, not both".into())),
            (Some(url), false) => Some(Source::Jwks(fetch::parse_url(url).map_err(err)?)),
            (None, true) => {
                fetch::parse_url(&cfg.issuer)
                    .map_err(|_| err("discovery needs the issuer to be an http(s) URL".into()))?;
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    cfg.issuer.trim_end_matches('/')
                );
                Some(Source::Discovery(fetch::parse_url(&url).map_err(err)?))
            }
            (None, false) => None,
        };
        if source.is_none() && statics.is_empty() {
            return Err(err("configure keys, jwks_url or discovery".into()));
        }
        if let Some(Source::Jwks(url) | Source::Discovery(url)) = &source
            && url.scheme_str() == Some("http")
        {
            tracing::warn!(
                issuer = %cfg.issuer,
                url = %url,
                "keys are fetched over plain http: anyone on the path can substitute them"
            );
        }
        if source.is_some() && cfg.jwks_min_refresh_seconds == 0 {
            tracing::warn!(
                issuer = %cfg.issuer,
                "jwks_min_refresh_seconds is 0: every token with an unknown kid fetches the keys"
            );
        }
        Ok(Issuer {
            name: cfg.issuer.clone(),
            audiences: cfg.audiences.clone(),
            algorithms,
            leeway: cfg.leeway_seconds,
            claims: cfg.claims.clone(),
            keys: ArcSwap::from_pointee(statics.clone()),
            statics,
            remote: source.map(|source| Remote {
                source,
                min_refresh: Duration::from_secs(cfg.jwks_min_refresh_seconds),
                state: tokio::sync::Mutex::new(RefreshState::default()),
            }),
        })
    }

    /// Whether this issuer fetches keys.
    pub(crate) fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The key for a token's `kid` and `alg`: an exact `kid` match (or, with
    /// no `kid`, the issuer's only key) whose type allows `alg`. An unknown
    /// `kid` may trigger one rate-limited refetch.
    pub(crate) async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        client: Option<&FetchClient>,
    ) -> Result<Arc<VerifyKey>, AuthError> {
        match self.lookup(kid, alg) {
            Lookup::Found(key) => return Ok(key),
            Lookup::WrongAlgorithm => return Err(AuthError::AlgorithmNotAllowed),
            Lookup::NotFound => {}
        }
        let (Some(remote), Some(client)) = (&self.remote, client) else {
            return Err(AuthError::UnknownKey);
        };
        let mut state = remote.state.lock().await;
        // Another request may have refreshed while this one waited.
        match self.lookup(kid, alg) {
            Lookup::Found(key) => return Ok(key),
            Lookup::WrongAlgorithm => return Err(AuthError::AlgorithmNotAllowed),
            Lookup::NotFound => {}
        }
        if let Some(at) = state.last_attempt
            && at.elapsed() < remote.min_refresh
        {
            return Err(if state.last_ok {
                AuthError::UnknownKey
            } else {
                AuthError::KeyUnavailable
            });
        }
        self.refresh_locked(remote, &mut state, client).await?;
        match self.lookup(kid, alg) {
            Lookup::Found(key) => Ok(key),
            Lookup::WrongAlgorithm => Err(AuthError::AlgorithmNotAllowed),
            Lookup::NotFound => Err(AuthError::UnknownKey),
        }
    }

    /// Fetch the keys now, whatever the rate limit (start-up and reload).
    pub(crate) async fn prefetch(&self, client: &FetchClient) -> Result<(), AuthError> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let mut state = remote.state.lock().await;
        self.refresh_locked(remote, &mut state, client).await
    }

    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        let keys = self.keys.load();
        let mut named = false;
        match kid {
            Some(kid) => {
                for key in keys.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
                    named = true;
                    if key.allows(alg) {
                        return Lookup::Found(Arc::clone(key));
                    }
                }
            }
            None => {
                if let [only] = keys.as_slice() {
                    named = true;
                    if only.allows(alg) {
                        return Lookup::Found(Arc::clone(only));
                    }
                }
            }
        }
        if named {
            Lookup::WrongAlgorithm
        } else {
            Lookup::NotFound
        }
    }

    async fn refresh_locked(
        &self,
        remote: &Remote,
        state: &mut RefreshState,
        client: &FetchClient,
    ) -> Result<(), AuthError> {
        state.last_attempt = Some(Instant::now());
        match self.fetch(remote, client).await {
            Ok(fetched) => {
                state.last_ok = true;
                tracing::info!(issuer = %self.name, keys = fetched.len(), "fetched signing keys");
                let mut all = self.statics.clone();
                all.extend(fetched.into_iter().map(Arc::new));
                self.keys.store(Arc::new(all));
                Ok(())
            }
            Err((url, error)) => {
                state.last_ok = false;
                tracing::warn!(issuer = %self.name, url = %url, %error, "cannot fetch signing keys");
                Err(AuthError::KeyUnavailable)
            }
        }
    }

    async fn fetch(
        &self,
        remote: &Remote,
        client: &FetchClient,
    ) -> Result<Vec<VerifyKey>, (Uri, FetchError)> {
        let jwks_url = match &remote.source {
            Source::Jwks(url) => url.clone(),
            Source::Discovery(url) => {
                let doc = fetch::get_json(client, url)
                    .await
                    .map_err(|e| (url.clone(), e))?;
                fetch::parse_discovery(&self.name, url, &doc).map_err(|e| (url.clone(), e))?
            }
        };
        let doc = fetch::get_json(client, &jwks_url)
            .await
            .map_err(|e| (jwks_url.clone(), e))?;
        fetch::parse_jwks(&self.name, &doc).map_err(|e| (jwks_url, e))
    }
}
