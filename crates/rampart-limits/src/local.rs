//! In-process buckets: governor's GCRA over a bounded, self-evicting key table.
//!
//! governor decides; this module only stores. Each limit gets one governor
//! `RateLimiter` whose state store is a moka cache from key hash to
//! governor's own atomic `InMemoryState`. That buys two things governor's
//! stock stores do not have:
//!
//! - **A bound.** The table holds at most `max_keys` keys. A key untouched
//!   for `burst × interval` has recovered its whole burst, so it is
//!   indistinguishable from a key never seen: moka's time-to-idle drops it
//!   and nothing is forgotten. Past the bound, moka's TinyLFU admission keeps
//!   frequently seen keys over one-off ones, so a flood of fresh addresses
//!   cannot push a hammering client out of the table.
//! - **A dry run.** Each lookup carries a `charge` flag. Without it the
//!   store hands governor the current state and then discards governor's
//!   update, so a limit can be *checked* without being *charged*: this is how
//!   `on: failure` limits block on every request but count only failures,
//!   and how a request refused by one limit is charged to none.
//!
//! Memory: about 350 bytes per tracked key (moka's entry, the `Arc`ed 8-byte
//! state, the 8-byte hash), so the default 100 000 keys cost ~35 MB per
//! limit at worst; `benches/limits.rs` measures it (356 B/key at 200 000 keys).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};

/// What one limit says about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The request conforms. `remaining` requests could follow right away
    /// (after this one, if it was charged); the bucket is full again within
    /// `reset`.
    Allowed { remaining: u32, reset: Duration },
    /// The request does not conform; one would after `wait`.
    Denied { wait: Duration },
}

/// The time source of in-process limits: the monotonic clock, or a manual
/// one for tests.
#[derive(Debug, Clone)]
pub(crate) enum LimiterClock {
    /// Nanoseconds since `origin`.
    System { origin: Instant },
    /// Nanoseconds as set by a test.
    #[cfg_attr(not(test), allow(dead_code))]
    Manual(Arc<AtomicU64>),
}

impl Default for LimiterClock {
    fn default() -> Self {
        LimiterClock::System {
            origin: Instant::now(),
        }
    }
}

impl Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            LimiterClock::System { origin } => Nanos::from(origin.elapsed()),
            LimiterClock::Manual(now) => Nanos::new(now.load(Ordering::Relaxed)),
        }
    }
}

/// A key as the store sees it: its hash, and whether this lookup may update it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BucketKey {
    hash: u64,
    charge: bool,
}

/// The bounded key table.
struct Buckets {
    table: moka::sync::Cache<u64, Arc<InMemoryState>>,
}

impl StateStore for Buckets {
    type Key = BucketKey;

    fn measure_and_replace<T, F, E>(&self, key: &BucketKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if key.charge {
            let state = self
                .table
                .get_with(key.hash, || Arc::new(InMemoryState::default()));
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        let Some(state) = self.table.get(&key.hash) else {
            return f(None).map(|(outcome, _)| outcome);
        };
        // Hand governor the current state, and make the store's CAS loop end
        // without writing: the closure always "fails" with governor's answer.
        let dry_run = state.measure_and_replace(&NotKeyed::NonKey, |prev| {
            Err::<(std::convert::Infallible, Nanos), _>(f(prev).map(|(outcome, _)| outcome))
        });
        match dry_run {
            Ok(never) => match never {},
            Err(answer) => answer,
        }
    }
}

/// One limit's in-process buckets.
pub(crate) struct LocalBuckets {
    limiter: RateLimiter<BucketKey, Buckets, LimiterClock, StateInformationMiddleware>,
    clock: LimiterClock,
    /// A handle on the store's table (moka caches are shared handles):
    /// governor does not lend out its store.
    table: moka::sync::Cache<u64, Arc<InMemoryState>>,
    interval: Duration,
    burst: u32,
    /// Keys the per-process SipHash of key material.
    pub(crate) hasher: std::hash::RandomState,
}

impl LocalBuckets {
    /// Buckets for a limit of one request per `interval` with bursts of
    /// `burst`, tracking at most `max_keys` keys. `None` if the interval is zero.
    pub(crate) fn new(
        interval: Duration,
        burst: u32,
        max_keys: u64,
        clock: LimiterClock,
    ) -> Option<Self> {
        let burst_nz = NonZeroU32::new(burst)?;
        let quota = Quota::with_period(interval)?.allow_burst(burst_nz);
        let idle = interval.saturating_mul(burst).max(Duration::from_millis(1));
        let table = moka::sync::Cache::builder()
            .max_capacity(max_keys.max(1))
            .time_to_idle(idle)
            .build();
        let limiter = RateLimiter::new(
            quota,
            Buckets {
                table: table.clone(),
            },
            clock.clone(),
        );
        Some(LocalBuckets {
            limiter,
            clock,
            table,
            interval,
            burst,
            hasher: std::hash::RandomState::new(),
        })
    }

