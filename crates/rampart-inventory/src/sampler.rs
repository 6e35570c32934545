//! Field sampling for the gateway: classify one JSON response in N, keep
//! the (operation, pointer, class) counts in memory, and write them to the
//! store in one upsert now and then.
//!
//! The response path pays one atomic increment per response, and for a
//! sampled one the classification plus a short lock; the database sees
//! one transaction per flush, not one per sample. What waits in memory is
//! bounded ([`MAX_PENDING`] distinct keys), and holds no values.
//!
//! Wiring it into the gateway (SQL sinks only, see
//! [`Store::keeps_field_classes`]):
//!
//! ```no_run
//! # async fn wiring(store: rampart_store::Store, body: serde_json::Value) {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use rampart_inventory::FieldSampler;
//!
//! // At start-up, beside the recorder: one JSON response in 100.
//! let sampler = Arc::new(FieldSampler::new(store, 100));
//! let flusher = sampler.spawn_flusher(Duration::from_secs(10));
//! // Response phase, on the parsed JSON body as sent to the client, for a
//! // routed exchange (api name, operationId):
//! if sampler.should_sample() {
//!     sampler.observe("riders", "getRider", &body, SystemTime::now());
//! }
//! // An unrouted exchange passed through in monitor/off mode is keyed by
//! // its shadow key instead:
//! let key = rampart_inventory::shadow_key("GET", "/api/v1/riders/3");
//! # let _ = key;
//! // At shutdown, after the last exchange:
//! flusher.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rampart_store::{FieldClassCount, Store, StoreError};
use serde_json::Value;

use crate::classify::{DataClass, classify};

/// Distinct (api, operation, pointer, class) keys waiting for a flush;
/// sightings of new keys past it are dropped until the next flush.
pub const MAX_PENDING: usize = 10_000;

type Key = (String, String, String, DataClass);

/// Samples responses and records their field classes. Share it behind an
/// `Arc`.
#[derive(Debug)]
pub struct FieldSampler {
    store: Store,
    every: u64,
    seen: AtomicU64,
    pending: Mutex<HashMap<Key, FieldClassCount>>,
}

impl FieldSampler {
    /// Samples one response in `every` (0 and 1 both mean every response).
    pub fn new(store: Store, every: u32) -> Self {
        FieldSampler {
            store,
            every: u64::from(every.max(1)),
            seen: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this response is the one in N to classify. Call it before
    /// parsing anything, so unsampled responses cost one increment.
    pub fn should_sample(&self) -> bool {
        self.seen
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(self.every)
    }

    /// Classifies `body` (a response of `operation` of `api`, or for an
    /// unrouted one the [`crate::shadow_key`] of its request) and keeps its
    /// field classes for the next [`flush`](Self::flush). Returns how many
    /// classes the body held.
    pub fn observe(&self, api: &str, operation: &str, body: &Value, at: SystemTime) -> usize {
        let found = classify(body);
        if found.is_empty() {
            return 0;
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for f in &found {
            let key = (
                api.to_owned(),
                operation.to_owned(),
                f.pointer.clone(),
                f.class,
            );
            if let Some(row) = pending.get_mut(&key) {
                row.last_seen = row.last_seen.max(at);
                row.count += 1;
            } else if pending.len() < MAX_PENDING {
                pending.insert(
                    key,
                    FieldClassCount::seen(api, operation, &f.pointer, f.class.as_str(), at),
                );
            }
        }
        found.len()
    }

    /// Writes what is pending in one transaction; returns how many rows.
    /// On failure the rows are put back (up to the bound) for the next try.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let rows: Vec<FieldClassCount> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.drain().map(|(_, row)| row).collect()
        };
        if rows.is_empty() {
            return Ok(0);
        }
        match self.store.record_field_classes(&rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                for row in rows {
                    let Some(class) = DataClass::parse(&row.class) else {
                        continue;
                    };
                    let key = (
                        row.api.clone(),
                        row.operation.clone(),
                        row.pointer.clone(),
                        class,
                    );
                    if pending.len() < MAX_PENDING || pending.contains_key(&key) {
                        pending
                            .entry(key)
                            .and_modify(|p| {
                                p.first_seen = p.first_seen.min(row.first_seen);
                                p.count += row.count;
                            })
                            .or_insert(row);
                    }
                }
                Err(e)
            }
        }
    }
}

impl FieldSampler {
    /// Flushes every `every` on the current tokio runtime until
    /// [`SamplerFlusher::shutdown`], which flushes once more. Failures are
    /// logged and retried at the next tick.
    pub fn spawn_flusher(self: &Arc<Self>, every: Duration) -> SamplerFlusher {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sampler = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                if let Err(e) = sampler.flush().await {
                    tracing::warn!(error = %e, "field classes not written; retrying at the next flush");
                }
            }
            if let Err(e) = sampler.flush().await {
                tracing::warn!(error = %e, "field classes lost at shutdown");
            }
        });
        SamplerFlusher { stop, task }
    }
}

/// The task [`FieldSampler::spawn_flusher`] started.
#[derive(Debug)]
pub struct SamplerFlusher {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SamplerFlusher {
    /// Stops the periodic flush after one last flush.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "field class flusher failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn samples_one_in_n_and_flushes_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::sqlite(&dir.path().join("e.db"))
            .await
            .expect("store");
        let sampler = FieldSampler::new(store.clone(), 4);
        let sampled = (0..12).filter(|_| sampler.should_sample()).count();
        assert_eq!(sampled, 3);
        let body = json!([{"email": "a@example.com"}, {"email": "b@example.com"}]);
        let now = SystemTime::now();
        assert_eq!(sampler.observe("riders", "searchRiders", &body, now), 1);
        assert_eq!(sampler.observe("riders", "searchRiders", &body, now), 1);
        assert_eq!(
            sampler.observe("riders", "searchRiders", &json!({"n": 1}), now),
            0
        );
        assert_eq!(sampler.flush().await.expect("flush"), 1);
        assert_eq!(sampler.flush().await.expect("flush"), 0, "nothing pending");
        let rows = store.field_classes(None).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].pointer.as_str(),
                rows[0].class.as_str(),
                rows[0].count
            ),
            ("/*/email", "email", 2)
        );
    }

    #[tokio::test]
    async fn the_flusher_writes_what_is_pending_at_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::sqlite(&dir.path().join("e.db"))
            .await
            .expect("store");
        let sampler = Arc::new(FieldSampler::new(store.clone(), 1));
        let flusher = sampler.spawn_flusher(Duration::from_secs(3600));
        sampler.observe(
            "riders",
            "getRider",
            &json!({"ssn": "123-45-6789"}),
            SystemTime::now(),
        );
        flusher.shutdown().await;
        let rows = store.field_classes(None).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].class, "government_id");
    }
}
