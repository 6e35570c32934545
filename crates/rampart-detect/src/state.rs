//! What is remembered about one subject, and the rules that read it.
//!
//! Every subject kind shares one fixed-size state (about 200 bytes plus
//! sketches that stay tiny for normal subjects); which rules run depends
//! on the kind ([`Role`]). All measures of one window length roll
//! together, so an update is: roll, add, compare. No timestamps are
//! stored besides the two window clocks and the last-seen time.

use crate::detection::DetectionKind;
use crate::window::{Clock, Count, Distinct, Roll, Sum};

/// Operations tracked at once per subject. Two cover a scraper walking
/// one route while browsing another; a subject touching more rotates the
/// least recently used slot out.
const OP_SLOTS: usize = 2;

/// Which rules apply to a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A principal or an API key: enumeration, probing, exfiltration.
    Caller,
    /// A client IP: the same (scaled for shared addresses) plus credential stuffing.
    Address,
    /// A user name tried at login: failures only.
    Username,
}

/// Thresholds and windows, compiled from the configuration. A threshold
/// of `f64::INFINITY` is a check turned off (0 in the file).
#[derive(Debug, Clone)]
pub(crate) struct Thresholds {
    pub(crate) short: u32,
    pub(crate) long: u32,
    pub(crate) ip_scale: f64,
    pub(crate) distinct_objects: f64,
    pub(crate) sequential_run: u16,
    pub(crate) sequential_gap: u64,
    pub(crate) restricted_views: f64,
    pub(crate) denials_short: f64,
    pub(crate) denials_long: f64,
    pub(crate) failures_per_ip: f64,
    pub(crate) usernames_per_ip: f64,
    pub(crate) failures_per_username: f64,
    pub(crate) records: f64,
    pub(crate) kbytes: f64,
    pub(crate) baseline_factor: f64,
}

/// One exchange, reduced to what the rules read (hashes precomputed once
/// for all the subjects it updates).
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    pub(crate) now: u32,
    /// Hash of the operation (0 when unrouted).
    pub(crate) op: u32,
    /// Hashes of the object ids, and their numeric values when they are numbers.
    pub(crate) objects: &'a [(u64, Option<u64>)],
    pub(crate) status: u16,
    pub(crate) restricted_view: bool,
    pub(crate) records: u32,
    pub(crate) kbytes: u32,
    /// Hash of the user name a failed login named.
    pub(crate) username: Option<u64>,
}

impl Facts<'_> {
    /// The caller got an answer about the objects (not an authentication
    /// failure, a throttle or a server error): it counts as a look.
    fn looked(&self) -> bool {
        self.status < 500 && self.status != 401 && self.status != 429
    }

    fn denied_object(&self) -> bool {
        matches!(self.status, 403 | 404) && !self.objects.is_empty()
    }
}

/// A rule that fired, before it is attributed to a subject.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) kind: DetectionKind,
    pub(crate) metric: &'static str,
    pub(crate) observed: f64,
    pub(crate) threshold: f64,
}

