//! The contract: an OpenAPI 3.0 or 3.1 document loaded once, bundled into a
//! single self-contained document, and compiled into the model that every part
//! of Rampart reads — the gateway enforces it, the audit inspects it, the
//! scanner generates requests from it, and the inventory compares traffic with
//! it. None of them parses OpenAPI again.
//!
//! This crate knows nothing of the gateway: it has no I/O beyond reading the
//! documents, and no networking.
#![forbid(unsafe_code)]
// Load errors carry file, pointer and position; they are built at start-up
// and reload only, never on the request path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod bundle;
pub mod compile;
pub mod error;
pub mod operation;
pub mod params;
pub mod pointer;
pub mod router;
pub mod rules;
pub mod schema;
pub mod shape;
pub mod source;
pub mod source_map;
pub mod variant;

pub use compile::{CompileOptions, Contract, Matched, SecurityScheme};
pub use error::{ContractError, ContractErrorKind, ContractErrors};
pub use operation::{
    Issue, MediaSchema, Operation, ResponseLookup, is_json, media_essence, pick_media,
};
pub use params::{ParamLocation, Parameter};
pub use rules::Rule;
pub use variant::Dialect;
