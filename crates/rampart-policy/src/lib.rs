//! Authorization with Cedar.
//!
//! Contract firewalls stop requests that do not match the spec; a valid
//! token reading someone else's private profile matches the spec. This crate
//! decides *who may do what to which object*, in Cedar policies that say what
//! people mean:
//!
//! ```cedar
//! permit(principal, action == Action::"fullView", resource)
//!   when { resource.owner == principal || !resource.is_private || principal.role == "admin" };
//! ```
//!
//! - **Principals** are `User` entities built from the verified identity
//!   (id, role, roles, scopes, kind).
//! - **Actions** are the contract's operationIds, plus `fullView`, asked for
//!   every annotated object in a response to choose between the full and the
//!   restricted view.
//! - **Resources** are `Object` entities whose `owner`, `is_private` and `id`
//!   come from the request (`x-rampart-resource`) or from the upstream's
//!   response (`x-rampart-owner`, `x-rampart-private`, `x-rampart-id`).
//!   Unknown facts fail closed: an unknown owner is nobody, an unknown privacy
//!   flag is private.
//!
//! The Cedar schema is generated from the contract, and every policy is
//! validated against it when loaded, so a typo in an action or attribute is
//! a load error with file and line, never a silent deny at run time.
#![forbid(unsafe_code)]

mod engine;
mod schema;

pub use engine::{
    Phase, PolicyEngine, PolicyError, PolicyErrors, Query, Resource, Subject, Verdict,
};
pub use schema::{FULL_VIEW_ACTION, cedar_schema};
