//! The recorder: takes events on the request path and writes them in
//! batches on a task of its own.
//!
//! The request path only locks a queue, pushes and leaves with an [`Ack`].
//! The writer task takes up to `batch_max_events` at a time, as soon as
//! that many wait or the oldest has waited `batch_max_delay`, and writes
//! them with one commit (SQL) or one fsync (file). An [`Ack`] resolves once
//! the batch holding its event is durable: an event acknowledged as stored
//! survives a crash of the process.
//!
//! Acks cost no allocation each: events get increasing sequence numbers
//! under the queue lock, batches leave the queue in order, and the writer
//! publishes the last sequence number it resolved on a `watch` channel, so
//! an ack is a number and a receiver. Failed batches (after retries) are
//! published as ranges, so their acks report the failure.
//!
//! When the sink is slower than traffic the queue fills, and `overflow`
//! decides: `backpressure` makes `record` wait for room, `drop` refuses the
//! event at once and counts it.

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rampart_config::{Overflow, StoreConfig};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::StoreError;
use crate::event::{AuditEvent, EventQuery};
use crate::sink::Store;

/// Failed batch ranges remembered for late acks.
const FAILED_RANGES_KEPT: usize = 1024;
/// First and largest pause between retries of a failed batch.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// How the recorder batches, queues and retains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderOptions {
    /// Largest batch written at once.
    pub batch_max_events: usize,
    /// Longest an event waits for its batch to fill.
    pub batch_max_delay: Duration,
    /// Events waiting at most; past it, `overflow` applies.
    pub queue_capacity: usize,
    /// What a full queue does to `record`.
    pub overflow: Overflow,
    /// How long a failed batch is retried before its acks report failure.
    pub retry_for: Duration,
    /// Age past which SQL sinks delete events; `None` keeps everything.
    pub retention: Option<Duration>,
    /// How often expired events are deleted.
    pub retention_check: Duration,
}

impl RecorderOptions {
    /// The options `store` configures.
    pub fn from_config(store: &StoreConfig) -> Self {
        RecorderOptions {
            batch_max_events: store.batch_max_events.max(1),
            batch_max_delay: Duration::from_millis(store.batch_max_delay_ms),
            queue_capacity: store.queue_capacity.max(store.batch_max_events).max(1),
            overflow: store.overflow,
            retry_for: Duration::from_secs(30),
            retention: Some(Duration::from_secs(
                store.retention_hours.saturating_mul(3600),
            )),
            retention_check: Duration::from_secs(store.retention_check_seconds.max(1)),
        }
    }
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions::from_config(&StoreConfig::default())
    }
}

/// Counters for metrics (`rampart_store_*`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RecorderStats {
    /// Events waiting to be written (`queue_depth`).
    pub queue_depth: usize,
    /// The queue's capacity.
    pub queue_capacity: usize,
    /// Events accepted into the queue.
    pub recorded_total: u64,
    /// Events durably written.
    pub written_total: u64,
    /// Events refused because the queue was full (`overflow: drop`).
    pub dropped_total: u64,
    /// Events whose batch could not be written after retries.
    pub failed_total: u64,
    /// Batches written.
    pub batches_total: u64,
    /// Age of the oldest event not yet durable, in seconds; 0 when none
    /// waits (`store_lag_seconds`).
    pub lag_seconds: f64,
}

/// Takes events and has them written in batches. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

/// The recorder's background tasks; [`shutdown`](Self::shutdown) drains
/// the queue before returning.
#[derive(Debug)]
pub struct RecorderTask {
    shared: Arc<Shared>,
    writer: JoinHandle<()>,
    retention: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    options: RecorderOptions,
    queue: Mutex<Queue>,
    /// Wakes the writer: first event of a batch, a full batch, or closing.
    wake_writer: Notify,
    /// Wakes `record` calls waiting for room.
    room: Notify,
    progress: watch::Sender<Progress>,
    recorded: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    batches: AtomicU64,
}

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<Queued>,
    next_seq: u64,
    closed: bool,
    /// When the oldest event of the batch being written was queued.
    in_flight_since: Option<Instant>,
}

#[derive(Debug)]
struct Queued {
    seq: u64,
    at: Instant,
    event: AuditEvent,
}

