//! Blocks shared by a cluster through Redis.
//!
//! The request path never waits on Redis: every instance answers from its
//! own [`MemoryBlocklist`], and a background task keeps that copy and
//! Redis in step.
//!
//! - A block decided here is applied locally at once, then written to one
//!   Redis hash (`<prefix>blocks`, field = subject, value = JSON).
//! - Every `resync` interval the task reads the hash back: blocks other
//!   instances decided are applied, expired entries are deleted, and local
//!   blocks missing from Redis (written while it was down) are written again.
//! - An operator's unblock is a tombstone, not a deletion, so instances
//!   that still hold the block drop it instead of writing it back. A
//!   block decided after the tombstone wins over it.
//!
//! The copies are eventually consistent: a change made on one instance
//! is enforced by the others within one `resync` interval.
//!
//! A hash rather than one key per block: reading every block is one
//! `HGETALL`, where a `SCAN` over a Redis shared with rate limits would
//! walk every key. Blocks number in the hundreds, not millions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, IntoConnectionInfo};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::DetectError;
use crate::blocklist::{Block, Blocklist, MemoryBlocklist, rfc3339};
use crate::subject::{Subject, SubjectRef};

/// Changes waiting to be written; past this, the next resync repairs.
const PENDING_WRITES: usize = 4096;
/// How long a tombstone outlives the block it lifted.
const TOMBSTONE_TTL: Duration = Duration::from_secs(24 * 3600);

/// One field of the shared hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Entry {
    Active(Block),
    Lifted {
        #[serde(with = "rfc3339")]
        at: SystemTime,
        #[serde(with = "rfc3339")]
        until: SystemTime,
    },
}

impl Entry {
    fn until(&self) -> SystemTime {
        match self {
            Entry::Active(b) => b.until,
            Entry::Lifted { until, .. } => *until,
        }
    }
}

/// A blocklist every gateway instance sharing one Redis sees.
#[derive(Debug)]
pub struct RedisBlocklist {
    local: MemoryBlocklist,
    writes: mpsc::Sender<(String, Entry)>,
    redis: Redis,
    /// Changes queued and changes written (or given up on), so callers
    /// can wait for the queue to drain ([`RedisBlocklist::flushed`]).
    queued: AtomicU64,
    done: AtomicU64,
}

#[derive(Debug, Clone)]
struct Redis {
    manager: ConnectionManager,
    key: String,
}

