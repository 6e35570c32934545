//! `rampart scan`: an active security scanner that tests a running API as
//! two identities, driven by its OpenAPI contract.
//!
//! The contract (read once, by `rampart-contract`) says which operations
//! exist, which objects belong to whom (`x-rampart-*`), which properties
//! are read-only or role-restricted, and what responses may hold. The
//! scanner first reads every identity's own objects (the baseline), then
//! runs each check family in `checks/`. Every finding pairs a probe with a
//! control request that rules out the benign explanation, so a report can
//! be acted on without re-testing by hand; the same findings become a
//! gateway virtual patch ([`patch`]).
//!
//! Safe by default: without `allow_writes` nothing but GET and HEAD is sent
//! (the client refuses), and no check ever deletes or changes credentials.
#![forbid(unsafe_code)]

pub mod checks;
pub mod cli;
pub mod client;
pub mod diff;
pub mod error;
pub mod exchange;
pub mod finding;
pub mod identity;
pub mod patch;
pub mod plan;
pub mod report;
pub mod signatures;
pub mod verify;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::ProgressBar;
use rampart_contract::compile::compile_for_analysis;
use rampart_contract::{CompileOptions, Contract};
use serde::Serialize;

pub use error::ScanError;
pub use finding::{Check, Evidence, Finding, Owasp, Severity};
pub use identity::Identity;

use checks::Ctx;
use client::{Client, Limits, LoginRoute};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// The OpenAPI document.
    pub spec: PathBuf,
    /// The target's origin (`http://127.0.0.1:3000`); the spec's server path is appended.
    pub target: String,
    /// The identities, at least one (two for BOLA).
    pub identities: Vec<Identity>,
    /// Principal ids given by hand (`--principal-id alice=2`), over the JWT's `sub`.
    pub principals: BTreeMap<String, String>,
    /// Known ids by parameter name.
    pub seeds: BTreeMap<String, Vec<String>>,
    /// Operations that touch credentials or sessions which writes may
    /// still target, named explicitly (`--allow-operation`).
    pub allowed_operations: Vec<String>,
    /// Request budget.
    pub max_requests: usize,
    /// Requests per second (0: unpaced).
    pub rps: f64,
    /// Send PATCH/PUT/POST (never DELETE).
    pub allow_writes: bool,
    /// Requests in a rate-limit burst (0 turns that check off).
    pub burst: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Show progress bars on stderr.
    pub progress: bool,
}

/// A finished scan.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The spec's title.
    pub api: String,
    /// The target scanned.
    pub target: String,
    /// Requests sent.
    pub requests: usize,
    /// Whether `max_requests` ran out (later checks then sent less, or nothing).
    pub budget_spent: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Whether writes were allowed.
    pub allow_writes: bool,
    /// Identities' reads of their own objects that succeeded (the baseline
    /// every check compares against): a scan with none tested nothing.
    pub baseline_reads: usize,
    /// Checks run.
    pub checks_run: Vec<Check>,
    /// Findings, sorted.
    pub findings: Vec<Finding>,
}

/// A fresh, short, unique token for markers and canary paths.
pub fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{nanos:x}{n:x}", std::process::id())
}

/// Load the spec through the contract crate.
pub fn load_contract(spec: &std::path::Path) -> Result<Contract, ScanError> {
    let bundle = rampart_contract::bundle::bundle_file(spec).map_err(|e| ScanError::Spec {
        path: spec.to_path_buf(),
        errors: e.to_string(),
    })?;
    compile_for_analysis(bundle, &CompileOptions::default()).map_err(|e| ScanError::Spec {
        path: spec.to_path_buf(),
        errors: e.to_string(),
    })
}

/// Run a scan.
pub async fn scan(config: ScanConfig) -> Result<Report, ScanError> {
    let started = Instant::now();
    let contract = load_contract(&config.spec)?;
    let ops = plan::plan(&contract);
    let mut identities = config.identities.clone();
    for id in &mut identities {
        if let Some(p) = config.principals.get(&id.name) {
            id.principal = Some(p.clone());
        }
    }
    let logins: HashMap<String, LoginRoute> = ops
        .iter()
        .map(|o| {
            (
                o.id.clone(),
                LoginRoute {
                    method: o.method.clone(),
                    path: o.route.clone(),
                },
            )
        })
        .filter(|(id, _)| {
            identities.iter().any(|i| {
                matches!(&i.credential, identity::Credential::Login { operation, .. } if operation == id)
            })
        })
        .collect();
    let progress = if config.progress {
        let bar = ProgressBar::new(config.max_requests as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg:<24} [{bar:30}] {pos}/{len} requests {elapsed}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let client = Client::new(
        &config.target,
        identities,
        logins,
        Limits {
            max_requests: config.max_requests,
            rps: config.rps,
            allow_writes: config.allow_writes,
            timeout: config.timeout,
        },
        progress,
    )?;
    for (i, id) in client.identities().iter().enumerate() {
        if matches!(id.credential, identity::Credential::Login { .. }) {
            client.login(i).await?;
        }
    }
    let canary = checks::ssrf::Canary::start().await?;
    let mut ctx = Ctx {
        client: &client,
        contract: &contract,
        ops,
        seeds: config.seeds.clone(),
        allowed_operations: config.allowed_operations.clone(),
        burst: config.burst,
        baseline: Vec::new(),
    };
    let bar = client.progress().clone();
    bar.set_message("baseline");
    ctx.collect_baseline().await;
    let mut findings = Vec::new();
    let mut checks_run = Vec::new();
    macro_rules! run {
        ($check:expr, $name:literal, $fut:expr) => {{
            bar.set_message($name);
            findings.extend($fut.await);
            checks_run.push($check);
        }};
    }
    run!(
        Check::MissingAuthentication,
        "missing authentication",
        checks::authn::run(&ctx)
    );
    run!(Check::BolaRead, "BOLA (read)", checks::bola::read(&ctx));
    run!(Check::Bfla, "BFLA", checks::bfla::run(&ctx));
    run!(
        Check::DataExposure,
        "data exposure",
        checks::exposure::run(&ctx)
    );
    run!(Check::Jwt, "JWT", checks::jwt::run(&ctx));
    run!(
        Check::VerboseError,
        "verbose errors",
        checks::errors::run(&ctx)
    );
    run!(Check::Injection, "injection", checks::injection::run(&ctx));
    run!(Check::Ssrf, "SSRF", checks::ssrf::run(&ctx, &canary));
    run!(
        Check::ShadowEndpoint,
        "shadow endpoints",
        checks::shadow::run(&ctx)
    );
    run!(
        Check::Headers,
        "CORS and headers",
        checks::headers::run(&ctx)
    );
    if config.allow_writes {
        run!(Check::BolaWrite, "BOLA (write)", checks::bola::write(&ctx));
        run!(
            Check::MassAssignment,
            "mass assignment",
            checks::mass_assignment::run(&ctx)
        );
        run!(
            Check::MethodOverride,
            "method override",
            checks::method_override::run(&ctx)
        );
    }
    if config.burst > 1 {
        run!(
            Check::RateLimit,
            "rate limits",
            checks::rate_limit::run(&ctx)
        );
    }
    bar.finish_and_clear();
    finding::normalize(&mut findings);
    checks_run.sort();
    Ok(Report {
        api: contract.title.clone(),
        target: config.target.clone(),
        requests: client.sent(),
        budget_spent: client.remaining() == 0,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        allow_writes: config.allow_writes,
        baseline_reads: ctx.baseline.len(),
        checks_run,
        findings,
    })
}