#[derive(Debug, Default)]
struct Progress {
    /// Every sequence number up to this one is resolved (written or failed).
    resolved: u64,
    /// Inclusive ranges of sequence numbers whose batch failed.
    failed: VecDeque<(u64, u64)>,
    /// The writer has stopped.
    stopped: bool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue stays consistent whatever panicked while holding it.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Recorder {
    /// Starts the writer (and, for SQL sinks with a retention, the purge
    /// task) on the current tokio runtime.
    pub fn start(store: Store, options: RecorderOptions) -> (Recorder, RecorderTask) {
        let shared = Arc::new(Shared {
            store,
            options,
            queue: Mutex::new(Queue {
                next_seq: 1,
                ..Queue::default()
            }),
            wake_writer: Notify::new(),
            room: Notify::new(),
            progress: watch::Sender::new(Progress::default()),
            recorded: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            batches: AtomicU64::new(0),
        });
        let writer = tokio::spawn(write_loop(shared.clone()));
        let retention = shared
            .options
            .retention
            .filter(|_| matches!(shared.store.kind(), "sqlite" | "postgres"))
            .map(|age| tokio::spawn(retention_loop(shared.clone(), age)));
        (
            Recorder {
                shared: shared.clone(),
            },
            RecorderTask {
                shared,
                writer,
                retention,
            },
        )
    }

    /// Queues `event` and returns its [`Ack`], which resolves once the
    /// event is durable. With `overflow: backpressure` this waits while
    /// the queue is full; with `drop` it never waits, and a full queue
    /// gives an ack that reports [`StoreError::Dropped`].
    pub async fn record(&self, event: AuditEvent) -> Ack {
        let shared = &self.shared;
        let mut event = Some(event);
        loop {
            let room = shared.room.notified();
            tokio::pin!(room);
            // Register for `notify_waiters` before looking at the queue,
            // so room made in between is not missed.
            room.as_mut().enable();
            {
                let mut queue = shared.queue();
                if queue.closed {
                    return Ack::done(Err(StoreError::Closed));
                }
                if queue.events.len() < shared.options.queue_capacity {
                    let seq = queue.next_seq;
                    queue.next_seq += 1;
                    let Some(event) = event.take() else {
                        return Ack::done(Err(StoreError::Closed));
                    };
                    queue.events.push_back(Queued {
                        seq,
                        at: Instant::now(),
                        event,
                    });
                    let len = queue.events.len();
                    drop(queue);
                    shared.recorded.fetch_add(1, Ordering::Relaxed);
                    if len == 1 || len >= shared.options.batch_max_events {
                        shared.wake_writer.notify_one();
                    }
                    return Ack {
                        state: AckState::Pending {
                            seq,
                            progress: shared.progress.subscribe(),
                        },
                    };
                }
                if shared.options.overflow == Overflow::Drop {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ack::done(Err(StoreError::Dropped));
                }
            }
            shared.wake_writer.notify_one();
            room.await;
        }
    }

    /// Queues `event` and waits until it is durable.
    pub async fn record_durably(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.record(event).await.await
    }

    /// Events matching `q`, newest first (events still queued are not
    /// included).
    pub async fn query(&self, q: &EventQuery) -> Result<Vec<AuditEvent>, StoreError> {
        self.shared.store.query(q).await
    }

    /// The store events are written to.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Current counters.
    pub fn stats(&self) -> RecorderStats {
        let shared = &self.shared;
        let (queue_depth, oldest) = {
            let queue = shared.queue();
            let front = queue.events.front().map(|q| q.at);
            (queue.events.len(), queue.in_flight_since.or(front))
        };
        RecorderStats {
            queue_depth,
            queue_capacity: shared.options.queue_capacity,
            recorded_total: shared.recorded.load(Ordering::Relaxed),
            written_total: shared.written.load(Ordering::Relaxed),
            dropped_total: shared.dropped.load(Ordering::Relaxed),
            failed_total: shared.failed.load(Ordering::Relaxed),
            batches_total: shared.batches.load(Ordering::Relaxed),
            lag_seconds: oldest.map_or(0.0, |t| t.elapsed().as_secs_f64()),
        }
    }
}

impl RecorderTask {
    /// Stops taking events, writes everything queued, and stops the tasks.
    pub async fn shutdown(self) {
        self.shared.queue().closed = true;
        self.shared.wake_writer.notify_one();
        self.shared.room.notify_waiters();
        if let Err(e) = self.writer.await {
            tracing::error!(error = %e, "audit writer task failed");
        }
        if let Some(retention) = self.retention {
            retention.abort();
        }
    }
}

/// Resolves when the event it stands for is durable (or could not be).
/// Await it, or drop it when the outcome does not matter.
#[derive(Debug)]
#[must_use = "an ack does nothing unless awaited; drop it explicitly if the outcome does not matter"]
pub struct Ack {
    state: AckState,
}

#[derive(Debug)]
enum AckState {
    Pending {
        seq: u64,
        progress: watch::Receiver<Progress>,
    },
    Done(Result<(), StoreError>),
}

impl Ack {
    fn done(result: Result<(), StoreError>) -> Self {
        Ack {
            state: AckState::Done(result),
        }
    }

