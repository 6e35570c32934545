//! The `rampart inventory` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crate::{InventoryError, collect, draft, load_apis, text};

/// Arguments of `rampart inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// The config file: its APIs' contracts, and its `store` section says
    /// where events are.
    #[arg(long, short, env = "RAMPART_CONFIG")]
    pub config: PathBuf,
    /// The window: events newer than this (`15m`, `2h`, `7d`).
    #[arg(long, default_value = "7d")]
    pub since: humantime::Duration,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write an OpenAPI 3.1 draft of the shadow endpoints to FILE
    /// (JSON when FILE ends in `.json`, YAML otherwise).
    #[arg(long, value_name = "FILE")]
    pub draft_openapi: Option<PathBuf>,
}

/// Run `rampart inventory`: 0 on success, 1 when the config, a contract
/// or the store cannot be read (the cause on stderr).
pub fn run(args: InventoryArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Which store the config names, for error messages.
fn describe_store(loaded: &rampart_config::LoadedConfig) -> String {
    let store = &loaded.config.store;
    match store.sink {
        rampart_config::StoreSink::Sqlite => {
            format!(
                "SQLite database {}",
                loaded.resolve(&store.sqlite.path).display()
            )
        }
        rampart_config::StoreSink::File => {
            format!("event file {}", loaded.resolve(&store.file.path).display())
        }
        rampart_config::StoreSink::Postgres => format!(
            "PostgreSQL (URL in ${}, schema {})",
            store.postgres.url_env, store.postgres.schema
        ),
        rampart_config::StoreSink::Stdout => "stdout sink".to_owned(),
        rampart_config::StoreSink::Off => "store (off)".to_owned(),
    }
}

fn run_inner(args: &InventoryArgs) -> Result<(), InventoryError> {
    let loaded =
        rampart_config::load(&args.config).map_err(|e| InventoryError::Config(e.to_string()))?;
    let apis = load_apis(&loaded)?;
    let until = SystemTime::now();
    let since = until.checked_sub(Duration::from(args.since));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| InventoryError::Io {
            path: PathBuf::from("<tokio runtime>"),
            source,
        })?;
    let store_config = &loaded.config.store;
    let inventory = runtime
        .block_on(async {
            let store = rampart_store::Store::open(store_config, &loaded.dir).await?;
            let inventory = collect(&store, &apis, since, until).await;
            store.close().await;
            inventory
        })
        .map_err(|e| match e {
            InventoryError::Store(source) => InventoryError::StoreAt {
                store: describe_store(&loaded),
                source,
            },
            other => other,
        })?;
    if let Some(path) = &args.draft_openapi {
        let doc = draft::draft_openapi(&inventory);
        let as_json = path.extension().is_some_and(|e| e == "json");
        let body = draft::render(&doc, as_json)?;
        std::fs::write(path, body).map_err(|source| InventoryError::Io {
            path: path.clone(),
            source,
        })?;
        eprintln!(
            "wrote the shadow endpoints' OpenAPI draft to {}",
            path.display()
        );
    }
    if args.json {
        let body = serde_json::to_string_pretty(&inventory)
            .map_err(|e| InventoryError::Render(e.to_string()))?;
        println!("{body}");
    } else {
        print!("{}", text::render(&inventory));
    }
    Ok(())
}