impl Finding {
    /// How far past its threshold: the detection's score.
    pub(crate) fn ratio(&self) -> f64 {
        self.observed / self.threshold
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Walk {
    /// The last id's low 32 bits: enough to see steps of a few, and it
    /// keeps the slot small (ids wrapping at 2^32 break a walk at most once).
    last: u32,
    run: u16,
    /// -1 down, +1 up, 0 no direction yet.
    direction: i8,
}

impl Walk {
    /// Extends the run when `id` is within `gap` of the last id, in the
    /// same direction; a repeated id changes nothing.
    fn step(&mut self, id: u64, gap: u64) {
        // Truncation is the point: see `last`.
        #[allow(clippy::cast_possible_truncation)]
        let id = id as u32;
        if self.run > 0 && id == self.last {
            return;
        }
        let (distance, direction) = if id > self.last {
            (u64::from(id - self.last), 1)
        } else {
            (u64::from(self.last - id), -1)
        };
        if self.run > 0 && distance <= gap {
            if self.direction == 0 || self.direction == direction {
                self.run = self.run.saturating_add(1);
            } else {
                self.run = 2;
            }
            self.direction = direction;
        } else {
            self.run = 1;
            self.direction = 0;
        }
        self.last = id;
    }
}

#[derive(Debug, Clone, Default)]
struct OpSlot {
    /// Hash of the operation; 0 is an empty slot.
    op: u32,
    seen: u32,
    objects: Distinct,
    walk: Walk,
}

/// Everything remembered about one subject.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubjectState {
    pub(crate) last_seen: u32,
    short: Clock,
    long: Clock,
    ops: [OpSlot; OP_SLOTS],
    /// Distinct objects seen as restricted views.
    restricted: Distinct,
    denials_short: Count,
    denials_long: Count,
    failures: Count,
    usernames: Distinct,
    records: Sum,
    kbytes: Sum,
    baseline_records: f32,
    baseline_kbytes: f32,
    /// Per detection kind: no new detection of that kind before this time.
    quiet_until: [u32; DetectionKind::COUNT],
}

impl SubjectState {
    /// Applies one exchange and returns what fired (at most one finding
    /// per kind, the strongest).
    pub(crate) fn observe(&mut self, f: &Facts<'_>, t: &Thresholds, role: Role) -> Vec<Finding> {
        let scale = if role == Role::Address {
            t.ip_scale
        } else {
            1.0
        };
        self.last_seen = f.now;
        let short_roll = self.short.roll(f.now, t.short);
        let long_roll = self.long.roll(f.now, t.long);
        self.roll(short_roll, long_roll);
        let ws = Clock::previous_weight(f.now, t.short);
        let wl = Clock::previous_weight(f.now, t.long);
        let mut found = Vec::new();

        if role == Role::Username {
            if f.status == 401 {
                self.failures.add();
                let n = self.failures.estimate(wl);
                push(
                    &mut found,
                    DetectionKind::CredentialStuffing,
                    "failures_per_username",
                    n,
                    t.failures_per_username,
                );
            }
            return self.unmuted(found, f.now);
        }

        if f.status == 401 && role == Role::Address {
            self.failures.add();
            push(
                &mut found,
                DetectionKind::CredentialStuffing,
                "failures_per_ip",
                self.failures.estimate(wl),
                t.failures_per_ip,
            );
            if let Some(user) = f.username {
                self.usernames.insert(user);
                push(
                    &mut found,
                    DetectionKind::CredentialStuffing,
                    "usernames_per_ip",
                    self.usernames.estimate(wl),
                    t.usernames_per_ip,
                );
            }
        }

        if f.looked() && !f.objects.is_empty() && f.op != 0 {
            let slot = self.slot(f.op, f.now, t.long);
            for &(hash, number) in f.objects {
                slot.objects.insert(hash);
                if let Some(id) = number {
                    slot.walk.step(id, t.sequential_gap);
                }
            }
            let distinct = slot.objects.estimate(wl);
            let run = f64::from(slot.walk.run);
            push(
                &mut found,
                DetectionKind::Enumeration,
                "distinct_objects",
                distinct,
                t.distinct_objects * scale,
            );
            push(
                &mut found,
                DetectionKind::Enumeration,
                "sequential_run",
                run,
                f64::from(t.sequential_run) * scale,
            );
        }
        if f.restricted_view {
            // Distinct objects: viewing one friend's private profile ten
            // times is not enumeration; viewing ten strangers' is. A
            // restricted list without ids counts once per operation and second.
            if f.objects.is_empty() {
                self.restricted
                    .insert(u64::from(f.op) << 32 | u64::from(f.now));
            }
            for &(hash, _) in f.objects {
                self.restricted.insert(hash);
            }
            push(
                &mut found,
                DetectionKind::Enumeration,
                "restricted_views",
                self.restricted.estimate(wl),
                t.restricted_views * scale,
            );
        }

        if f.denied_object() {
            self.denials_short.add();
            self.denials_long.add();
            push(
                &mut found,
                DetectionKind::BolaProbing,
                "denials_short",
                self.denials_short.estimate(ws),
                t.denials_short * scale,
            );
            push(
                &mut found,
                DetectionKind::BolaProbing,
                "denials_long",
                self.denials_long.estimate(wl),
                t.denials_long * scale,
            );
        }

        if f.records > 0 || f.kbytes > 0 {
            self.records.add(f.records);
            self.kbytes.add(f.kbytes);
            let records = self.records.estimate(wl);
            let records_bar =
                (t.records * scale).max(t.baseline_factor * f64::from(self.baseline_records));
            push(
                &mut found,
                DetectionKind::Exfiltration,
                "records",
                records,
                records_bar,
            );
            let kbytes = self.kbytes.estimate(wl);
            let kbytes_bar =
                (t.kbytes * scale).max(t.baseline_factor * f64::from(self.baseline_kbytes));
            push(
                &mut found,
                DetectionKind::Exfiltration,
                "kbytes",
                kbytes,
                kbytes_bar,
            );
        }
        self.unmuted(found, f.now)
    }

