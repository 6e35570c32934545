//! The sinks events are written to and read back from.
//!
//! [`Store`] is a cheap handle on one opened sink. The recorder writes
//! through it; `rampart events` and the admin API read through it, in the
//! same process or in another one (SQLite in WAL mode lets readers run
//! beside the gateway's writer).

mod file;
mod sql;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rampart_config::{StoreConfig, StoreSink};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;
use crate::event::{AuditEvent, EventQuery, unix_millis};
use crate::fields::{self, FieldClassCount};
use file::FileSink;

/// How long to wait for a database connection or a SQLite lock.
const DB_TIMEOUT: Duration = Duration::from_secs(5);
/// Serializes schema migrations between instances sharing one PostgreSQL
/// database (an arbitrary constant: "rampart" in ASCII, truncated).
const PG_MIGRATION_LOCK: i64 = 0x7261_6d70_6172;
/// Events read per page by [`Store::scan`].
const SCAN_PAGE: i64 = 2_000;

/// An opened sink: cheap to clone, shared by the recorder and readers.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    File(FileSink),
    Stdout,
}

impl Store {
    /// Opens the sink `config` names, creating or migrating its schema.
    /// Relative paths resolve against `base_dir` (the configuration file's
    /// directory). `store.sink: off` is [`StoreError::Off`].
    pub async fn open(config: &StoreConfig, base_dir: &Path) -> Result<Store, StoreError> {
        let resolve = |p: &Path| -> PathBuf { base_dir.join(p) };
        match config.sink {
            StoreSink::Sqlite => Store::sqlite(&resolve(&config.sqlite.path)).await,
            StoreSink::Postgres => {
                let env = &config.postgres.url_env;
                let url = std::env::var(env).map_err(|_| StoreError::MissingUrl(env.clone()))?;
                Store::postgres(
                    &url,
                    &config.postgres.schema,
                    config.postgres.max_connections,
                )
                .await
            }
            StoreSink::File => Ok(Store::file(
                resolve(&config.file.path),
                config.file.max_bytes,
                config.file.keep,
            )),
            StoreSink::Stdout => Ok(Store::stdout()),
            StoreSink::Off => Err(StoreError::Off),
        }
    }

    /// An embedded SQLite database at `path`, created when missing. WAL
    /// mode lets readers run beside the writer; `synchronous = FULL` makes
    /// each committed batch durable against power loss, not just a crash
    /// of the process, at the price of one fsync per batch.
    pub async fn sqlite(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(DB_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(DB_TIMEOUT)
            .connect_with(options)
            .await?;
        let mut tx = pool.begin().await?;
        sql::migrate::<sqlx::Sqlite>(&mut tx).await?;
        tx.commit().await?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// A PostgreSQL database at `url`, with Rampart's tables in `schema`
    /// (created when missing). Instances starting together migrate one at
    /// a time under an advisory lock.
    pub async fn postgres(
        url: &str,
        schema: &str,
        max_connections: u32,
    ) -> Result<Store, StoreError> {
        if !is_identifier(schema) {
            return Err(StoreError::InvalidSchema(schema.to_owned()));
        }
        let options = PgConnectOptions::from_str(url)?;
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        // `schema` is a checked identifier, so quoting it is enough.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SET LOCAL search_path TO \"{schema}\""
        )))
        .execute(&mut *tx)
        .await?;
        sql::migrate::<sqlx::Postgres>(&mut tx).await?;
        tx.commit().await?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(DB_TIMEOUT)
            .connect_with(options.options([("search_path", schema)]))
            .await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// JSON lines appended to `path`, rotated past `max_bytes`, keeping
    /// `keep` rotated files. Nothing is opened until the first write.
    pub fn file(path: PathBuf, max_bytes: u64, keep: u32) -> Store {
        Store {
            backend: Backend::File(FileSink::new(path, max_bytes, keep)),
        }
    }

    /// JSON lines on standard output (written, never read back).
    pub fn stdout() -> Store {
        Store {
            backend: Backend::Stdout,
        }
    }

