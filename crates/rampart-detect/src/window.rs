//! Sliding windows in a few bytes each.
//!
//! An exact sliding window keeps every timestamp; at a million subjects
//! that is unaffordable. Instead each measure keeps two fixed buckets, the
//! current window and the previous one, and estimates the sliding window
//! as `current + previous × (the share of the previous window still
//! inside the slide)`. That is Cloudflare's sliding-window approximation:
//! exact when traffic is even, off by at most the previous bucket's count
//! when it is not, which is far below the margins between a person and a
//! scraper.
//!
//! A subject's buckets all roll together ([`Clock::roll`] tells by how
//! many windows time moved), so a measure stores no time of its own.

use cardinality_estimator::CardinalityEstimator;

/// Distinct-count sketch: exact and 8 bytes for up to 2 items, a small
/// sorted array up to 128, then HyperLogLog++ with 2^10 five-bit registers
/// (640 bytes, ±3.2%). Only scrapers ever reach the last form, so a
/// normal subject costs tens of bytes rather than the kilobytes of a
/// plain HyperLogLog, which is what keeps a tracked principal under 1 KB.
/// (The hasher parameter is unused: callers insert hashes they computed.)
pub(crate) type Sketch =
    CardinalityEstimator<u64, std::collections::hash_map::DefaultHasher, 10, 5>;

/// Window bookkeeping for one window length.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    /// Index of the current window (`time / length`).
    epoch: u32,
}

/// How the current window moved since the last observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Roll {
    /// Same window.
    Same,
    /// The next window: current becomes previous.
    One,
    /// Two or more windows later: both buckets are stale.
    Many,
}

impl Clock {
    /// Moves to the window holding `now` (seconds); time going backwards
    /// (a clock step) is treated as the same window.
    pub(crate) fn roll(&mut self, now: u32, length: u32) -> Roll {
        let epoch = now / length.max(1);
        let roll = match epoch.checked_sub(self.epoch) {
            None | Some(0) => Roll::Same,
            Some(1) => Roll::One,
            Some(_) => Roll::Many,
        };
        if roll != Roll::Same {
            self.epoch = epoch;
        }
        roll
    }

    /// Weight of the previous bucket at `now`: 1 at the start of the
    /// current window, 0 at its end.
    pub(crate) fn previous_weight(now: u32, length: u32) -> f64 {
        let length = length.max(1);
        1.0 - f64::from(now % length) / f64::from(length)
    }
}

/// A sliding count (saturating at `u16::MAX`, far above any threshold).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Count {
    current: u16,
    previous: u16,
}

impl Count {
    pub(crate) fn roll(&mut self, roll: Roll) {
        match roll {
            Roll::Same => {}
            Roll::One => {
                self.previous = self.current;
                self.current = 0;
            }
            Roll::Many => *self = Count::default(),
        }
    }

    pub(crate) fn add(&mut self) {
        self.current = self.current.saturating_add(1);
    }

    pub(crate) fn estimate(&self, weight: f64) -> f64 {
        f64::from(self.current) + f64::from(self.previous) * weight
    }
}

/// A sliding sum (saturating), for records and kilobytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    current: u32,
    previous: u32,
}

impl Sum {
    /// Rolls and returns the total of the window that just closed (the
    /// baseline learns from it), or `None` when no window closed.
    pub(crate) fn roll(&mut self, roll: Roll) -> Option<u32> {
        match roll {
            Roll::Same => None,
            Roll::One => {
                let closed = self.current;
                self.previous = closed;
                self.current = 0;
                Some(closed)
            }
            Roll::Many => {
                let closed = self.current;
                *self = Sum::default();
                Some(closed)
            }
        }
    }

    pub(crate) fn add(&mut self, n: u32) {
        self.current = self.current.saturating_add(n);
    }

    pub(crate) fn estimate(&self, weight: f64) -> f64 {
        f64::from(self.current) + f64::from(self.previous) * weight
    }
}

/// A sliding distinct count: one sketch per bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Distinct {
    current: Sketch,
    previous: Sketch,
}

impl Distinct {
    pub(crate) fn roll(&mut self, roll: Roll) {
        match roll {
            Roll::Same => {}
            Roll::One => {
                self.previous = std::mem::take(&mut self.current);
            }
            Roll::Many => *self = Distinct::default(),
        }
    }

    pub(crate) fn insert(&mut self, hash: u64) {
        self.current.insert_hash(hash);
    }

    /// Items seen in the slide. An item seen in both buckets counts up to
    /// twice: the estimate errs towards the suspicious side only for
    /// subjects that keep touching the same objects, which stay far
    /// below thresholds anyway.
    pub(crate) fn estimate(&self, weight: f64) -> f64 {
        self.current.estimate() as f64 + self.previous.estimate() as f64 * weight
    }

    /// Heap bytes held by the sketches.
    pub(crate) fn heap_bytes(&self) -> usize {
        let inline = 2 * std::mem::size_of::<Sketch>();
        (self.current.size_of() + self.previous.size_of()).saturating_sub(inline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_slide_across_windows() {
        let (mut clock, mut count) = (Clock::default(), Count::default());
        let length = 60;
        for t in [0, 10, 20, 30] {
            count.roll(clock.roll(t, length));
            count.add();
        }
        assert_eq!(count.estimate(Clock::previous_weight(30, length)), 4.0);
        // Halfway through the next window, half the previous one still counts.
        count.roll(clock.roll(90, length));
        assert_eq!(count.estimate(Clock::previous_weight(90, length)), 2.0);
        // Two windows later, nothing.
        count.roll(clock.roll(200, length));
        assert_eq!(count.estimate(Clock::previous_weight(200, length)), 0.0);
    }

    #[test]
    fn a_clock_step_backwards_keeps_the_window() {
        let mut clock = Clock::default();
        assert_eq!(clock.roll(600, 60), Roll::Many);
        assert_eq!(clock.roll(500, 60), Roll::Same);
        assert_eq!(clock.roll(660, 60), Roll::One);
    }

    #[test]
    fn sums_report_the_window_that_closed() {
        let (mut clock, mut sum) = (Clock::default(), Sum::default());
        sum.roll(clock.roll(0, 10));
        sum.add(7);
        sum.add(u32::MAX);
        assert_eq!(sum.roll(clock.roll(10, 10)), Some(u32::MAX));
        assert_eq!(sum.roll(clock.roll(11, 10)), None);
    }

    #[test]
    fn distinct_counts_are_exact_when_small_and_close_when_large() {
        use std::hash::BuildHasher;
        // Sketches need well-mixed hashes, as the detector's keyed SipHash
        // gives; a fixed key keeps this test deterministic (a random key made
        // it fail now and then, at 4.5% error).
        let hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let mut d = Distinct::default();
        for id in [1u64, 2, 2, 3, 1] {
            d.insert(hasher.hash_one(id));
        }
        assert_eq!(d.estimate(1.0), 3.0);
        for id in 1000..6000u64 {
            d.insert(hasher.hash_one(id));
        }
        let estimate = d.estimate(1.0);
        // Within three standard errors of the sketch (about 3.3% each).
        assert!((4500.0..5500.0).contains(&estimate), "{estimate}");
        assert!(d.heap_bytes() <= 1024, "{}", d.heap_bytes());
    }
}
