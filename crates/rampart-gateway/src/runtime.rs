//! The compiled, immutable state the gateway serves from.
//!
//! Config, contracts and TLS material are loaded and compiled together into a
//! [`Runtime`]. Requests read it through an `ArcSwap`, so a reload builds a
//! whole new runtime off the request path and swaps it in atomically; a
//! runtime that fails to build is never swapped in. `rampart check` uses the
//! same builder, so "check passes" and "serve starts" mean the same thing.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};
use rampart_config::{ConfigErrors, LoadedConfig, Mode};
use rampart_contract::{CompileOptions, Contract, ContractErrors, Operation};
use rampart_normalize::NormalizeOptions;

/// Where an API's traffic goes.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host and port.
    pub authority: Authority,
    /// Path prefix prepended to every forwarded path ("" for none).
    pub prefix: String,
    /// The Host header sent upstream.
    pub host: HeaderValue,
}

impl Upstream {
    /// Parse an upstream URL (validated by the config loader already).
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid upstream URL: {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or("upstream URL needs http:// or https://")?;
        let authority = uri
            .authority()
            .cloned()
            .ok_or("upstream URL needs a host")?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
        Ok(Upstream {
            scheme,
            authority,
            prefix: uri.path().trim_end_matches('/').to_string(),
            host,
        })
    }
}

/// One protected API.
#[derive(Debug)]
pub struct Api {
    /// Name from the config.
    pub name: String,
    /// The compiled contract.
    pub contract: Contract,
    /// Where its traffic goes.
    pub upstream: Upstream,
    /// The API's mode (config, else global).
    pub mode: Mode,
    op_modes: HashMap<String, Mode>,
    /// Write operation id -> the GET whose answer names the object's owner.
    pub prefetch: HashMap<String, String>,
    /// How the upstream has been answering (kept across reloads).
    pub health: Arc<crate::upstream::UpstreamHealth>,
    /// The upstream's concurrency cap and queue.
    pub gate: Arc<crate::upstream::UpstreamGate>,
}

impl Api {
    /// The effective mode of an operation: config override, then the spec's
    /// `x-rampart-mode`, then the API's mode.
    pub fn mode_of(&self, op: &Operation) -> Mode {
        self.op_modes.get(&op.id).copied().unwrap_or(self.mode)
    }
}

/// Everything the gateway serves from.
pub struct Runtime {
    /// The loaded config.
    pub config: LoadedConfig,
    /// Protected APIs, in config order.
    pub apis: Vec<Api>,
    /// Normalizer limits.
    pub normalize: NormalizeOptions,
    /// Header names always allowed though undeclared (lowercase).
    pub allowed_headers: HashSet<String>,
    /// TLS server config, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Verifies credentials (JWT issuers, API keys, revoked tokens).
    pub authn: Arc<rampart_identity::Authenticator>,
    /// Cedar policies, when configured.
    pub policy: Option<rampart_policy::PolicyEngine>,
    /// Rate limits (config rules and `x-rampart-rate-limit` extensions).
    pub limiter: Arc<rampart_limits::Limiter>,
    /// Which peers may tell us the client's address.
    pub proxies: rampart_limits::TrustedProxies,
    /// Every file this runtime was built from (config, specs and what they reference, TLS files).
    pub files: Vec<PathBuf>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("apis", &self.apis)
            .finish_non_exhaustive()
    }
}

/// A reason a runtime could not be built.
#[derive(Debug)]
pub enum RuntimeError {
    /// The config file is invalid.
    Config(ConfigErrors),
    /// An API's spec does not load or compile.
    Spec {
        /// The API's name.
        api: String,
        /// What is wrong with its spec.
        errors: ContractErrors,
    },
    /// A config setting that only makes sense once specs are loaded, or a TLS file.
    Setting(rampart_config::ConfigError),
    /// Identity material (keys, API key file, revocation list) cannot be loaded.
    Identity(String),
    /// Cedar policies do not load or do not validate against the contract.
    Policy(rampart_policy::PolicyErrors),
}

/// Every reason, collected.
#[derive(Debug)]
pub struct RuntimeErrors(pub Vec<RuntimeError>);

