//! Rampart's data plane: a reverse proxy that enforces an API's OpenAPI
//! contract on every request and response.
//!
//! Built on hyper 1 and tokio rather than Pingora because the gateway must
//! read and judge a request body *before* contacting the upstream, and turn a
//! response into a refusal *after* reading its body; both are a bounded read,
//! a decision and a response here (see STYLE.md in the shared docs).
//!
//! The pipeline is in [`pipeline`], the typed decisions in [`decision`], the
//! compiled state and its reload in [`runtime`] and [`reload`].
#![forbid(unsafe_code)]

pub mod authz;
pub mod body;
pub mod control;
pub mod decision;
pub mod headers;
mod idle;
pub mod intake;
pub mod metrics;
pub mod pipeline;
pub mod reload;
pub mod runtime;
pub mod seclog;
pub mod server;
pub mod status_metrics;
pub mod tls;
pub mod traces;
pub mod upstream;

pub use control::{Control, LiveFeed, ModeOverrides};
pub use pipeline::Gateway;
pub use runtime::{Runtime, RuntimeError, RuntimeErrors};
pub use server::{Server, StartError, shutdown_signal};
