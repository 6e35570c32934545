//! Cost per request of a rate limit check: in process, and on Redis over
//! loopback. Run with `cargo bench -p rampart-limits`; prints ns/op.
//! Set `REDIS_URL` to bench another Redis; the Redis part is skipped when
//! none answers.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart_config::{ClusterConfig, OnRedisError, RateLimitRule};
use rampart_limits::{Backend, KeyContext, Limiter};

fn rule(json: &str) -> RateLimitRule {
    match serde_json::from_str(json) {
        Ok(rule) => rule,
        Err(e) => panic!("bad bench rule {json}: {e}"),
    }
}

fn build(rules: &[&str], cluster: &ClusterConfig, max_keys: u64) -> Limiter {
    let rules: Vec<RateLimitRule> = rules.iter().map(|r| rule(r)).collect();
    match Limiter::builder()
        .rules(&rules)
        .cluster(cluster)
        .max_keys(max_keys)
        .build()
    {
        Ok(l) => l,
        Err(e) => panic!("cannot build: {e}"),
    }
}

/// Never refuses (so every check does the full allow path).
const WIDE: &str = r#"{"name":"wide","key":["principal"],"rate":"1000000/s","burst":1000000}"#;
const WIDE_IP: &str = r#"{"name":"ip","key":["ip"],"rate":"1000000/s","burst":1000000}"#;
const WIDE_OP: &str =
    r#"{"name":"op","key":["principal","operation"],"rate":"1000000/s","burst":1000000}"#;

fn report(name: &str, n: u64, elapsed: Duration) {
    let ns = elapsed.as_nanos() as f64 / n as f64;
    println!("{name:<52} {ns:>10.0} ns/op  ({n} ops)");
}

fn ctx(ip: IpAddr) -> KeyContext<'static> {
    KeyContext {
        principal: Some("rider-42"),
        ..KeyContext::new(ip, "riders", "getRider")
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

async fn run_local() {
    let local = ClusterConfig::default();
    let one = build(&[WIDE], &local, 100_000);
    let n = 2_000_000;
    let c = ctx(IpAddr::V4(Ipv4Addr::LOCALHOST));
    for _ in 0..10_000 {
        black_box(one.check(&c).await);
    }
    let t = Instant::now();
    for _ in 0..n {
        black_box(one.check(&c).await);
    }
    report("in process, 1 limit, one hot key", n, t.elapsed());

    let three = build(&[WIDE, WIDE_IP, WIDE_OP], &local, 100_000);
    let t = Instant::now();
    for _ in 0..n {
        black_box(three.check(&c).await);
    }
    report("in process, 3 limits (all-or-nothing)", n, t.elapsed());

    let refused = build(
        &[r#"{"name":"tight","key":["principal"],"rate":"1/h"}"#],
        &local,
        100_000,
    );
    refused.check(&c).await;
    let t = Instant::now();
    for _ in 0..n {
        black_box(refused.check(&c).await);
    }
    report("in process, 1 limit, refused (429 path)", n, t.elapsed());

    // Many distinct keys: table inserts, then bounded eviction.
    let keys = 200_000u32;
    let many = build(&[WIDE_IP], &local, u64::from(keys));
    let before = rss_bytes();
    let t = Instant::now();
    for i in 0..keys {
        black_box(many.check(&ctx(IpAddr::V4(Ipv4Addr::from(i)))).await);
    }
    report(
        "in process, 1 limit, a new key each time",
        u64::from(keys),
        t.elapsed(),
    );
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "{:<52} {:>10} bytes/key ({} keys tracked)",
        "in process, memory",
        grown / u64::from(keys),
        many.tracked_keys()
    );
}

async fn run_redis() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let cluster = ClusterConfig {
        redis_url: Some(url.clone()),
        key_prefix: format!("rampart-bench:{nanos}:"),
        on_redis_error: OnRedisError::FailClosed,
        timeout_ms: 1000,
        ..ClusterConfig::default()
    };
    let one = build(&[WIDE], &cluster, 100_000);
    let c = ctx(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if one.check(&c).await.backend != Backend::Redis {
        println!("Redis at {url} does not answer; Redis benchmarks skipped");
        return;
    }
    for _ in 0..1000 {
        black_box(one.check(&c).await);
    }
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        black_box(one.check(&c).await);
    }
    report(
        "Redis (loopback), 1 limit, sequential round-trips",
        n,
        t.elapsed(),
    );

    let three = build(&[WIDE, WIDE_IP, WIDE_OP], &cluster, 100_000);
    let t = Instant::now();
    for _ in 0..n {
        black_box(three.check(&c).await);
    }
    report(
        "Redis (loopback), 3 limits in one script call",
        n,
        t.elapsed(),
    );

    // 64 checks in flight on the multiplexed connection (a loaded gateway).
    let shared = std::sync::Arc::new(build(&[WIDE], &cluster, 100_000));
    let rounds = n / 64;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let l = std::sync::Arc::clone(&shared);
            set.spawn(async move { l.check(&ctx(IpAddr::V4(Ipv4Addr::LOCALHOST))).await.allowed });
        }
        while set.join_next().await.is_some() {}
    }
    report(
        "Redis (loopback), 1 limit, 64 in flight (amortized)",
        rounds * 64,
        t.elapsed(),
    );
    cleanup(&url, &cluster.key_prefix);
}

fn cleanup(url: &str, prefix: &str) {
    if let Ok(client) = redis::Client::open(url)
        && let Ok(mut conn) = client.get_connection()
    {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("no runtime: {e}"),
    };
    runtime.block_on(async {
        run_local().await;
        run_redis().await;
    });
}
