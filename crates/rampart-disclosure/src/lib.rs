//! Vulnerability disclosure: the process between a researcher's report and
//! a verified, disclosed fix, tied to the gateway and the scanner.
//!
//! The 2021 Peloton leak was a process failure as much as a code one: a
//! report taken, a partial fix shipped, the researcher told nothing, the
//! case closed 90 days later when a journalist asked. This crate gives API
//! owners that process as code:
//!
//! - [`security_txt`]: the RFC 9116 file from config, and the expiry check
//!   `rampart check` runs.
//! - [`intake`]: a transport-agnostic public handler (form, JSON, status
//!   pages) that the gateway mounts in a few lines. Size-limited,
//!   rate-limited per IP, capped in open reports, strictly validated; it
//!   stores plain text and renders every value escaped.
//! - [`store`]: the tracker in SQLite (embedded) or PostgreSQL, with an
//!   append-only history that triggers in the database enforce.
//! - [`state`]: the lifecycle and its legal transitions.
//! - [`sla`]: the SLA clock and reminders, each sent once.
//! - [`notify`]: signed (HMAC-SHA256) webhook notifications with retries
//!   and a bounded queue.
//! - [`service`]: [`Disclosures`], which ties the tracker, the contract's
//!   operations and the notifier together; the intake and the CLI use it.
//! - [`patch`]: virtual patches (a Cedar policy or a replacement config)
//!   validated and written where the gateway's hot reload picks them up.
//! - [`cli`]: `rampart disclosures ...`.

#![forbid(unsafe_code)]

pub mod cli;
mod error;
mod html;
pub mod intake;
pub mod notify;
pub mod patch;
mod problem;
pub mod report;
pub mod secret;
pub mod security_txt;
pub mod service;
pub mod sla;
pub mod state;
pub mod store;
mod time;

pub use error::DisclosureError;
pub use intake::{Intake, IntakeRequest, IntakeResponse};
pub use notify::{Notification, Notifier};
pub use report::{NewReport, Report, Severity};
pub use service::Disclosures;
pub use sla::SlaStatus;
pub use state::{Action, Evidence, State};
pub use store::Tracker;
