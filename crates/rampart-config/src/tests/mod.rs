//! Behaviour tests: what files load to, what each mistake reports, how
//! hostile input fails, and that the published schema is current.

mod disclosure;
mod errors;
mod hostile;
mod limits;
mod monitoring;
mod parse;
mod schema;
mod telemetry;

use std::path::Path;

use crate::{ConfigError, LoadedConfig, load_str};

/// The file name tests load from; absolute, so resolved paths are exact.
pub(super) const FILE: &str = "/etc/rampart/rampart.yaml";

pub(super) fn load_ok(text: &str) -> LoadedConfig {
    match load_str(text, Path::new(FILE)) {
        Ok(loaded) => loaded,
        Err(errors) => panic!("expected the config to load, got:\n{errors}"),
    }
}

pub(super) fn load_errors(text: &str) -> Vec<ConfigError> {
    match load_str(text, Path::new(FILE)) {
        Ok(loaded) => panic!("expected errors, got {:?}", loaded.config),
        Err(errors) => errors.0,
    }
}

/// The only error `text` produces, as `(line, column, message)`.
pub(super) fn single_error(text: &str) -> (Option<usize>, Option<usize>, String) {
    let errors = load_errors(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let error = &errors[0];
    assert_eq!(error.file, Path::new(FILE));
    (error.line, error.column, error.message.clone())
}
