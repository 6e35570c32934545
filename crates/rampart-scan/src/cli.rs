//! The `rampart scan` command line.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::report::{self, Format};
use crate::{Identity, ScanConfig, ScanError, patch};

/// Exit status: the scan ran and found nothing.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: the scan ran and found something.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: the scan could not run.
pub const EXIT_ERROR: u8 = 2;

const AFTER_HELP: &str = "\
Identities (--identity, two for the BOLA checks):
  alice=bearer:TOKEN                  Authorization: Bearer TOKEN
  alice=bearer-env:ALICE_TOKEN        the same, the token read from an environment variable
  bob=apikey:X-Api-Key:KEY            a header carrying a key
  carol=login:OPERATION:/token:JSON   call OPERATION with the JSON body, read the token at the
                                      JSON pointer; logged in again on a 401
A JWT's `sub` is the identity's principal id (objects it owns); override with --principal-id.

Safe by default: without --allow-writes only GET and HEAD are sent. With it, PATCH/PUT/POST
probes write markers and put old values back; nothing is ever deleted, and operations that
change credentials or sessions (password, token, login, account...) are left alone unless
named with --allow-operation.

Exit status: 0 nothing found, 1 findings, 2 the scan could not run.";

/// Arguments of `rampart scan`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ScanArgs {
    /// The OpenAPI 3.0/3.1 document describing the target.
    #[arg(long, value_name = "SPEC")]
    pub spec: PathBuf,
    /// The target's origin, e.g. http://127.0.0.1:3000 (the spec's server path is appended).
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// An identity: NAME=bearer:TOKEN, NAME=bearer-env:VAR, NAME=apikey:HEADER:VALUE or NAME=login:OPERATION:POINTER:JSON.
    #[arg(long = "identity", value_name = "NAME=KIND:...", required = true)]
    pub identities: Vec<String>,
    /// The principal id an identity's objects are owned by (default: its JWT's `sub`).
    #[arg(long = "principal-id", value_name = "NAME=ID")]
    pub principal_ids: Vec<String>,
    /// A known id for a path parameter, e.g. riderId=2.
    #[arg(long = "seed-id", value_name = "PARAM=VALUE")]
    pub seed_ids: Vec<String>,
    /// With --allow-writes: an operation that changes credentials or sessions
    /// (password, token, login, account...) which writes may still target.
    #[arg(long = "allow-operation", value_name = "OPERATION_ID")]
    pub allowed_operations: Vec<String>,
    /// Most requests sent.
    #[arg(long, default_value_t = 2000)]
    pub max_requests: usize,
    /// Requests per second.
    #[arg(long, default_value_t = 50.0)]
    pub rps: f64,
    /// Send PATCH/PUT/POST probes (mass assignment, BOLA write, method override).
    #[arg(long)]
    pub allow_writes: bool,
    /// Requests in the rate-limit burst (0: skip that check).
    #[arg(long, default_value_t = 25)]
    pub burst: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a virtual patch (config fragment FILE, Cedar beside it as FILE.cedar).
    #[arg(long, value_name = "FILE")]
    pub emit_patch: Option<PathBuf>,
    /// The API's name in the gateway config, for the patch.
    #[arg(long, default_value = "api", value_name = "NAME")]
    pub api_name: String,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write verification evidence for `rampart disclosures verify` to
    /// FILE: whether `--verify-check` passed on every `--verify-operation`.
    #[arg(long, value_name = "FILE", requires_all = ["verify_check", "verify_operations"])]
    pub evidence_out: Option<PathBuf>,
    /// The check the evidence is about (e.g. `bola-read`).
    #[arg(long, value_enum, value_name = "CHECK")]
    pub verify_check: Option<VerifyCheck>,
    /// An operation the evidence covers (repeatable).
    #[arg(long = "verify-operation", value_name = "OPERATION_ID")]
    pub verify_operations: Vec<String>,
}

/// The checks evidence can be about (every check family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyCheck {
    /// Object-level authorization on reads.
    BolaRead,
    /// Object-level authorization on writes.
    BolaWrite,
    /// Missing authentication.
    MissingAuthentication,
    /// Function-level authorization.
    Bfla,
    /// Mass assignment.
    MassAssignment,
    /// Excessive data exposure.
    DataExposure,
    /// The JWT attack set.
    Jwt,
    /// Missing rate limits.
    RateLimit,
    /// Injection.
    Injection,
    /// SSRF.
    Ssrf,
    /// Shadow endpoints.
    ShadowEndpoint,
    /// Verbose errors.
    VerboseError,
    /// Method override.
    MethodOverride,
    /// CORS and headers.
    Headers,
}

