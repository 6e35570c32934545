//! The security log: one JSON line per exchange.
//!
//! Events are serialized on the request task and handed to a single writer
//! task through a bounded channel, so disk latency never sits on the request
//! path while a slow disk still pushes back (the channel is bounded; nothing is
//! dropped silently). The writer flushes whenever the channel runs dry, and on
//! shutdown drains every queued event before returning.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use rampart_config::SecurityLogTarget;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How an exchange ended, from the security point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Passed every check.
    Allowed,
    /// Refused by Rampart.
    Blocked,
    /// Would have been refused, but the mode is `monitor`.
    Flagged,
    /// Passed, with the response changed (properties stripped).
    Modified,
    /// Not checked (`off` mode).
    Unchecked,
}

/// One exchange, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityEvent {
    /// RFC 3339 UTC time the request arrived.
    pub ts: String,
    /// The request id (also in the response's `x-request-id`).
    pub request_id: String,
    /// Client address.
    pub client_ip: String,
    /// Method.
    pub method: String,
    /// Canonical path (clipped).
    pub path: String,
    /// API name, when routed.
    pub api: Option<String>,
    /// operationId, when routed.
    pub operation: Option<String>,
    /// Route template, when routed.
    pub route: Option<String>,
    /// Effective mode.
    pub mode: &'static str,
    /// The verdict.
    pub decision: Verdict,
    /// Status sent to the client.
    pub status: u16,
    /// Status the upstream answered, when it was called.
    pub upstream_status: Option<u16>,
    /// Rule ids that fired.
    pub rules: Vec<&'static str>,
    /// Short reason, when a rule fired.
    pub reason: Option<String>,
    /// Time from request to response head, in milliseconds.
    pub latency_ms: f64,
}

/// Format a time as RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Handle for emitting events.
#[derive(Clone, Debug)]
pub struct SecurityLog {
    tx: mpsc::Sender<Vec<u8>>,
}

/// The writer task; await it after dropping every [`SecurityLog`] to flush.
pub struct SecurityLogWriter(JoinHandle<()>);

impl SecurityLogWriter {
    /// Wait until every queued event is written and flushed.
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

const QUEUE: usize = 16 * 1024;

impl SecurityLog {
    /// Open the target and start the writer.
    pub fn start(
        target: &SecurityLogTarget,
        resolve: impl Fn(&std::path::Path) -> PathBuf,
    ) -> std::io::Result<(SecurityLog, SecurityLogWriter)> {
        let mut sink: Box<dyn Write + Send> = match target {
            SecurityLogTarget::Stdout => Box::new(std::io::stdout()),
            SecurityLogTarget::Stderr => Box::new(std::io::stderr()),
            SecurityLogTarget::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(resolve(p))?,
            ),
        };
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
        let handle = tokio::task::spawn_blocking(move || {
            let mut buf = std::io::BufWriter::with_capacity(64 * 1024, &mut sink);
            while let Some(line) = rx.blocking_recv() {
                let _ = buf.write_all(&line);
                while let Ok(line) = rx.try_recv() {
                    let _ = buf.write_all(&line);
                }
                if let Err(e) = buf.flush() {
                    tracing::error!(error = %e, "security log write failed");
                }
            }
            let _ = buf.flush();
        });
        Ok((SecurityLog { tx }, SecurityLogWriter(handle)))
    }

    /// Record one event.
    pub async fn emit(&self, event: &SecurityEvent) {
        let mut line = match serde_json::to_vec(event) {
            Ok(l) => l,
            Err(_) => return,
        };
        line.push(b'\n');
        if self.tx.send(line).await.is_err() {
            tracing::error!("security log writer has stopped; event lost");
        }
    }
}