    /// Whether the event was refused at once because the queue was full.
    pub fn is_dropped(&self) -> bool {
        matches!(self.state, AckState::Done(Err(StoreError::Dropped)))
    }

    /// Waits until the event is durable.
    pub async fn committed(self) -> Result<(), StoreError> {
        let (seq, mut progress) = match self.state {
            AckState::Done(result) => return result,
            AckState::Pending { seq, progress } => (seq, progress),
        };
        let progress = progress
            .wait_for(|p| p.resolved >= seq || p.stopped)
            .await
            .map_err(|_| StoreError::Closed)?;
        if progress.resolved < seq {
            return Err(StoreError::Closed);
        }
        if progress.failed.iter().any(|&(a, b)| (a..=b).contains(&seq)) {
            return Err(StoreError::WriteFailed(
                "the batch holding this event could not be written".to_owned(),
            ));
        }
        Ok(())
    }
}

impl IntoFuture for Ack {
    type Output = Result<(), StoreError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.committed())
    }
}

async fn write_loop(shared: Arc<Shared>) {
    let batch_max = shared.options.batch_max_events.max(1);
    loop {
        let Some(batch) = next_batch(&shared, batch_max).await else {
            shared.progress.send_modify(|p| p.stopped = true);
            return;
        };
        shared.room.notify_waiters();
        let (first, last) = match (batch.first(), batch.last()) {
            (Some(f), Some(l)) => (f.seq, l.seq),
            _ => continue,
        };
        let events: Vec<AuditEvent> = batch.into_iter().map(|q| q.event).collect();
        let ok = write_with_retries(&shared, &events).await;
        let count = events.len() as u64;
        if ok {
            shared.written.fetch_add(count, Ordering::Relaxed);
            shared.batches.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.failed.fetch_add(count, Ordering::Relaxed);
        }
        shared.queue().in_flight_since = None;
        shared.progress.send_modify(|p| {
            p.resolved = last;
            if !ok {
                p.failed.push_back((first, last));
                if p.failed.len() > FAILED_RANGES_KEPT {
                    p.failed.pop_front();
                }
            }
        });
    }
}

/// Waits for a batch to be due and takes it; `None` once closed and empty.
async fn next_batch(shared: &Shared, batch_max: usize) -> Option<Vec<Queued>> {
    loop {
        let deadline = {
            let mut queue = shared.queue();
            match queue.events.front() {
                None if queue.closed => return None,
                None => None,
                Some(front) => {
                    let deadline = front.at + shared.options.batch_max_delay;
                    if queue.closed || queue.events.len() >= batch_max || Instant::now() >= deadline
                    {
                        let take = queue.events.len().min(batch_max);
                        let batch: Vec<Queued> = queue.events.drain(..take).collect();
                        queue.in_flight_since = batch.first().map(|q| q.at);
                        return Some(batch);
                    }
                    Some(deadline)
                }
            }
        };
        match deadline {
            None => shared.wake_writer.notified().await,
            Some(deadline) => {
                tokio::select! {
                    () = shared.wake_writer.notified() => {}
                    () = tokio::time::sleep_until(deadline.into()) => {}
                }
            }
        }
    }
}

async fn write_with_retries(shared: &Shared, events: &[AuditEvent]) -> bool {
    let started = Instant::now();
    let mut pause = RETRY_FIRST;
    loop {
        match shared.store.write(events).await {
            Ok(()) => return true,
            Err(e) => {
                if started.elapsed() + pause > shared.options.retry_for {
                    tracing::error!(error = %e, events = events.len(), "audit batch lost after retries");
                    return false;
                }
                tracing::warn!(error = %e, retry_in = ?pause, "audit batch write failed");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

async fn retention_loop(shared: Arc<Shared>, age: Duration) {
    loop {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match shared.store.purge_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired audit events deleted"),
            Err(e) => tracing::warn!(error = %e, "audit retention failed"),
        }
        tokio::time::sleep(shared.options.retention_check).await;
    }
}