    fn roll(&mut self, short: Roll, long: Roll) {
        self.denials_short.roll(short);
        self.denials_long.roll(long);
        self.restricted.roll(long);
        self.failures.roll(long);
        self.usernames.roll(long);
        for slot in &mut self.ops {
            slot.objects.roll(long);
        }
        // The baseline learns from each closed window: an exponentially
        // weighted mean, so one heavy window moves it only partway.
        if let Some(closed) = self.records.roll(long) {
            self.baseline_records = learn(self.baseline_records, closed);
        }
        if let Some(closed) = self.kbytes.roll(long) {
            self.baseline_kbytes = learn(self.baseline_kbytes, closed);
        }
    }

    /// The slot for `op`, taking over the least recently used one if needed.
    fn slot(&mut self, op: u32, now: u32, long: u32) -> &mut OpSlot {
        let index = match self.ops.iter().position(|s| s.op == op) {
            Some(i) => i,
            None => {
                let (i, _) = self
                    .ops
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| if s.op == 0 { 0 } else { s.seen.max(1) })
                    .unwrap_or((0, &self.ops[0]));
                self.ops[i] = OpSlot {
                    op,
                    ..OpSlot::default()
                };
                i
            }
        };
        let slot = &mut self.ops[index];
        // A walk paused for longer than the long window starts over.
        if now.saturating_sub(slot.seen) > long {
            slot.walk = Walk::default();
        }
        slot.seen = now;
        slot
    }

    /// Keeps the strongest finding per kind, and only kinds not in their
    /// quiet period.
    fn unmuted(&self, found: Vec<Finding>, now: u32) -> Vec<Finding> {
        let mut best: Vec<Finding> = Vec::new();
        for finding in found {
            if now < self.quiet_until[finding.kind.index()] {
                continue;
            }
            match best.iter_mut().find(|b| b.kind == finding.kind) {
                Some(b) if finding.ratio() > b.ratio() => *b = finding,
                Some(_) => {}
                None => best.push(finding),
            }
        }
        best
    }

    /// No new detection of `kind` before `until`.
    pub(crate) fn mute(&mut self, kind: DetectionKind, until: u32) {
        self.quiet_until[kind.index()] = until;
    }

    /// Heap bytes held by the state's sketches.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.usernames.heap_bytes()
            + self.restricted.heap_bytes()
            + self
                .ops
                .iter()
                .map(|s| s.objects.heap_bytes())
                .sum::<usize>()
    }
}

fn push(
    found: &mut Vec<Finding>,
    kind: DetectionKind,
    metric: &'static str,
    observed: f64,
    threshold: f64,
) {
    if threshold.is_finite() && threshold > 0.0 && observed >= threshold {
        found.push(Finding {
            kind,
            metric,
            observed,
            threshold,
        });
    }
}

fn learn(baseline: f32, closed: u32) -> f32 {
    // Precision loss is irrelevant at the scale of a baseline.
    #[allow(clippy::cast_precision_loss)]
    let closed = closed as f32;
    if baseline == 0.0 {
        closed
    } else {
        0.7 * baseline + 0.3 * closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_count_ordered_steps_within_the_gap() {
        let mut walk = Walk::default();
        for id in [100, 101, 101, 103, 104, 105] {
            walk.step(id, 3);
        }
        assert_eq!(walk.run, 5, "a repeat does not count, a gap of 2 does");
        walk.step(104, 3);
        assert_eq!(
            (walk.run, walk.direction),
            (2, -1),
            "turning back starts over"
        );
        walk.step(5000, 3);
        assert_eq!(walk.run, 1);
    }
}
