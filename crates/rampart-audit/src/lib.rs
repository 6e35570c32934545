//! `rampart audit`: a static security review of OpenAPI documents, before
//! they ship.
//!
//! The audit reads the same compiled [`Contract`] the gateway enforces (with
//! validator compilation skipped: it only reads), so what it reviews is
//! exactly what will be enforced, and there is no second OpenAPI parser to
//! disagree with the first. Rules are grouped by OWASP API Security Top 10
//! 2023 category ([`catalog`]); each finding carries its rule, severity, a
//! JSON pointer and the file, line and column it points at.
//!
//! The pipeline for one document:
//!
//! 1. load, bundle (`$ref`s across files) and compile the contract;
//! 2. index it ([`walk`]): every schema once, at the pointer where it is
//!    written, with whether requests or responses use it;
//! 3. run the checks, which report into a sink that keeps one finding per
//!    rule and location;
//! 4. apply the rule config (disable, re-grade) and `x-rampart-ignore`;
//! 5. map pointers to lines ([`rampart_contract::source_map`]), sort, score.
#![forbid(unsafe_code)]

pub mod catalog;
mod checks;
pub mod cli;
pub mod finding;
pub mod locate;
pub mod report;
pub mod score;
pub mod settings;
pub mod suppress;
pub mod walk;

use std::path::{Path, PathBuf};

use rampart_contract::bundle::bundle_file_traced;
use rampart_contract::compile::compile_for_analysis;
use rampart_contract::{CompileOptions, Contract, ContractErrors};

pub use catalog::{AuditRule, Severity};
pub use finding::{Finding, SourceLocation};
pub use score::Score;
pub use settings::{RuleSetting, Settings};

/// Why a document could not be audited.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Loading, bundling or compiling failed.
    #[error("{errors}")]
    Load {
        /// The document.
        path: PathBuf,
        /// Every error, with file, pointer and position.
        errors: ContractErrors,
    },
}

/// The audit of one document.
#[derive(Debug, Clone)]
pub struct SpecReport {
    /// The root file, as given.
    pub path: PathBuf,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `openapi`.
    pub openapi: String,
    /// Number of operations.
    pub operations: usize,
    /// Findings that count, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// Findings silenced by `x-rampart-ignore`, same order.
    pub suppressed: Vec<Finding>,
    /// Scores.
    pub score: Score,
}

/// Audit one document.
pub fn audit_file(path: &Path, settings: &Settings) -> Result<SpecReport, AuditError> {
    let load = |errors| AuditError::Load {
        path: path.to_path_buf(),
        errors,
    };
    let (bundle, origins) = bundle_file_traced(path).map_err(load)?;

    let opts = CompileOptions {
        skip_validators: true,
        ..Default::default()
    };
    let contract = compile_for_analysis(bundle, &opts).map_err(load)?;
    let mut report = audit_contract(&contract, settings);
    locate::locate(path, &origins, &mut report.findings);
    locate::locate(path, &origins, &mut report.suppressed);

    report
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    report
        .suppressed
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(report)
}

/// Audit a compiled contract (findings without source locations).
pub fn audit_contract(contract: &Contract, settings: &Settings) -> SpecReport {
    let index = walk::Index::build(contract);
    let mut findings = Vec::new();
    let mut suppressed = Vec::new();
    for mut f in checks::run(&index).into_findings() {
        match settings.rule(f.rule) {
            RuleSetting::Off => continue,
            RuleSetting::On(s) => f.severity = s,
        }
        match suppress::suppressed(&contract.document, &f.pointer, f.rule) {
            Some(reason) => {
                f.suppressed = Some(reason);
                suppressed.push(f);
            }
            None => findings.push(f),
        }
    }
    let score = score::score(&findings, settings);
    SpecReport {
        path: contract.source.clone(),
        title: contract.title.clone(),
        version: contract.version.clone(),
        openapi: contract.openapi.clone(),
        operations: contract.operations.len(),
        findings,
        suppressed,
        score,
    }
}
