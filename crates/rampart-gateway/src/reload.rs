//! Hot reload: on SIGHUP, and when any file the runtime was built from
//! changes. The new runtime is built off the request path; it is swapped in
//! only if it builds completely, otherwise the last good one keeps serving
//! and the refusal is logged with every error.
//!
//! Files are polled (size and modification time, once a second) rather than
//! watched with inotify: polling sees edits made through atomic renames,
//! symlink swaps (Kubernetes ConfigMaps) and network filesystems alike, and
//! costs a handful of `stat` calls per second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, watch};

use crate::control::{ReloadRequest, ReloadResult};

use crate::runtime::Runtime;

type Fingerprint = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            let stamp = meta.and_then(|m| Some((m.len(), m.modified().ok()?)));
            (p.clone(), stamp)
        })
        .collect()
}

/// Watch for reload triggers until `stop` turns true: SIGHUP, a changed
/// file, or a request from the admin API (which gets the outcome back).
pub async fn watch(
    config_path: PathBuf,
    state: Arc<ArcSwap<Runtime>>,
    mut stop: watch::Receiver<bool>,
    mut asked: mpsc::Receiver<ReloadRequest>,
) {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut last = fingerprint(&state.load().files);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut reply = None;
        let reason = tokio::select! {
            _ = stop.changed() => return,
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => "SIGHUP",
            Some(tx) = asked.recv() => {
                reply = Some(tx);
                "admin API"
            }
            _ = tick.tick() => {
                let now = fingerprint(&state.load().files);
                if now == last { continue; }
                last = now;
                "file change"
            }
        };
        let outcome = reload_once(&config_path, &state, reason).await;
        if outcome.is_ok() {
            last = fingerprint(&state.load().files);
        }
        if let Some(tx) = reply {
            let _ = tx.send(outcome);
        }
    }
}

/// Build a new runtime from the config and swap it in if it builds.
async fn reload_once(
    config_path: &std::path::Path,
    state: &Arc<ArcSwap<Runtime>>,
    reason: &'static str,
) -> ReloadResult {
    let path = config_path.to_path_buf();
    let previous = state.load_full();
    let built = tokio::task::spawn_blocking(move || Runtime::reload(&path, &previous)).await;
    match built {
        Ok(Ok(rt)) => {
            let old_listen = state.load().config.config.listen;
            if rt.config.config.listen != old_listen {
                tracing::warn!(old = %old_listen, new = %rt.config.config.listen, "listen address changes need a restart; keeping the old one");
            }
            state.store(Arc::new(rt));
            tracing::info!(trigger = reason, "configuration reloaded");
            Ok(())
        }
        Ok(Err(errors)) => {
            let text = errors.to_string();
            tracing::error!(trigger = reason, errors = %text.replace('\n', "; "), "reload refused; the last good configuration keeps serving");
            Err(text)
        }
        Err(e) => {
            tracing::error!(error = %e, "reload task failed");
            Err(format!("the reload task failed: {e}"))
        }
    }
}
