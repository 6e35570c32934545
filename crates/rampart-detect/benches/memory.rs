//! Memory per tracked principal, measured: the goal is at most 1 KB, so
//! that a million principals fit in under 1 GB.
//!
//! The measure is the process's resident memory (`/proc/self/statm`)
//! before and after tracking N principals, divided by N. That counts
//! everything the allocator really hands out (map slots at their actual
//! capacity, sketch arrays, allocator overhead), which a `size_of` sum
//! would miss. A counting global allocator would be finer, but needs
//! `unsafe`, which the workspace forbids. Each principal comes with its
//! own client IP, tracked too, so the figure is per principal *including*
//! its address's state, with realistic traffic: a login, its profile, a
//! list, a handful of its own objects, a few friends' profiles (one
//! private), a stale link.
//!
//! Run with `cargo bench -p rampart-detect --bench memory`; set
//! `RAMPART_BENCH_PRINCIPALS` to change N (default 200 000).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, UNIX_EPOCH};

use rampart_config::DetectionConfig;
use rampart_detect::{Detector, Observation};

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: u32 = std::env::var("RAMPART_BENCH_PRINCIPALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut config = DetectionConfig::default();
    config.max_subjects = (n as usize * 2).max(config.max_subjects);
    let detector = Detector::new(&config);
    let origin = UNIX_EPOCH + Duration::from_secs(1_767_225_600);

    // Build every input first, so only the detector's memory is measured.
    let names: Vec<String> = (0..n).map(|i| format!("user-{i:08}@example.com")).collect();
    let objects: Vec<[String; 1]> = (0..u64::from(n) * 12)
        .map(|k| [(k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 50_000_000).to_string()])
        .collect();
    let before = resident_bytes();
    let started = Instant::now();
    let mut observations = 0u64;
    for (i, name) in names.iter().enumerate() {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0A00_0000u32 + i as u32));
        let t0 = origin + Duration::from_secs((i as u64 * 7) % 3600);
        let steps: [(&str, u16, bool, u32); 12] = [
            ("login", 200, false, 0),
            ("getProfile", 200, false, 1),
            ("listWorkouts", 200, false, 20),
            ("getWorkout", 200, false, 1),
            ("getWorkout", 200, false, 1),
            ("getWorkout", 200, false, 1),
            ("getWorkout", 200, false, 1),
            ("getWorkout", 200, false, 1),
            ("getProfile", 200, false, 1),
            ("getProfile", 200, true, 1),
            ("getProfile", 200, false, 1),
            ("getWorkout", 404, false, 0),
        ];
        for (step, (operation, status, restricted, records)) in steps.into_iter().enumerate() {
            let object = &objects[i * 12 + step];
            let observation = Observation {
                principal: Some(name),
                ip: Some(ip),
                operation: Some(operation),
                objects: if operation == "login" { &[] } else { object },
                restricted_view: restricted,
                records,
                bytes: u64::from(records) * 500,
                ..Observation::new(t0 + Duration::from_secs(step as u64 * 5), status)
            };
            let detections = detector.observe(&observation);
            assert!(
                detections.is_empty(),
                "a normal user was flagged: {detections:?}"
            );
            observations += 1;
        }
    }
    let elapsed = started.elapsed();
    let after = resident_bytes();
    let stats = detector.stats(origin);
    let per_principal = (after.saturating_sub(before)) as f64 / f64::from(n);
    println!(
        "tracked: {n} principals (+ {n} IPs), {} subjects",
        stats.tracked_subjects
    );
    println!(
        "resident memory: {:.1} MiB → {:.1} MiB",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!(
        "per tracked principal (with its IP): {per_principal:.0} bytes resident; tables' own estimate {:.0} bytes",
        stats.approximate_bytes as f64 / f64::from(n)
    );
    println!(
        "1M principals: {:.0} MiB (goal < 1024 MiB)",
        per_principal * 1e6 / 1048576.0
    );
    println!(
        "observe: {observations} observations in {elapsed:.2?} ({:.0} ns each)",
        elapsed.as_nanos() as f64 / observations as f64
    );
    assert!(
        per_principal <= 1024.0,
        "over 1 KB per principal: {per_principal:.0} bytes"
    );
}