impl fmt::Display for RuntimeErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in &self.0 {
            if !first {
                writeln!(f)?;
            }
            first = false;
            match e {
                RuntimeError::Config(c) => write!(f, "{c}")?,
                RuntimeError::Spec { api, errors } => {
                    let mut lines = errors.0.iter().peekable();
                    while let Some(line) = lines.next() {
                        write!(f, "{line} [api {api}]")?;
                        if lines.peek().is_some() {
                            writeln!(f)?;
                        }
                    }
                }
                RuntimeError::Setting(c) => write!(f, "{c}")?,
                RuntimeError::Identity(m) => write!(f, "{m}")?,
                RuntimeError::Policy(p) => write!(f, "{p}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for RuntimeErrors {}

/// A pre-fetch target must be a GET, need no path parameter the write does
/// not have, and answer 200 with an object whose schema names its owner.
fn check_prefetch(contract: &Contract, write: &str, target: &str) -> Result<(), String> {
    let w = contract
        .operation(write)
        .ok_or_else(|| format!("no operation \"{write}\""))?;
    let t = contract
        .operation(target)
        .ok_or_else(|| format!("the spec has no operation \"{target}\""))?;
    if t.method != http::Method::GET {
        return Err(format!("\"{target}\" must be a GET operation"));
    }
    if let Some(missing) = t.path_params.iter().find(|p| !w.path_params.contains(p)) {
        return Err(format!(
            "\"{target}\" needs path parameter \"{missing}\", which \"{write}\" does not have"
        ));
    }
    let owned = match t.response_for(200, Some("application/json")) {
        rampart_contract::ResponseLookup::Declared(_, Some(m)) => m
            .shape
            .is_some_and(|s| contract.shapes.flat(s).ownership.owner.is_some()),
        _ => false,
    };
    if !owned {
        return Err(format!(
            "\"{target}\"'s 200 JSON response schema has no x-rampart-owner, so it cannot name the owner"
        ));
    }
    Ok(())
}

impl Runtime {
    /// Load the config at `path` and build everything it names.
    pub fn load(path: &Path) -> Result<Runtime, RuntimeErrors> {
        let config =
            rampart_config::load(path).map_err(|e| RuntimeErrors(vec![RuntimeError::Config(e)]))?;
        Runtime::build(config)
    }

    /// Build from an already-loaded config.
    pub fn build(config: LoadedConfig) -> Result<Runtime, RuntimeErrors> {
        Runtime::build_reusing(config, None)
    }

    /// Load the config at `path`, carrying rate-limit state over from
    /// `previous` (a reload must not hand every client a fresh burst).
    pub fn reload(path: &Path, previous: &Runtime) -> Result<Runtime, RuntimeErrors> {
        let config =
            rampart_config::load(path).map_err(|e| RuntimeErrors(vec![RuntimeError::Config(e)]))?;
        Runtime::build_reusing(config, Some(previous))
    }

    fn build_reusing(
        config: LoadedConfig,
        previous: Option<&Runtime>,
    ) -> Result<Runtime, RuntimeErrors> {
        let mut errors = Vec::new();
        let mut apis = Vec::new();
        let mut files = vec![config.path.clone()];
        let cfg = &config.config;
        for (i, api_cfg) in cfg.apis.iter().enumerate() {
            let spec_path = config.resolve(&api_cfg.spec);
            if !spec_path.is_file() {
                errors.push(RuntimeError::Setting(config.error_at(
                    &format!("apis[{i}].spec"),
                    format!("file not found: {}", spec_path.display()),
                )));
                continue;
            }
            let opts = CompileOptions {
                base_path: api_cfg.base_path.clone(),
                skip_validators: false,
            };
            let contract = match Contract::load(&spec_path, &opts) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(RuntimeError::Spec {
                        api: api_cfg.name.clone(),
                        errors: e,
                    });
                    continue;
                }
            };
            files.extend(contract.files.iter().cloned());
            let upstream = match Upstream::parse(&api_cfg.upstream) {
                Ok(u) => u,
                Err(e) => {
                    errors.push(RuntimeError::Setting(
                        config.error_at(&format!("apis[{i}].upstream"), e),
                    ));
                    continue;
                }
            };
            let mode = api_cfg.mode.unwrap_or(cfg.mode);
            let mut op_modes = HashMap::new();
            let mut prefetch = HashMap::new();
            for op in &contract.operations {
                if let Some(m) = op.mode.as_deref().and_then(|m| m.parse::<Mode>().ok()) {
                    op_modes.insert(op.id.clone(), m);
                }
            }
            for (op_id, op_cfg) in &api_cfg.operations {
                if contract.operation(op_id).is_none() {
                    errors.push(RuntimeError::Setting(config.error_at(
                        &format!("apis[{i}].operations.{op_id}"),
                        format!(
                            "the spec of api \"{}\" has no operation \"{op_id}\"",
                            api_cfg.name
                        ),
                    )));
                    continue;
                }
                if let Some(m) = op_cfg.mode {
                    op_modes.insert(op_id.clone(), m);
                }
                if let Some(target) = &op_cfg.prefetch {
                    match check_prefetch(&contract, op_id, target) {
                        Ok(()) => {
                            prefetch.insert(op_id.clone(), target.clone());
                        }
                        Err(e) => errors.push(RuntimeError::Setting(
                            config.error_at(&format!("apis[{i}].operations.{op_id}.prefetch"), e),
                        )),
                    }
                }
            }
            let health = previous
                .and_then(|p| p.apis.iter().find(|a| a.name == api_cfg.name))
                .map(|a| a.health.clone())
                .unwrap_or_default();
            let lim = &cfg.limits;
            let max = api_cfg
                .max_concurrent_requests
                .unwrap_or(lim.upstream_max_concurrent);
            let wait = std::time::Duration::from_millis(lim.upstream_queue_timeout_ms);
            let gate = previous
                .and_then(|p| p.apis.iter().find(|a| a.name == api_cfg.name))
                .map(|a| a.gate.clone())
                .filter(|g| g.same(max, lim.upstream_max_queued, wait))
                .unwrap_or_else(|| {
                    Arc::new(crate::upstream::UpstreamGate::new(
                        max,
                        lim.upstream_max_queued,
                        wait,
                    ))
                });
            apis.push(Api {
                gate,
                name: api_cfg.name.clone(),
                contract,
                upstream,
                mode,
                op_modes,
                prefetch,
                health,
            });
        }
        let tls = match &cfg.tls {
            Some(t) => {
                let cert = config.resolve(&t.cert);
                let key = config.resolve(&t.key);
                files.push(cert.clone());
                files.push(key.clone());
                match crate::tls::server_config(&cert, &key) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        errors.push(RuntimeError::Setting(config.error_at("tls", e)));
                        None
                    }
                }
            }
            None => None,
        };
        let id_cfg = &cfg.identity;
        let authn = match rampart_identity::Authenticator::new(id_cfg, |p| config.resolve(p)) {
            Ok(a) => Some(Arc::new(a)),
            Err(e) => {
                errors.push(RuntimeError::Identity(format!(
                    "{}: identity: {e}",
                    config.path.display()
                )));
                None
            }
        };
        for f in id_cfg.api_keys_file.iter().chain(&id_cfg.revoked_jtis_file) {
            files.push(config.resolve(f));
        }
        for issuer in &id_cfg.issuers {
            for key in &issuer.keys {
                for f in key.secret_file.iter().chain(&key.public_key_file) {
                    files.push(config.resolve(f));
                }
            }
        }
        let mut policy = None;
        if let Some(p) = &cfg.authorization.policies {
            let path = config.resolve(p);
            let mut ops: Vec<&str> = apis
                .iter()
                .flat_map(|a| a.contract.operations.iter().map(|o| o.id.as_str()))
                .collect();
            ops.sort_unstable();
            ops.dedup();
            match rampart_policy::PolicyEngine::load(
                &path,
                &ops,
                cfg.authorization.privileged_roles.clone(),
            ) {
                Ok(engine) => {
                    files.extend(engine.files().iter().cloned());
                    policy = Some(engine);
                }
                Err(e) => errors.push(RuntimeError::Policy(e)),
            }
        }
        let mut limits = rampart_limits::Limiter::from_config(cfg);
        for api in &apis {
            for op in &api.contract.operations {
                if let Some(ext) = op.extensions.get("x-rampart-rate-limit") {
                    match rampart_limits::from_extension(ext) {
                        Ok(spec) => limits = limits.operation_rule(&api.name, &op.id, spec),
                        Err(e) => errors.push(RuntimeError::Spec {
                            api: api.name.clone(),
                            errors: rampart_contract::ContractErrors(vec![
                                rampart_contract::ContractError::new(
                                    api.contract.source.clone(),
                                    rampart_contract::ContractErrorKind::Invalid(format!(
                                        "x-rampart-rate-limit: {e}"
                                    )),
                                )
                                .at(format!("{}/x-rampart-rate-limit", op.pointer)),
                            ]),
                        }),
                    }
                }
            }
        }
        for (i, rule) in cfg.rate_limits.iter().enumerate() {
            for (j, op) in rule.operations.iter().enumerate() {
                if !apis.iter().any(|a| a.contract.operation(op).is_some()) {
                    errors.push(RuntimeError::Setting(config.error_at(
                        &format!("rate_limits[{i}].operations[{j}]"),
                        format!("no API has an operation \"{op}\""),
                    )));
                }
            }
        }
        let limits = match previous {
            Some(p) => limits.reuse(&p.limiter).build(),
            None => limits.build(),
        };
        let limiter = match limits {
            Ok(l) => Some(Arc::new(l)),
            Err(e) => {
                errors.push(RuntimeError::Identity(format!(
                    "{}: rate_limits: {e}",
                    config.path.display()
                )));
                None
            }
        };
        if !errors.is_empty() {
            return Err(RuntimeErrors(errors));
        }
        let (Some(authn), Some(limiter)) = (authn, limiter) else {
            return Err(RuntimeErrors(errors));
        };
        let normalize = NormalizeOptions {
            max_target_len: 8192,
            ..NormalizeOptions::default()
        };
        let allowed_headers = cfg
            .contract
            .allowed_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        files.sort();
        files.dedup();
        let proxies = rampart_limits::TrustedProxies::from_config(&cfg.client_ip);
        Ok(Runtime {
            config,
            apis,
            normalize,
            allowed_headers,
            tls,
            authn,
            policy,
            proxies,
            limiter,
            files,
        })
    }
}
