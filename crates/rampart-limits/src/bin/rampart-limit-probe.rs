//! Offers a steady load to one cluster-wide rate limit and reports how much
//! was accepted: the accuracy test runs several of these as separate OS
//! processes sharing one Redis, as separate gateway instances would.
//!
//! ```text
//! rampart-limit-probe redis=redis://127.0.0.1:6379 prefix=test: rate=100/s \
//!     offered=333 start_ms=<unix ms> warmup_ms=1000 window_ms=4000
//! ```
//!
//! Every process starts at the same wall-clock instant (`start_ms`), sends
//! one check every `1/offered` seconds, and counts only the checks *sent*
//! inside the measuring window `[start + warmup, start + warmup + window)`,
//! so the burst that the warm-up drains is not counted as rate. It prints
//! one JSON line: `{"offered":N,"accepted":N,"errors":N,"window_ms":N}`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_config::{ClusterConfig, RateLimitRule};
use rampart_limits::{Backend, KeyContext, Limiter};

fn main() -> ExitCode {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rampart-limit-probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn arg<T: std::str::FromStr>(args: &HashMap<String, String>, name: &str) -> Result<T, String> {
    args.get(name)
        .ok_or_else(|| format!("missing {name}=..."))?
        .parse()
        .map_err(|_| format!("invalid {name}"))
}

fn run(args: &HashMap<String, String>) -> Result<String, String> {
    let redis: String = arg(args, "redis")?;
    let prefix: String = arg(args, "prefix")?;
    let rate: String = arg(args, "rate")?;
    let offered: u32 = arg(args, "offered")?;
    let start_ms: u64 = arg(args, "start_ms")?;
    let warmup = Duration::from_millis(arg(args, "warmup_ms")?);
    let window = Duration::from_millis(arg(args, "window_ms")?);
    let rule: RateLimitRule = serde_json::from_value(serde_json::json!({
        "name": "probe", "key": ["api"], "rate": rate,
    }))
    .map_err(|e| e.to_string())?;
    let cluster = ClusterConfig {
        redis_url: Some(redis),
        key_prefix: prefix,
        ..ClusterConfig::default()
    };
    let limiter = Limiter::builder()
        .rules(&[rule])
        .cluster(&cluster)
        .build()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(offer(&limiter, offered, start_ms, warmup, window))
}

async fn offer(
    limiter: &Limiter,
    offered: u32,
    start_ms: u64,
    warmup: Duration,
    window: Duration,
) -> Result<String, String> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis();
    let delay = u128::from(start_ms).saturating_sub(now_ms);
    let start = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(delay).map_err(|e| e.to_string())?);
    let period = Duration::from_secs(1) / offered.max(1);
    let mut ticks = tokio::time::interval_at(start, period);
    // Keep the average offered rate even when a tick is late.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let ctx = KeyContext::new([127, 0, 0, 1].into(), "probe", "probe");
    let (window_start, window_end) = (start + warmup, start + warmup + window);
    let (mut sent, mut accepted, mut errors) = (0u64, 0u64, 0u64);
    loop {
        ticks.tick().await;
        // The actual send time, not the scheduled one: a late tick counts
        // where it really happened.
        let sent_at = tokio::time::Instant::now();
        if sent_at >= window_end {
            break;
        }
        let verdict = limiter.check(&ctx).await;
        if sent_at < window_start {
            continue;
        }
        sent += 1;
        if verdict.backend != Backend::Redis {
            errors += 1;
        }
        if verdict.allowed {
            accepted += 1;
        }
    }
    Ok(format!(
        r#"{{"offered":{sent},"accepted":{accepted},"errors":{errors},"window_ms":{}}}"#,
        window.as_millis()
    ))
}