    /// Whether one more request for `hash` would conform, without counting it.
    pub(crate) fn peek(&self, hash: u64) -> Reading {
        match self.limiter.check_key(&BucketKey {
            hash,
            charge: false,
        }) {
            // The snapshot is of the state *after* the request governor was
            // asked about; that request was not counted, so one more remains.
            Ok(snapshot) => self.allowed(snapshot.remaining_burst_capacity().saturating_add(1)),
            Err(not_until) => Reading::Denied {
                wait: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Counts one request for `hash` if it conforms.
    pub(crate) fn charge(&self, hash: u64) -> Reading {
        match self.limiter.check_key(&BucketKey { hash, charge: true }) {
            Ok(snapshot) => self.allowed(snapshot.remaining_burst_capacity()),
            Err(not_until) => Reading::Denied {
                wait: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// With `remaining` requests left, the bucket is full again within
    /// `(burst - remaining)` intervals (an upper bound: governor does not
    /// expose the exact arrival time).
    fn allowed(&self, remaining: u32) -> Reading {
        let remaining = remaining.min(self.burst);
        Reading::Allowed {
            remaining,
            reset: self.interval.saturating_mul(self.burst - remaining),
        }
    }

    /// Keys currently tracked (approximate: moka counts lazily).
    pub(crate) fn tracked_keys(&self) -> u64 {
        self.limiter_table().entry_count()
    }

    /// Runs moka's pending maintenance (evictions), for tests.
    #[cfg(test)]
    pub(crate) fn sync(&self) {
        self.limiter_table().run_pending_tasks();
    }

    fn limiter_table(&self) -> &moka::sync::Cache<u64, Arc<InMemoryState>> {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manual(interval_ms: u64, burst: u32) -> (LocalBuckets, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(0));
        let buckets = LocalBuckets::new(
            Duration::from_millis(interval_ms),
            burst,
            1000,
            LimiterClock::Manual(now.clone()),
        )
        .expect("valid quota");
        (buckets, now)
    }

    fn advance(now: &AtomicU64, ms: u64) {
        now.fetch_add(ms * 1_000_000, Ordering::Relaxed);
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let (b, now) = manual(100, 3);
        for remaining in [2, 1, 0] {
            assert!(
                matches!(b.charge(1), Reading::Allowed { remaining: r, .. } if r == remaining),
                "remaining {remaining}"
            );
        }
        assert_eq!(
            b.charge(1),
            Reading::Denied {
                wait: Duration::from_millis(100)
            }
        );
        advance(&now, 40);
        assert_eq!(
            b.charge(1),
            Reading::Denied {
                wait: Duration::from_millis(60)
            }
        );
        advance(&now, 60);
        assert!(matches!(b.charge(1), Reading::Allowed { remaining: 0, .. }));
        // Other keys have their own buckets.
        assert!(matches!(b.charge(2), Reading::Allowed { remaining: 2, .. }));
    }

    #[test]
    fn peeking_counts_nothing() {
        let (b, _now) = manual(100, 2);
        for _ in 0..10 {
            assert!(matches!(b.peek(7), Reading::Allowed { remaining: 2, .. }));
        }
        b.charge(7);
        assert!(matches!(b.peek(7), Reading::Allowed { remaining: 1, .. }));
        b.charge(7);
        assert!(matches!(b.peek(7), Reading::Denied { .. }));
    }

    #[test]
    fn steady_rate_over_a_long_run() {
        // Offer 10 requests per interval for 1000 intervals: exactly the
        // burst plus one per interval gets through.
        let (b, now) = manual(10, 5);
        let mut allowed = 0;
        for _ in 0..1000 {
            for _ in 0..10 {
                if matches!(b.charge(1), Reading::Allowed { .. }) {
                    allowed += 1;
                }
            }
            advance(&now, 10);
        }
        assert_eq!(allowed, 5 + 999);
    }

    #[test]
    fn reset_is_the_time_to_a_full_bucket() {
        let (b, _now) = manual(1000, 4);
        assert_eq!(
            b.charge(1),
            Reading::Allowed {
                remaining: 3,
                reset: Duration::from_secs(1)
            }
        );
        assert_eq!(
            b.charge(1),
            Reading::Allowed {
                remaining: 2,
                reset: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let b = LocalBuckets::new(Duration::from_secs(1), 10, 100, LimiterClock::default())
            .expect("valid quota");
        for key in 0..10_000 {
            b.charge(key);
        }
        b.sync();
        assert!(b.tracked_keys() <= 100, "{}", b.tracked_keys());
    }
}