impl From<VerifyCheck> for crate::Check {
    fn from(v: VerifyCheck) -> Self {
        use crate::Check as C;
        match v {
            VerifyCheck::BolaRead => C::BolaRead,
            VerifyCheck::BolaWrite => C::BolaWrite,
            VerifyCheck::MissingAuthentication => C::MissingAuthentication,
            VerifyCheck::Bfla => C::Bfla,
            VerifyCheck::MassAssignment => C::MassAssignment,
            VerifyCheck::DataExposure => C::DataExposure,
            VerifyCheck::Jwt => C::Jwt,
            VerifyCheck::RateLimit => C::RateLimit,
            VerifyCheck::Injection => C::Injection,
            VerifyCheck::Ssrf => C::Ssrf,
            VerifyCheck::ShadowEndpoint => C::ShadowEndpoint,
            VerifyCheck::VerboseError => C::VerboseError,
            VerifyCheck::MethodOverride => C::MethodOverride,
            VerifyCheck::Headers => C::Headers,
        }
    }
}

fn pairs(
    list: &[String],
    err: impl Fn(&str) -> ScanError,
) -> Result<Vec<(String, String)>, ScanError> {
    list.iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| err(s))
        })
        .collect()
}

impl ScanArgs {
    /// The scan configuration these arguments describe.
    pub fn config(&self) -> Result<ScanConfig, ScanError> {
        let identities = self
            .identities
            .iter()
            .map(|s| Identity::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seeds: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs(&self.seed_ids, |s| ScanError::Seed(s.to_string()))? {
            seeds.entry(k).or_default().push(v);
        }
        let principals = pairs(&self.principal_ids, |s| ScanError::Identity {
            name: s.to_string(),
            cause: "--principal-id expects NAME=ID".into(),
        })?
        .into_iter()
        .collect();
        Ok(ScanConfig {
            spec: self.spec.clone(),
            target: self.target.clone(),
            identities,
            principals,
            seeds,
            allowed_operations: self.allowed_operations.clone(),
            max_requests: self.max_requests,
            rps: self.rps.max(0.0),
            allow_writes: self.allow_writes,
            burst: self.burst,
            timeout: Duration::from_secs(self.timeout.max(1)),
            progress: !self.quiet && std::io::stderr().is_terminal(),
        })
    }
}

/// Run `rampart scan`.
pub fn run(args: ScanArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(found) => ExitCode::from(if found { EXIT_FINDINGS } else { EXIT_CLEAN }),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run_inner(args: &ScanArgs) -> Result<bool, ScanError> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ScanError::Client(e.to_string()))?;
    let report = runtime.block_on(crate::scan(config.clone()))?;
    let text = report::render(&report, args.format);
    match &args.output {
        Some(path) => std::fs::write(path, &text).map_err(|source| ScanError::Write {
            path: path.clone(),
            source,
        })?,
        None => print!("{text}"),
    }
    if let Some(path) = &args.emit_patch {
        let patch = patch_for(&report, &config, &args.api_name)?;
        let cedar = patch.write(path)?;
        eprintln!("virtual patch: {} and {}", path.display(), cedar.display());
    }
    if let (Some(path), Some(check)) = (&args.evidence_out, args.verify_check) {
        let ev = crate::verify::evidence(&report, check.into(), &args.verify_operations);
        let text =
            serde_json::to_string_pretty(&ev).map_err(|e| ScanError::Client(e.to_string()))?;
        std::fs::write(path, text).map_err(|source| ScanError::Write {
            path: path.clone(),
            source,
        })?;
        eprintln!(
            "verification evidence: {} ({} on {}: {})",
            path.display(),
            ev.check,
            ev.operations.join(", "),
            if ev.passed { "passed" } else { "NOT passed" }
        );
    }
    if args.output.is_some() || args.format != Format::Text {
        eprintln!(
            "{} finding{} ({} requests)",
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" },
            report.requests
        );
    }
    Ok(!report.findings.is_empty())
}

/// The virtual patch for a report of a scan run with `config`.
pub fn patch_for(
    report: &crate::Report,
    config: &ScanConfig,
    api: &str,
) -> Result<patch::Patch, ScanError> {
    let contract = crate::load_contract(&config.spec)?;
    let ops = crate::plan::plan(&contract);
    let owned = |op: &crate::plan::OpPlan| {
        op.response_shape.is_some_and(|s| {
            let flat = contract.shapes.flat(s);
            let flat = match flat.items {
                Some(i) if flat.props.is_empty() => contract.shapes.flat(i),
                _ => flat,
            };
            flat.ownership.owner.is_some()
        })
    };
    Ok(patch::build(report, &ops, &owned, api))
}
