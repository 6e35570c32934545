//! What operators steer at run time, through the admin API: operation modes
//! switched without editing the config, a reload on demand, and a live feed
//! of recorded exchanges.
//!
//! These live beside the [`Runtime`](crate::Runtime) rather than in it: a
//! reload rebuilds the runtime from the config file, and an operator who
//! switched an operation to `monitor` during an incident must not see the
//! switch undone by an unrelated config edit. Overrides last until they are
//! cleared or the process restarts (making them permanent is a config edit).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rampart_config::Mode;
use rampart_store::AuditEvent;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::runtime::Runtime;

/// Operation modes set by an operator, keyed by API name and operationId.
///
/// Read on every routed request, written rarely: an `ArcSwap` of a map
/// makes the read one atomic load (and no lookup at all while the map is
/// empty, which is the normal state). Keyed API first, then operation, so a
/// lookup borrows both names and allocates nothing.
#[derive(Debug, Default)]
pub struct ModeOverrides {
    map: ArcSwap<HashMap<String, HashMap<String, Mode>>>,
}

impl ModeOverrides {
    /// The operator's mode for this operation, if one is set.
    pub fn get(&self, api: &str, operation: &str) -> Option<Mode> {
        let map = self.map.load();
        if map.is_empty() {
            return None;
        }
        map.get(api)?.get(operation).copied()
    }

    /// Set (or, with `None`, clear) the mode of one operation.
    pub fn set(&self, api: &str, operation: &str, mode: Option<Mode>) {
        self.map.rcu(|current| {
            let mut next = HashMap::clone(current);
            match mode {
                Some(m) => {
                    next.entry(api.to_owned())
                        .or_default()
                        .insert(operation.to_owned(), m);
                }
                None => {
                    if let Some(ops) = next.get_mut(api) {
                        ops.remove(operation);
                        if ops.is_empty() {
                            next.remove(api);
                        }
                    }
                }
            }
            next
        });
    }

    /// Every override in force.
    pub fn all(&self) -> Vec<(String, String, Mode)> {
        let mut v: Vec<_> = self
            .map
            .load()
            .iter()
            .flat_map(|(a, ops)| ops.iter().map(move |(o, m)| (a.clone(), o.clone(), *m)))
            .collect();
        v.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        v
    }
}

/// Recorded exchanges as they happen, for the dashboard's live stream and
/// its running statistics.
///
/// A broadcast channel: a slow reader loses the oldest events (and is told
/// how many) instead of slowing the gateway. Nothing is cloned while nobody
/// listens.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    tx: broadcast::Sender<Arc<AuditEvent>>,
}

/// Events a live reader may fall behind by before it starts losing them.
const LIVE_CAPACITY: usize = 4096;

impl Default for LiveFeed {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(LIVE_CAPACITY);
        LiveFeed { tx }
    }
}

impl LiveFeed {
    /// Whether anyone listens (the pipeline skips the clone otherwise).
    pub fn wanted(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publish one event.
    pub fn publish(&self, event: AuditEvent) {
        // An error only means that nobody listens any more.
        let _ = self.tx.send(Arc::new(event));
    }

    /// A new reader, starting from the next event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AuditEvent>> {
        self.tx.subscribe()
    }
}

/// The answer to a reload asked for through [`Control::reload`].
pub type ReloadResult = Result<(), String>;

/// A reload request for the reload task, with where to send its outcome.
pub type ReloadRequest = oneshot::Sender<ReloadResult>;

/// The handle the admin API steers the gateway through.
#[derive(Clone)]
pub struct Control {
    /// The serving runtime (swapped by reloads).
    pub state: Arc<ArcSwap<Runtime>>,
    /// The metrics every worker records into.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The audit store and detector.
    pub monitor: crate::pipeline::Monitor,
    pub(crate) reload: mpsc::Sender<ReloadRequest>,
}

impl Control {
    /// Reload the config now, as SIGHUP would, and wait for the outcome:
    /// `Err` carries every error, and the last good config keeps serving.
    pub async fn reload(&self) -> ReloadResult {
        let (tx, rx) = oneshot::channel();
        self.reload
            .send(tx)
            .await
            .map_err(|_| "the gateway is shutting down".to_owned())?;
        rx.await
            .map_err(|_| "the reload task stopped before answering".to_owned())?
    }

    /// The operator's mode overrides.
    pub fn overrides(&self) -> &ModeOverrides {
        &self.monitor.overrides
    }

    /// The live feed of recorded exchanges.
    pub fn live(&self) -> &LiveFeed {
        &self.monitor.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_read_and_clear() {
        let o = ModeOverrides::default();
        assert_eq!(o.get("riders", "getRider"), None);
        o.set("riders", "getRider", Some(Mode::Monitor));
        o.set("riders", "updateRider", Some(Mode::Off));
        assert_eq!(o.get("riders", "getRider"), Some(Mode::Monitor));
        assert_eq!(o.get("other", "getRider"), None);
        assert_eq!(o.all().len(), 2);
        o.set("riders", "getRider", None);
        assert_eq!(o.get("riders", "getRider"), None);
        assert_eq!(
            o.all(),
            vec![("riders".into(), "updateRider".into(), Mode::Off)]
        );
    }

    #[tokio::test]
    async fn the_live_feed_reaches_subscribers_only_while_they_listen() {
        let feed = LiveFeed::default();
        assert!(!feed.wanted());
        let mut rx = feed.subscribe();
        assert!(feed.wanted());
        feed.publish(AuditEvent::new(
            std::time::SystemTime::now(),
            "r1",
            "192.0.2.1",
        ));
        let got = rx.recv().await.unwrap();
        assert_eq!(got.request_id, "r1");
        drop(rx);
        assert!(!feed.wanted());
    }
}
