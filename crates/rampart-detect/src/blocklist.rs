//! Blocks and throttles in force, consulted early in the pipeline.
//!
//! [`Blocklist`] is a trait so a cluster can share blocks (e.g. through
//! Redis) while a single instance keeps them in memory
//! ([`MemoryBlocklist`]). Lookups on the request path must be cheap: the
//! memory list answers "nothing blocked" from an atomic counter without
//! taking its lock, and finds a subject by its keyed hash without
//! allocating.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::detection::DetectionKind;
use crate::subject::{Subject, SubjectHasher, SubjectRef};

/// What a block does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Restriction {
    /// Refuse every request.
    Block,
    /// Allow at most `per_minute` requests per minute.
    Throttle {
        /// Requests allowed per minute.
        per_minute: u32,
    },
}

/// A block or throttle on one subject, until a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Who.
    pub subject: Subject,
    /// Block or throttle.
    pub restriction: Restriction,
    /// The detection behind it; `None` when an operator set it.
    pub kind: Option<DetectionKind>,
    /// Why, for operators and the problem response's log.
    pub reason: String,
    /// Since when.
    #[serde(with = "rfc3339")]
    pub since: SystemTime,
    /// Until when.
    #[serde(with = "rfc3339")]
    pub until: SystemTime,
}

/// Times as RFC 3339 UTC with milliseconds (blocks are shared as JSON).
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

/// Where blocks live. Implementations expire blocks at `until` on their own.
pub trait Blocklist: Send + Sync + fmt::Debug {
    /// Adds or replaces the block on `block.subject`.
    fn insert(&self, block: Block);
    /// The block on `subject` in force at `now`, if any.
    fn get(&self, subject: SubjectRef<'_>, now: SystemTime) -> Option<Block>;
    /// Lifts the block on `subject`; returns it if there was one.
    fn remove(&self, subject: SubjectRef<'_>) -> Option<Block>;
    /// Every block in force at `now`, soonest to end first.
    fn list(&self, now: SystemTime) -> Vec<Block>;
}

/// Blocks in this process's memory.
#[derive(Default)]
pub struct MemoryBlocklist {
    hasher: SubjectHasher,
    blocks: RwLock<HashMap<u64, Block>>,
    /// Entries in `blocks`, read without the lock.
    len: AtomicUsize,
}

impl fmt::Debug for MemoryBlocklist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBlocklist")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl MemoryBlocklist {
    /// An empty list.
    pub fn new() -> Self {
        MemoryBlocklist::default()
    }

    fn sync_len(&self, map: &HashMap<u64, Block>) {
        self.len.store(map.len(), Ordering::Relaxed);
    }
}

impl Blocklist for MemoryBlocklist {
    fn insert(&self, block: Block) {
        let key = self.hasher.subject(block.subject.as_ref());
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        map.insert(key, block);
        self.sync_len(&map);
    }

    fn get(&self, subject: SubjectRef<'_>, now: SystemTime) -> Option<Block> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let key = self.hasher.subject(subject);
        let expired = {
            let map = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
            match map.get(&key) {
                None => return None,
                Some(block) if block.until > now => return Some(block.clone()),
                Some(_) => true,
            }
        };
        if expired {
            let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
            map.retain(|_, b| b.until > now);
            self.sync_len(&map);
        }
        None
    }

    fn remove(&self, subject: SubjectRef<'_>) -> Option<Block> {
        let key = self.hasher.subject(subject);
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let removed = map.remove(&key);
        self.sync_len(&map);
        removed
    }

    fn list(&self, now: SystemTime) -> Vec<Block> {
        let mut map = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, b| b.until > now);
        self.sync_len(&map);
        let mut blocks: Vec<Block> = map.values().cloned().collect();
        blocks.sort_by(|a, b| {
            (a.until, a.subject.to_string()).cmp(&(b.until, b.subject.to_string()))
        });
        blocks
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn block(subject: &str, until: SystemTime) -> Block {
        Block {
            subject: subject.parse().expect("subject"),
            restriction: Restriction::Block,
            kind: None,
            reason: "test".to_owned(),
            since: SystemTime::UNIX_EPOCH,
            until,
        }
    }

    #[test]
    fn blocks_expire_and_can_be_lifted() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let list = MemoryBlocklist::new();
        assert!(list.get(SubjectRef::Principal("a"), t0).is_none());
        list.insert(block("principal:a", t0 + Duration::from_secs(60)));
        list.insert(block("ip:192.0.2.1", t0 + Duration::from_secs(10)));
        assert!(list.get(SubjectRef::Principal("a"), t0).is_some());
        assert!(list.get(SubjectRef::Username("a"), t0).is_none());
        let later = t0 + Duration::from_secs(30);
        assert!(
            list.get(SubjectRef::Ip("192.0.2.1".parse().expect("ip")), later)
                .is_none()
        );
        assert_eq!(list.list(later).len(), 1);
        assert!(list.remove(SubjectRef::Principal("a")).is_some());
        assert!(list.list(t0).is_empty());
    }
}
