//! Rate limits for the gateway's throttle phase (pipeline phase 5): GCRA
//! limits keyed on principal, API key, client address, operation, claim,
//! header or body field, in process or shared by every instance through
//! Redis. OWASP API4:2023 (unrestricted resource consumption) and, with
//! `on: failure` limits, credential stuffing (API2).
//!
//! - [`Limiter`] is compiled once per configuration load
//!   ([`Limiter::from_config`], plus each operation's
//!   `x-rampart-rate-limit` through [`from_extension`]) and shared by every
//!   worker. [`Limiter::check`] returns a [`Verdict`]: allowed or not, the
//!   refusing limit, `Retry-After`, and the `RateLimit-Policy`/`RateLimit`
//!   headers.
//! - In process, [governor]'s GCRA decides over a bounded table of keys
//!   (`local.rs`). With `cluster.redis_url`, one atomic Lua script decides
//!   for every applicable limit in one round-trip (`cluster.rs`,
//!   `gcra.lua`); when Redis is away the limiter fails open to the local
//!   buckets or fails closed, as configured, and recovers by itself.
//! - [`client_ip`] / [`TrustedProxies`] find the client's address behind
//!   trusted proxies, and only there.
//!
//! Why GCRA: it needs one number per key (the theoretical arrival time),
//! has no window edges to game, and the same arithmetic runs in governor and
//! in the Redis script, so a fallback changes where state lives, not what
//! the limit means.

#![forbid(unsafe_code)]

mod client_ip;
mod cluster;
mod error;
mod headers;
mod key;
mod limiter;
mod local;
mod rule;
mod verdict;

pub use client_ip::{TrustedProxies, client_ip};
pub use cluster::RedisStatus;
pub use error::BuildError;
pub use headers::{RATELIMIT, RATELIMIT_POLICY, RateLimitHeaders};
pub use key::{KeyContext, grouped};
pub use limiter::{Backend, Limiter, LimiterBuilder, LimiterStats, Verdict};
pub use rule::{RuleSpec, from_extension};

#[cfg(test)]
mod tests;
