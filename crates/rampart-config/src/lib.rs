//! Rampart's configuration: one YAML file, its typed structs, its loader and
//! its published JSON Schema.
//!
//! - [`Config`] and the structs below it are the one definition of the
//!   format. The loader, the JSON Schema ([`json_schema`], published as
//!   `docs/config.schema.json`) and the reference documentation (their doc
//!   comments) all come from them, so none can drift from the code.
//! - [`load`] / [`load_str`]: read, parse and validate, returning either a
//!   [`LoadedConfig`] or every problem found as [`ConfigErrors`], each with
//!   file, line, column and cause.
//!
//! Loading does not touch the files the configuration names (specs, TLS
//! material): the caller checks those, at start-up and on every reload, using
//! [`LoadedConfig::referenced_files`] and [`LoadedConfig::error_at`] to report
//! problems at the right line.
//!
//! ```
//! let text = "apis: [{name: riders, spec: riders.yaml, upstream: 'http://127.0.0.1:3000'}]";
//! let loaded = rampart_config::load_str(text, "/etc/rampart/rampart.yaml".as_ref()).unwrap();
//! assert_eq!(loaded.config.apis[0].name, "riders");
//! assert_eq!(
//!     loaded.resolve(&loaded.config.apis[0].spec),
//!     std::path::Path::new("/etc/rampart/riders.yaml"),
//! );
//! ```

#![forbid(unsafe_code)]

mod admin;
mod error;
mod identity;
mod limits_config;
mod load;
mod locate;
mod monitoring;
mod reference;
mod types;
mod validate;
mod validate_limits;

pub use error::{ConfigError, ConfigErrors};
pub use load::{LoadedConfig, MAX_CONFIG_BYTES, load, load_str};
pub use locate::{Position, SourceMap};
pub use reference::reference_markdown;
pub use types::*;

/// The published JSON Schema of the configuration (what
/// `docs/config.schema.json` holds), generated from the structs.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(Config).to_value()
}

#[cfg(test)]
mod tests;
