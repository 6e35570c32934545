//! Rampart's built-in demo: a deliberately leaky sample API, the contract it
//! *should* honour, and the bundle that puts Rampart in front of it.
//!
//! The sample API is modelled on the 2021 Peloton leak, where anyone could read
//! any rider's private profile and the first "fix" only asked for a login. It
//! reproduces that class of flaws on purpose (excessive data exposure, mass
//! assignment, shadow and zombie endpoints, verbose errors, method override)
//! so that [`walkthrough`] can show each leak directly and then the same
//! request stopped, or stripped, by the gateway enforcing [`RIDERS_SPEC`].
//!
//! The crate also ships the benchmark's fixed upstream ([`bench_upstream`]) and
//! spec ([`BENCH_SPEC`]), so the benchmark measures Rampart doing full
//! validation against an upstream that costs next to nothing.

#![forbid(unsafe_code)]

pub mod bench_upstream;
mod bundle;
mod http_util;
pub mod sample_api;
pub mod tokens;
pub mod walkthrough;

pub use bundle::{write_admin, write_bench_bundle, write_bundle};

/// The bundled OpenAPI 3.1 contract of the riders API: what the leaky sample
/// API is meant to expose, strict enough for the gateway to enforce.
pub const RIDERS_SPEC: &str = include_str!("../assets/riders.openapi.yaml");

/// The benchmark's OpenAPI 3.1 contract: closed, bounded schemas for
/// `GET /profile` and `POST /items`, so that "full validation" does real work.
pub const BENCH_SPEC: &str = include_str!("../assets/bench.openapi.yaml");
