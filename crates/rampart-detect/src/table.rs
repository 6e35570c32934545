//! A bounded map from subject hash to state, sharded so concurrent
//! requests rarely contend.
//!
//! Memory is bounded by a capacity per shard. When a shard is full, states
//! idle for longer than two long windows (which no rule can still use) go
//! first; if that frees too little, the least recently seen eighth goes.
//! Each sweep is linear in the shard but frees an eighth of it, so the
//! cost per insertion stays constant, and an address-spraying attacker
//! only ever evicts the stalest subjects.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};

use crate::state::SubjectState;

const SHARDS: usize = 64;

/// Keys are already keyed hashes: hashing them again would only cost time.
#[derive(Debug, Default, Clone, Copy)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, SubjectState, BuildHasherDefault<PassThrough>>;

#[derive(Debug)]
pub(crate) struct Table {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    idle_after: u32,
}

impl Table {
    pub(crate) fn new(capacity: usize, idle_after: u32) -> Self {
        Table {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(16),
            idle_after,
        }
    }

    /// Runs `f` on the state for `key`, creating it (and making room) as needed.
    pub(crate) fn with<R>(&self, key: u64, now: u32, f: impl FnOnce(&mut SubjectState) -> R) -> R {
        // Pick the shard from mixed bits, independent of the bits the map
        // itself uses for buckets and tags.
        let index = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS;
        let mut shard = self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            make_room(&mut shard, now, self.idle_after);
        }
        f(shard.entry(key).or_default())
    }

    /// Subjects tracked.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Bytes held: map slots (at capacity, as allocated) plus sketches.
    pub(crate) fn approximate_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u64, SubjectState)>() + 1;
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(PoisonError::into_inner);
                shard.capacity() * slot
                    + shard.values().map(SubjectState::heap_bytes).sum::<usize>()
            })
            .sum()
    }
}

fn make_room(shard: &mut Shard, now: u32, idle_after: u32) {
    let before = shard.len();
    shard.retain(|_, s| now.saturating_sub(s.last_seen) <= idle_after);
    if shard.len() > before - before / 8 {
        let mut seen: Vec<u32> = shard.values().map(|s| s.last_seen).collect();
        let k = seen.len() / 8;
        let (_, cutoff, _) = seen.select_nth_unstable(k);
        let cutoff = *cutoff;
        shard.retain(|_, s| s.last_seen > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_forgets_the_stalest_first() {
        let table = Table::new(16 * SHARDS, 600);
        for key in 0..100_000u64 {
            let now = u32::try_from(key).unwrap_or(u32::MAX);
            table.with(key, now, |s| s.last_seen = now);
        }
        let len = table.len();
        assert!(len <= 16 * SHARDS, "{len}");
        // The newest subject survived the sweeps.
        let kept = table.with(99_999, 100_000, |s| s.last_seen);
        assert_eq!(kept, 99_999);
    }
}