impl RedisBlocklist {
    /// Connects to `url` (with `password`, if any, for `AUTH`), loads the
    /// blocks already shared under `key_prefix`, and starts the task that
    /// writes local changes and reads others' every `resync`.
    pub async fn connect(
        url: &str,
        password: Option<String>,
        key_prefix: &str,
        timeout: Duration,
        resync: Duration,
    ) -> Result<(Arc<RedisBlocklist>, JoinHandle<()>), DetectError> {
        let redis_error = |e: redis::RedisError| DetectError::Redis(e.to_string());
        let mut info = url.into_connection_info().map_err(redis_error)?;
        if let Some(password) = password {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = Client::open(info).map_err(redis_error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_error)?;
        let (writes, mut pending) = mpsc::channel(PENDING_WRITES);
        let list = Arc::new(RedisBlocklist {
            local: MemoryBlocklist::new(),
            writes,
            redis: Redis {
                manager,
                key: format!("{key_prefix}blocks"),
            },
            queued: AtomicU64::new(0),
            done: AtomicU64::new(0),
        });
        list.sync(SystemTime::now()).await?;
        let task_list = list.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(resync.max(Duration::from_millis(10)));
            loop {
                tokio::select! {
                    biased;
                    write = pending.recv() => match write {
                        Some((field, entry)) => {
                            task_list.redis.put(&field, &entry).await;
                            task_list.done.fetch_add(1, Ordering::Release);
                        }
                        None => return,
                    },
                    _ = tick.tick() => {
                        if let Err(e) = task_list.sync(SystemTime::now()).await {
                            tracing::warn!(error = %e, "blocklist resync with Redis failed");
                        }
                    }
                }
            }
        });
        Ok((list, task))
    }

    /// Reconciles the local copy with Redis (the task does this every
    /// `resync`; tests call it to skip the wait).
    pub async fn sync(&self, now: SystemTime) -> Result<(), DetectError> {
        let remote = self.redis.read_all().await?;
        let mut expired = Vec::new();
        let mut seen = HashMap::new();
        for (field, entry) in remote {
            if entry.until() <= now {
                expired.push(field);
                continue;
            }
            let Ok(subject) = field.parse::<Subject>() else {
                expired.push(field);
                continue;
            };
            let local = self.local.get(subject.as_ref(), now);
            match (&entry, local) {
                (Entry::Active(block), Some(mine)) if mine.since > block.since => {
                    self.redis.put(&field, &Entry::Active(mine)).await;
                }
                (Entry::Active(block), _) => self.local.insert(block.clone()),
                (Entry::Lifted { at, .. }, Some(mine)) if mine.since > *at => {
                    self.redis.put(&field, &Entry::Active(mine)).await;
                }
                (Entry::Lifted { .. }, Some(_)) => {
                    self.local.remove(subject.as_ref());
                }
                (Entry::Lifted { .. }, None) => {}
            }
            seen.insert(field, ());
        }
        for block in self.local.list(now) {
            let field = block.subject.to_string();
            if !seen.contains_key(&field) {
                self.redis.put(&field, &Entry::Active(block)).await;
            }
        }
        self.redis.delete(&expired).await;
        Ok(())
    }

    fn share(&self, field: String, entry: Entry) {
        if self.writes.try_send((field, entry)).is_ok() {
            self.queued.fetch_add(1, Ordering::Release);
        } else {
            tracing::warn!("blocklist write queue full; the next resync will share the change");
        }
    }

    /// Waits (up to `limit`) until every change made here has been
    /// written to Redis; returns whether it was.
    pub async fn flushed(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.done.load(Ordering::Acquire) < self.queued.load(Ordering::Acquire) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }
}

impl Redis {
    async fn read_all(&self) -> Result<Vec<(String, Entry)>, DetectError> {
        let mut conn = self.manager.clone();
        let raw: HashMap<String, String> = conn
            .hgetall(&self.key)
            .await
            .map_err(|e| DetectError::Redis(e.to_string()))?;
        let mut entries = Vec::with_capacity(raw.len());
        for (field, value) in raw {
            match serde_json::from_str::<Entry>(&value) {
                Ok(entry) => entries.push((field, entry)),
                Err(e) => tracing::warn!(field, error = %e, "ignoring a malformed shared block"),
            }
        }
        Ok(entries)
    }

    async fn put(&self, field: &str, entry: &Entry) {
        let Ok(value) = serde_json::to_string(entry) else {
            return;
        };
        let mut conn = self.manager.clone();
        let written: Result<(), _> = conn.hset(&self.key, field, value).await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot share a block through Redis");
        }
    }

    async fn delete(&self, fields: &[String]) {
        if fields.is_empty() {
            return;
        }
        let mut conn = self.manager.clone();
        let deleted: Result<(), _> = conn.hdel(&self.key, fields).await;
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "cannot delete expired shared blocks");
        }
    }
}

impl Blocklist for RedisBlocklist {
    fn insert(&self, block: Block) {
        self.local.insert(block.clone());
        self.share(block.subject.to_string(), Entry::Active(block));
    }

    fn get(&self, subject: SubjectRef<'_>, now: SystemTime) -> Option<Block> {
        self.local.get(subject, now)
    }

    fn remove(&self, subject: SubjectRef<'_>) -> Option<Block> {
        let removed = self.local.remove(subject);
        let at = SystemTime::now();
        let until = removed.as_ref().map_or(at, |b| b.until.max(at)) + TOMBSTONE_TTL;
        self.share(subject.to_string(), Entry::Lifted { at, until });
        removed
    }

    fn list(&self, now: SystemTime) -> Vec<Block> {
        self.local.list(now)
    }
}
