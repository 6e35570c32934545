//! `rampart`: the command line.
//!
//! Subcommands map to the stages of an API's life: `serve` (run time),
//! `check` (before deploying a config), `demo` (a guided tour with a built-in
//! leaky API), `config-schema` (the published JSON Schema of the config).
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

/// mimalloc rather than the system allocator: the pipeline allocates many
/// small JSON values per exchange, and glibc's malloc was the largest single
/// cost in profiles of the gateway under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "API security gateway: enforces the OpenAPI contract, object ownership and property visibility inline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Generate a new random key; print it once, and the entry to add to the keys file.
    New {
        /// The key's id in the keys file.
        #[arg(long)]
        id: String,
    },
    /// Read a key on standard input (never on the command line, where shell
    /// history would keep it) and print its hash.
    Hash,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The config file.
        #[arg(long, short, env = "RAMPART_CONFIG")]
        config: PathBuf,
    },
    /// Check a config file and every spec it names; print every error with file, line and cause.
    Check {
        /// The config file.
        #[arg(long, short, env = "RAMPART_CONFIG")]
        config: PathBuf,
    },
    /// Start a built-in leaky sample API (modelled on the 2021 Peloton leak) with Rampart in front of it,
    /// and print curl commands that show each leak and the same request through Rampart.
    Demo {
        /// Where Rampart listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the leaky sample API listens.
        #[arg(long, default_value = "127.0.0.1:3080")]
        upstream_listen: SocketAddr,
        /// Where the admin API and dashboard listen.
        #[arg(long, default_value = "127.0.0.1:9090")]
        admin_listen: SocketAddr,
        /// Directory for the demo's spec, config and security log (default: a new directory under the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the JSON Schema of the config file.
    ConfigSchema,
    /// Query the audit store: the exchanges Rampart recorded, newest first.
    Events {
        /// The config file (its `store` section says where events are).
        #[arg(long, short, env = "RAMPART_CONFIG")]
        config: PathBuf,
        /// Only events newer than this: a duration such as `15m`, `2h`, `7d`.
        #[arg(long)]
        since: Option<humantime::Duration>,
        /// Only this principal.
        #[arg(long)]
        principal: Option<String>,
        /// Only this client address.
        #[arg(long)]
        ip: Option<String>,
        /// Only this operationId.
        #[arg(long)]
        operation: Option<String>,
        /// Only this decision: allowed, blocked, flagged, modified, unchecked.
        #[arg(long)]
        decision: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make or hash API keys for `identity.api_keys_file` (keys are stored hashed).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Print the Cedar schema Rampart generates from the config's specs
    /// (the entity types, actions and context policies are validated against).
    PolicySchema {
        /// The config file.
        #[arg(long, short, env = "RAMPART_CONFIG")]
        config: PathBuf,
    },
    /// Audit OpenAPI documents statically against the OWASP API Security Top 10 (2023):
    /// findings with file:line, a score, and text, JSON or SARIF output.
    Audit(rampart_audit::cli::AuditArgs),
    /// Track vulnerability reports: list, show, triage, mitigate (virtual patch), fix, verify, disclose, reject.
    Disclosures(rampart_disclosure::cli::DisclosuresArgs),
    /// Test a running API as two identities (BOLA, BFLA, mass assignment, JWT, injection...):
    /// every finding with its evidence, as text, JSON, SARIF or JUnit, and a virtual patch.
    Scan(rampart_scan::cli::ScanArgs),
    /// Inventory the APIs from recorded traffic: per-operation use, shadow and zombie
    /// endpoints, sensitive data in responses; `--draft-openapi` drafts the shadow endpoints.
    Inventory(rampart_inventory::cli::InventoryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Audit(args) => Ok(rampart_audit::cli::run(args)),
        Command::Disclosures(args) => {
            let mut out = std::io::stdout().lock();
            runtime()?.block_on(rampart_disclosure::cli::run(
                &args.config,
                args.command,
                &mut out,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan(args) => Ok(rampart_scan::cli::run(args)),
        Command::Inventory(args) => Ok(rampart_inventory::cli::run(args)),
        Command::ConfigSchema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rampart_config::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => Ok(check(&config)),
        Command::Events {
            config,
            since,
            principal,
            ip,
            operation,
            decision,
            limit,
            json,
        } => {
            let loaded = match rampart_config::load(&config) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let decision = match decision
                .as_deref()
                .map(str::parse::<rampart_store::Verdict>)
            {
                None => None,
                Some(Ok(d)) => Some(d),
                Some(Err(_)) => anyhow::bail!(
                    "--decision must be allowed, blocked, flagged, modified or unchecked"
                ),
            };
            let query = rampart_store::EventQuery {
                since: since.map(|d| std::time::SystemTime::now() - *d),
                principal,
                client_ip: ip,
                operation,
                decision,
                limit,
                ..rampart_store::EventQuery::default()
            };
            runtime()?.block_on(async move {
                let store = rampart_store::Store::open(&loaded.config.store, &loaded.dir)
                    .await
                    .context("cannot open the audit store")?;
                let events = store
                    .query(&query)
                    .await
                    .context("cannot query the audit store")?;
                for e in &events {
                    if json {
                        println!("{}", serde_json::to_string(e)?);
                    } else {
                        println!(
                            "{}  {:<9} {:>3}  {:<6} {:<32} {:<20} {:<15} {}",
                            humantime::format_rfc3339_millis(e.ts),
                            e.decision.as_str(),
                            e.status,
                            e.method,
                            e.route.as_deref().unwrap_or(&e.path),
                            e.principal.as_deref().unwrap_or("-"),
                            e.client_ip,
                            e.rules.join(",")
                        );
                    }
                }
                anyhow::Ok(ExitCode::SUCCESS)
            })
        }
        Command::ApiKey { action } => match action {
            ApiKeyAction::New { id } => {
                let key = rampart_identity::generate_api_key();
                println!("key (shown once; give it to the client): {key}");
                println!("entry for the keys file:");
                println!(
                    "  - {{ id: {id}, hash: \"{}\", subject: {id}, role: member, scopes: [] }}",
                    rampart_identity::hash_api_key(&key)
                );
                Ok(ExitCode::SUCCESS)
            }
            ApiKeyAction::Hash => {
                let mut key = String::new();
                std::io::stdin()
                    .read_line(&mut key)
                    .context("cannot read the key from standard input")?;
                println!(
                    "{}",
                    rampart_identity::hash_api_key(key.trim_end_matches(['\r', '\n']))
                );
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::PolicySchema { config } => {
            let rt = match rampart_gateway::Runtime::load(&config) {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let mut ops: Vec<&str> = rt
                .apis
                .iter()
                .flat_map(|a| a.contract.operations.iter().map(|o| o.id.as_str()))
                .collect();
            ops.sort_unstable();
            ops.dedup();
            println!(
                "{}",
                serde_json::to_string_pretty(&rampart_policy::cedar_schema(&ops))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config } => {
            let loaded = match rampart_config::load(&config) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            init_tracing(
                &loaded.config.log.level,
                loaded.config.log.format == rampart_config::LogFormat::Json,
            );
            runtime()?.block_on(serve(config))
        }
        Command::Demo {
            listen,
            upstream_listen,
            admin_listen,
            dir,
        } => {
            init_tracing("warn", false);
            runtime()?.block_on(demo(listen, upstream_listen, admin_listen, dir))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn init_tracing(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn check(config: &Path) -> ExitCode {
    match rampart_gateway::Runtime::load(config) {
        Ok(rt) => {
            let ops: usize = rt.apis.iter().map(|a| a.contract.operations.len()).sum();
            println!(
                "{}: ok ({} API{}, {} operations)",
                config.display(),
                rt.apis.len(),
                if rt.apis.len() == 1 { "" } else { "s" },
                ops
            );
            if let Some(txt) = &rt.config.config.disclosure.security_txt {
                match rampart_disclosure::security_txt::check(txt, std::time::SystemTime::now()) {
                    Ok(status) if status.is_warning() => {
                        eprintln!(
                            "{}: warning: disclosure.security_txt: {status}",
                            config.display()
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("{}: disclosure.security_txt: {e}", config.display());
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            let n = errors.0.iter().map(count).sum::<usize>();
            eprintln!(
                "{}: {n} error{}",
                config.display(),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

fn count(e: &rampart_gateway::RuntimeError) -> usize {
    match e {
        rampart_gateway::RuntimeError::Config(c) => c.0.len(),
        rampart_gateway::RuntimeError::Spec { errors, .. } => errors.0.len(),
        rampart_gateway::RuntimeError::Setting(_) | rampart_gateway::RuntimeError::Identity(_) => 1,
        rampart_gateway::RuntimeError::Policy(p) => p.0.len(),
    }
}

async fn serve(config: PathBuf) -> anyhow::Result<ExitCode> {
    let server = match rampart_gateway::Server::bind(&config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let admin = match start_admin(&server).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    tracing::info!(listen = %server.local_addr()?, "rampart is serving");
    if let Err(e) = server.run(rampart_gateway::shutdown_signal()).await {
        eprintln!("{e}");
        return Ok(ExitCode::FAILURE);
    }
    if let Some((_, stop, task)) = admin {
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(ExitCode::SUCCESS)
}

type AdminHandle = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

/// Start the admin listener when the config has one: its own address (never
/// the public one), and a token from the environment or a file.
async fn start_admin(server: &rampart_gateway::Server) -> anyhow::Result<Option<AdminHandle>> {
    let state = server.state();
    let rt = state.load();
    let Some(cfg) = rt.config.config.admin.clone() else {
        return Ok(None);
    };
    if cfg.listen.port() != 0 && Some(cfg.listen) == server.local_addr().ok() {
        anyhow::bail!(
            "admin.listen must differ from listen: the admin API never shares the public listener"
        );
    }
    let token = match (&cfg.token_env, &cfg.token_file) {
        (Some(var), _) => std::env::var(var).with_context(|| {
            format!("admin.token_env: the environment variable {var} is not set")
        })?,
        (None, Some(file)) => {
            let path = rt.config.resolve(file);
            std::fs::read_to_string(&path)
                .with_context(|| format!("admin.token_file: cannot read {}", path.display()))?
        }
        (None, None) => anyhow::bail!("admin: set token_env or token_file"),
    };
    let token = rampart_admin::Token::new(&token).map_err(anyhow::Error::msg)?;
    drop(rt);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {} for the admin API", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, "admin API is serving");
    let admin =
        rampart_admin::Admin::new(server.control(), token).with_secure_cookie(cfg.secure_cookie);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(admin.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Some((addr, stop, task)))
}

async fn demo(
    listen: SocketAddr,
    upstream_listen: SocketAddr,
    admin_listen: SocketAddr,
    dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("rampart-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let upstream = tokio::net::TcpListener::bind(upstream_listen)
        .await
        .with_context(|| format!("cannot listen on {upstream_listen} for the sample API (choose another with --upstream-listen)"))?;
    let upstream_addr = upstream.local_addr()?;
    let upstream_url = format!("http://{upstream_addr}");
    tokio::spawn(async move {
        if let Err(e) = rampart_demo::sample_api::run(upstream).await {
            tracing::error!(error = %e, "sample API stopped");
        }
    });
    let log_path = dir.join("security.log");
    let secret = rampart_demo::tokens::new_secret().map_err(anyhow::Error::msg)?;
    let tokens = rampart_demo::tokens::Tokens::mint_all(&secret).map_err(anyhow::Error::msg)?;
    let config = rampart_demo::write_bundle(
        &dir,
        listen,
        &upstream_url,
        &log_path.to_string_lossy(),
        &secret,
    )
    .with_context(|| format!("cannot write the demo files to {}", dir.display()))?;
    let admin_token = rampart_demo::tokens::new_secret().map_err(anyhow::Error::msg)?;
    rampart_demo::write_admin(&config, admin_listen, &admin_token)
        .with_context(|| format!("cannot write the demo's admin token to {}", dir.display()))?;
    let gateway = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen} for Rampart (choose another with --listen)")
        })?;
    let gateway_addr = gateway.local_addr()?;
    let cfg_path = config.clone();
    let runtime = tokio::task::spawn_blocking(move || rampart_gateway::Runtime::load(&cfg_path))
        .await?
        .map_err(|e| anyhow::anyhow!("the bundled demo config does not load:\n{e}"))?;
    let mut server = rampart_gateway::Server::with_listener(runtime, gateway, &config)?;
    server.prepare().await?;
    let Some((admin_addr, admin_stop, admin_task)) = start_admin(&server).await? else {
        anyhow::bail!("the demo config has no admin section");
    };
    println!("Rampart demo");
    println!("  dashboard:                  http://{admin_addr}/");
    println!("  dashboard token:            {admin_token}");
    println!("  leaky sample API (direct):  {upstream_url}");
    println!("  through Rampart:            http://{gateway_addr}");
    println!("  config:                     {}", config.display());
    println!(
        "  security log:               tail -f {}",
        log_path.display()
    );
    println!();
    println!(
        "{}",
        rampart_demo::walkthrough::render(
            &format!("http://{gateway_addr}"),
            &upstream_url,
            &tokens
        )
    );
    println!("Press Ctrl-C to stop.");
    server.run(rampart_gateway::shutdown_signal()).await?;
    let _ = admin_stop.send(());
    let _ = admin_task.await;
    Ok(ExitCode::SUCCESS)
}
