//! The API inventory (OWASP API9:2023, improper inventory management):
//! what recorded traffic shows against what the contract declares.
//!
//! Leaks like Peloton's come through the endpoints nobody lists: an old
//! `/v1` route left running, a debug endpoint, a deprecated operation still
//! in use. The gateway already records every exchange in the audit store
//! (routed or not); this crate reads a window of those events beside the
//! compiled contracts and reports:
//!
//! - per declared operation: volume, first and last call, the
//!   authentication actually seen (anonymous, API key ids, JWT issuers),
//!   statuses and error rates, Rampart's decisions and rules;
//! - **shadow endpoints**: unrouted traffic clustered into templates by
//!   inferring path parameters ([`template`]);
//! - **zombie candidates**: operations never called, deprecated ones still
//!   called, and shadow endpoints that are an old version of a declared one;
//! - **sensitive data**: the classes of data ([`classify`]) seen in sampled
//!   responses per operation and field, marked where no owner or
//!   visibility rule guards them. Only classes reach the store, never values.
//!
//! [`draft::draft_openapi`] writes an OpenAPI 3.1 draft of the shadow
//! endpoints (learn mode). The [`Inventory`] is plain serde data, so the
//! CLI's `--json` and the admin API serve the same thing.
//!
//! For the gateway, [`FieldSampler`] is the response-phase hook: one
//! increment per response, a classification for one in N.
#![forbid(unsafe_code)]
// Contract load errors carry file, pointer and position; they are built once
// per run, so their size does not matter.
#![allow(clippy::result_large_err)]

mod build;
pub mod classify;
pub mod cli;
mod cluster;
pub mod draft;
pub mod model;
mod protection;
mod sampler;
pub mod template;
pub mod text;

use std::path::PathBuf;
use std::time::SystemTime;

use rampart_config::LoadedConfig;
use rampart_contract::bundle::bundle_file;
use rampart_contract::compile::compile_for_analysis;
use rampart_contract::{CompileOptions, ContractErrors};
use rampart_store::{Store, StoreError};

pub use build::{ApiContract, ApiRef, Builder, shadow_key};
pub use classify::{DataClass, FieldClass, classify};
pub use model::Inventory;
pub use sampler::{FieldSampler, MAX_PENDING, SamplerFlusher};

/// Why an inventory could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The configuration does not load.
    #[error("{0}")]
    Config(String),
    /// An API's contract does not load.
    #[error("the contract of API `{api}` ({}) does not load:\n{errors}", path.display())]
    Contract {
        /// The API's name.
        api: String,
        /// The spec file.
        path: PathBuf,
        /// Every error, with file, pointer and position.
        errors: ContractErrors,
    },
    /// The audit store could not be opened or read.
    #[error("audit store: {0}")]
    Store(#[from] StoreError),
    /// The audit store could not be opened or read (named).
    #[error("{store}: {source}")]
    StoreAt {
        /// Which store the configuration names.
        store: String,
        /// The cause.
        source: StoreError,
    },
    /// The draft could not be serialized.
    #[error("cannot render the draft: {0}")]
    Render(String),
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Compiles, for analysis, the contract of every API the configuration
/// names (with the API's `base_path` override, as the gateway does).
pub fn load_apis(config: &LoadedConfig) -> Result<Vec<ApiContract>, InventoryError> {
    let mut apis = Vec::with_capacity(config.config.apis.len());
    for api in &config.config.apis {
        let path = config.resolve(&api.spec);
        let fail = |errors| InventoryError::Contract {
            api: api.name.clone(),
            path: path.clone(),
            errors,
        };
        let bundle = bundle_file(&path).map_err(fail)?;
        let opts = CompileOptions {
            base_path: api.base_path.clone(),
            skip_validators: true,
        };
        let contract = compile_for_analysis(bundle, &opts).map_err(fail)?;
        apis.push(ApiContract {
            name: api.name.clone(),
            contract,
        });
    }
    Ok(apis)
}

/// The inventory of `apis` over the events of `[since, until)` in `store`,
/// with the field classes last seen in the window.
pub async fn collect(
    store: &Store,
    apis: &[ApiContract],
    since: Option<SystemTime>,
    until: SystemTime,
) -> Result<Inventory, InventoryError> {
    collect_with(store, Builder::new(apis, since, until)).await
}

/// [`collect`] over a builder made with [`Builder::over`] (contracts the
/// caller already holds, such as the gateway runtime's for the admin API).
pub async fn collect_with(
    store: &Store,
    mut builder: Builder<'_>,
) -> Result<Inventory, InventoryError> {
    let (since, until) = builder.window();
    store
        .scan(since, Some(until), |event| builder.add(&event))
        .await?;
    let fields = if store.keeps_field_classes() {
        store.field_classes(since).await?
    } else {
        Vec::new()
    };
    Ok(builder.finish(&fields))
}