    /// The sink's name, as in the configuration.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
            Backend::File(_) => "file",
            Backend::Stdout => "stdout",
        }
    }

    /// Writes a batch durably: committed for SQL sinks, fsync'd for files,
    /// flushed for stdout. All or nothing for SQL sinks.
    pub async fn write(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sql::insert::<sqlx::Sqlite>(&mut tx, events).await?;
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sql::insert::<sqlx::Postgres>(&mut tx, events).await?;
                tx.commit().await?;
            }
            Backend::File(sink) => {
                let lines = file::encode_lines(events)?;
                let sink = sink.clone();
                blocking(move || sink.append(&lines)).await?;
            }
            Backend::Stdout => {
                let lines = file::encode_lines(events)?;
                blocking(move || file::write_stdout(&lines)).await?;
            }
        }
        Ok(())
    }

    /// Events matching `q`, newest first.
    pub async fn query(&self, q: &EventQuery) -> Result<Vec<AuditEvent>, StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sql::select::<sqlx::Sqlite>(&mut conn, q).await
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sql::select::<sqlx::Postgres>(&mut conn, q).await
            }
            Backend::File(sink) => {
                let (sink, q) = (sink.clone(), q.clone());
                blocking(move || sink.query(&q)).await
            }
            Backend::Stdout => Err(StoreError::NotQueryable("stdout")),
        }
    }

    /// Calls `each` with every event in `[since, until)`, oldest first, and
    /// returns how many there were. Unlike [`query`](Self::query) nothing
    /// caps the count: events are read a page at a time (SQL) or streamed
    /// from the files, so memory stays bounded whatever the window holds.
    pub async fn scan(
        &self,
        since: Option<SystemTime>,
        until: Option<SystemTime>,
        mut each: impl FnMut(AuditEvent) + Send,
    ) -> Result<u64, StoreError> {
        let (since_ms, until_ms) = (since.map(unix_millis), until.map(unix_millis));
        let mut total = 0u64;
        match &self.backend {
            Backend::Sqlite(_) | Backend::Postgres(_) => {
                let mut after = None;
                loop {
                    let (events, last) = match &self.backend {
                        Backend::Sqlite(pool) => {
                            let mut conn = pool.acquire().await?;
                            sql::scan_page::<sqlx::Sqlite>(
                                &mut conn, since_ms, until_ms, after, SCAN_PAGE,
                            )
                            .await?
                        }
                        Backend::Postgres(pool) => {
                            let mut conn = pool.acquire().await?;
                            sql::scan_page::<sqlx::Postgres>(
                                &mut conn, since_ms, until_ms, after, SCAN_PAGE,
                            )
                            .await?
                        }
                        Backend::File(_) | Backend::Stdout => (Vec::new(), None),
                    };
                    for event in events {
                        total += 1;
                        each(event);
                    }
                    match last {
                        Some(cursor) => after = Some(cursor),
                        None => return Ok(total),
                    }
                }
            }
            Backend::File(sink) => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<AuditEvent>(1024);
                let sink = sink.clone();
                let reader = tokio::task::spawn_blocking(move || {
                    sink.scan(since_ms, until_ms, |e| tx.blocking_send(e).is_ok())
                });
                while let Some(event) = rx.recv().await {
                    total += 1;
                    each(event);
                }
                reader
                    .await
                    .map_err(|e| StoreError::WriteFailed(format!("reader task failed: {e}")))??;
                Ok(total)
            }
            Backend::Stdout => Err(StoreError::NotQueryable("stdout")),
        }
    }

    /// Whether this sink keeps field classes (SQL sinks do; files and
    /// stdout do not). The gateway skips sampling when it does not.
    pub fn keeps_field_classes(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_) | Backend::Postgres(_))
    }

    /// Adds field-class sightings in one transaction: a new (api,
    /// operation, pointer, class) is inserted, a known one widens its
    /// first/last seen and adds its count. Rows with the same key are
    /// merged first. Files and stdout keep no field classes
    /// ([`StoreError::NotQueryable`]).
    pub async fn record_field_classes(&self, rows: &[FieldClassCount]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = fields::merge(rows);
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sql::upsert_field_classes::<sqlx::Sqlite>(&mut tx, &rows).await?;
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sql::upsert_field_classes::<sqlx::Postgres>(&mut tx, &rows).await?;
                tx.commit().await?;
            }
            Backend::File(_) => return Err(StoreError::NotQueryable("file")),
            Backend::Stdout => return Err(StoreError::NotQueryable("stdout")),
        }
        Ok(())
    }

    /// Field classes last seen at or after `since` (all with `None`),
    /// sorted by api, operation, pointer and class.
    pub async fn field_classes(
        &self,
        since: Option<SystemTime>,
    ) -> Result<Vec<FieldClassCount>, StoreError> {
        let since = since.map(unix_millis);
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sql::select_field_classes::<sqlx::Sqlite>(&mut conn, since).await
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sql::select_field_classes::<sqlx::Postgres>(&mut conn, since).await
            }
            Backend::File(_) => Err(StoreError::NotQueryable("file")),
            Backend::Stdout => Err(StoreError::NotQueryable("stdout")),
        }
    }

    /// Deletes events older than `cutoff` from SQL sinks, in small batches
    /// so writers interleave; returns how many went. Files are bounded by
    /// rotation instead, so this is a no-op for them.
    pub async fn purge_before(&self, cutoff: SystemTime) -> Result<u64, StoreError> {
        let cutoff = unix_millis(cutoff);
        let mut total = 0;
        loop {
            let deleted = match &self.backend {
                Backend::Sqlite(pool) => {
                    let mut conn = pool.acquire().await?;
                    sql::delete_some::<sqlx::Sqlite>(&mut conn, cutoff).await?
                }
                Backend::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    sql::delete_some::<sqlx::Postgres>(&mut conn, cutoff).await?
                }
                Backend::File(_) | Backend::Stdout => 0,
            };
            total += deleted;
            if deleted < sql::ROWS_PER_DELETE_U64 {
                return Ok(total);
            }
        }
    }

    /// Closes database connections (after the recorder has drained).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
            Backend::File(_) | Backend::Stdout => {}
        }
    }
}

/// Runs blocking file I/O off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::WriteFailed(format!("writer task failed: {e}")))?
}

/// An unquoted PostgreSQL identifier: the same rule the configuration checks.
fn is_identifier(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
