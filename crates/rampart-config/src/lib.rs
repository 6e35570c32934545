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
mod disclosure;
mod error;
mod identity;
mod limits_config;
mod load;
mod locate;
mod monitoring;
mod reference;
mod telemetry;
mod types;
mod validate;
mod validate_disclosure;
mod validate_limits;

pub use error::{ConfigError, ConfigErrors};
pub use load::{LoadedConfig, MAX_CONFIG_BYTES, load, load_str};
pub use locate::{Position, SourceMap};
pub use reference::reference_markdown;
pub use telemetry::{OtlpConfig, OtlpProtocol, TelemetryConfig};
pub use types::*;

/// The published JSON Schema of the configuration (what
/// `docs/config.schema.json` holds), generated from the structs.
pub fn json_schema() -> serde_json::Value {
    sorted(schemars::schema_for!(Config).to_value())
}

/// The same value with every object's keys in sorted order. serde_json keeps
/// insertion order when any crate in the build enables its `preserve_order`
/// feature, so without this the published schema (and the reference
/// rendered from it) would depend on which crates were compiled together.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<(String, serde_json::Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;
