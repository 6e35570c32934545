//! Who is calling: turns a bearer JWT or an API key into a [`Principal`],
//! or refuses it with an [`AuthError`] that names the failed check.
//!
//! This crate decides authentication only. What the principal may do
//! (scopes per operation, Cedar policies, object ownership) is decided by
//! the phases that consume the principal.
//!
//! # The threats this design addresses
//!
//! - **Forged tokens through algorithm tricks.** `alg: none` never parses
//!   into an algorithm; every key carries its own type and verifies only
//!   that type's algorithms, so an RSA public key can never serve as an HMAC
//!   secret (RS/HS confusion); and each issuer has an allowlist.
//! - **Keys supplied by the token.** The header's `jku`, `x5u`, `jwk` and
//!   `x5c` are never read; `kid` is only an exact-match lookup key.
//! - **Cross-issuer confusion.** The issuer is chosen by exact `iss` match
//!   before verification, and the token is then verified with that issuer's
//!   keys only, so issuer A's key can never vouch for a token claiming B.
//! - **Replay of stolen or stale tokens.** `exp` is required; `nbf`, `iat`
//!   and `aud` are checked with the issuer's leeway; revoked `jti`s are
//!   refused on every request, cached or not.
//! - **Resource exhaustion.** Oversized tokens are refused before parsing;
//!   JWKS fetches are rate-limited, bounded in time and size, and never
//!   follow redirects; the token cache is bounded.
//! - **Secret leakage.** Secrets and API key hashes never appear in errors,
//!   logs or `Debug` output; API keys are stored hashed and compared in
//!   constant time.
#![forbid(unsafe_code)]

mod api_keys;
mod authenticator;
mod cache;
mod error;
mod fetch;
mod issuer;
mod keys;
mod principal;
mod token;

#[cfg(test)]
mod tests;

pub use api_keys::{generate_api_key, hash_api_key};
pub use authenticator::Authenticator;
pub use error::{AuthError, IdentityError};
pub use principal::{Principal, PrincipalKind};
