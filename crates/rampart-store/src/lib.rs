//! The audit store: one [`AuditEvent`] per exchange, written durably in
//! batches off the request path, and read back by time, principal, IP,
//! operation and decision.
//!
//! - [`Store`] is an opened sink: embedded SQLite (the default, WAL mode,
//!   retention by age), PostgreSQL for clusters, a JSON-lines file with
//!   size-based rotation, or stdout.
//! - [`Recorder`] sits in front of a store. The gateway's record phase
//!   calls [`Recorder::record`], which only queues; a writer task commits
//!   batches and resolves each event's [`Ack`] once it is durable.
//! - [`EventQuery`] is what `rampart events` and the admin API ask;
//!   [`Store::scan`] reads every event of a window (the inventory).
//! - [`FieldClassCount`] rows say which classes of sensitive data each
//!   operation's responses carried (SQL sinks only, never values).
//!
//! ```no_run
//! # async fn demo() -> Result<(), rampart_store::StoreError> {
//! use rampart_store::{AuditEvent, EventQuery, Recorder, RecorderOptions, Store};
//!
//! let store = Store::sqlite("events.db".as_ref()).await?;
//! let (recorder, task) = Recorder::start(store, RecorderOptions::default());
//! let event = AuditEvent::new(std::time::SystemTime::now(), "req-1", "192.0.2.1");
//! recorder.record(event).await.await?; // durable from here on
//! let newest = recorder.query(&EventQuery::default()).await?;
//! task.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod event;
mod fields;
mod recorder;
mod sink;

use std::path::PathBuf;

pub use event::{AuditEvent, EventQuery, MAX_QUERY_KEYS, Verdict, query_names};
pub use fields::FieldClassCount;
pub use recorder::{Ack, Recorder, RecorderOptions, RecorderStats, RecorderTask};
pub use sink::Store;

/// What can go wrong opening, writing or reading the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An event could not be encoded as JSON.
    #[error("cannot encode an event: {0}")]
    Encode(#[from] serde_json::Error),
    /// The PostgreSQL URL's environment variable is not set.
    #[error("environment variable {0} (the PostgreSQL URL) is not set")]
    MissingUrl(String),
    /// The PostgreSQL schema name is not a plain identifier.
    #[error("invalid PostgreSQL schema name `{0}`")]
    InvalidSchema(String),
    /// The database was written by a newer Rampart.
    #[error("the audit schema is at version {found}; this Rampart supports up to {supported}")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// `store.sink` is `off`.
    #[error("the audit store is off (store.sink: off)")]
    Off,
    /// The sink keeps no events (or no field classes) to read back.
    #[error("the {0} sink cannot be queried")]
    NotQueryable(&'static str),
    /// The queue was full and `overflow` is `drop`.
    #[error("event dropped: the audit queue is full")]
    Dropped,
    /// The recorder was shut down.
    #[error("the audit recorder is shut down")]
    Closed,
    /// A batch could not be written, even after retries.
    #[error("audit write failed: {0}")]
    WriteFailed(String),
}
