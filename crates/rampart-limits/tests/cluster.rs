#![allow(clippy::unwrap_used)]
//! Limits shared through the machine's real Redis: several limiters (and
//! several processes) draw from one budget.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use rampart_config::OnRedisError;
use rampart_limits::{Backend, KeyContext, RedisStatus};
use support::{Prefix, cluster, limiter, redis_url, require_redis};

fn ctx(operation: &str) -> KeyContext<'_> {
    KeyContext::new("192.0.2.1".parse().unwrap(), "riders", operation)
}

#[tokio::test]
async fn two_instances_share_one_budget() {
    require_redis();
    let prefix = Prefix::new("share");
    let config = cluster(&redis_url(), &prefix.prefix, OnRedisError::FailClosed);
    let rules = [r#"{"name":"per-ip","key":["ip"],"rate":"5/min"}"#];
    let (a, b) = (limiter(&rules, &config), limiter(&rules, &config));
    let mut accepted = 0;
    for i in 0..20 {
        let l = if i % 2 == 0 { &a } else { &b };
        let v = l.check(&ctx("search")).await;
        assert_eq!(v.backend, Backend::Redis);
        accepted += usize::from(v.allowed);
    }
    assert_eq!(accepted, 5);
    assert_eq!(a.redis_status(), RedisStatus::Up);
    let refused = b.check(&ctx("search")).await;
    assert_eq!(refused.rule, Some("per-ip"));
    let wait = refused.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
        "{wait:?}"
    );
    let mut headers = HeaderMap::new();
    refused.headers.apply(&mut headers);
    assert_eq!(headers["ratelimit-policy"], "\"per-ip\";q=5;w=60");
    assert_eq!(headers["ratelimit"], "\"per-ip\";r=0;t=12");
    // One key in Redis, named after the limit, expiring when full again.
    let keys = prefix.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("{}rl:per-ip:", prefix.prefix)));
}

#[tokio::test]
async fn headers_count_down_on_redis_as_in_process() {
    require_redis();
    let prefix = Prefix::new("headers");
    let config = cluster(&redis_url(), &prefix.prefix, OnRedisError::FailClosed);
    let l = limiter(
        &[r#"{"name":"p","key":["ip"],"rate":"60/min","burst":3}"#],
        &config,
    );
    for remaining in [2, 1, 0] {
        let v = l.check(&ctx("search")).await;
        let mut headers = HeaderMap::new();
        v.headers.apply(&mut headers);
        let expected = format!("\"p\";r={remaining};t={}", 3 - remaining);
        assert_eq!(headers["ratelimit"], expected.as_str());
    }
}

#[tokio::test]
async fn all_or_nothing_and_failures_on_redis() {
    require_redis();
    let prefix = Prefix::new("atomic");
    let config = cluster(&redis_url(), &prefix.prefix, OnRedisError::FailClosed);
    let l = limiter(
        &[
            r#"{"name":"wide","key":["ip"],"rate":"10/min"}"#,
            r#"{"name":"narrow","key":["ip"],"rate":"2/min","operations":["login"]}"#,
            r#"{"name":"fails","key":["ip"],"rate":"2/min","operations":["pay"],"on":"failure"}"#,
        ],
        &config,
    );
    let mut accepted = 0;
    for _ in 0..10 {
        accepted += usize::from(l.check(&ctx("login")).await.allowed);
    }
    assert_eq!(accepted, 2, "narrow refuses after 2");
    let mut accepted = 0;
    for _ in 0..10 {
        accepted += usize::from(l.check(&ctx("search")).await.allowed);
    }
    assert_eq!(accepted, 8, "refused logins were not charged to wide");
    // `on: failure`: checked, counted only through record_failure.
    let prefix2 = Prefix::new("failures");
    let config = cluster(&redis_url(), &prefix2.prefix, OnRedisError::FailClosed);
    let l = limiter(
        &[r#"{"name":"fails","key":["ip"],"rate":"2/min","operations":["pay"],"on":"failure"}"#],
        &config,
    );
    for _ in 0..5 {
        assert!(l.check(&ctx("pay")).await.allowed);
    }
    l.record_failure(&ctx("pay")).await;
    l.record_failure(&ctx("pay")).await;
    let v = l.check(&ctx("pay")).await;
    assert!(!v.allowed);
    assert_eq!(v.rule, Some("fails"));
    assert_eq!(v.backend, Backend::Redis);
}

/// Three limiters in three OS processes, each offering ~333 requests per
/// second for 4 s to one 100/s limit in Redis: the accepted total rate must
/// be 100/s within 5%.
#[test]
fn three_processes_hold_a_shared_limit_within_five_percent() {
    require_redis();
    let prefix = Prefix::new("accuracy");
    let start_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1500;
    let (warmup_ms, window_ms) = (1000, 4000);
    let probes: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rampart-limit-probe"))
                .arg(format!("redis={}", redis_url()))
                .arg(format!("prefix={}", prefix.prefix))
                .args(["rate=100/s", "offered=333"])
                .arg(format!("start_ms={start_ms}"))
                .arg(format!("warmup_ms={warmup_ms}"))
                .arg(format!("window_ms={window_ms}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // All three run at once; collect them only now.
    let probes: Vec<_> = probes
        .into_iter()
        .map(|p| p.wait_with_output().unwrap())
        .collect();
    let (mut offered, mut accepted, mut errors) = (0u64, 0u64, 0u64);
    for probe in &probes {
        assert!(
            probe.status.success(),
            "{}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let line: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
        offered += line["offered"].as_u64().unwrap();
        accepted += line["accepted"].as_u64().unwrap();
        errors += line["errors"].as_u64().unwrap();
    }
    let secs = f64::from(window_ms) / 1000.0;
    let (offered_rate, accepted_rate) = (offered as f64 / secs, accepted as f64 / secs);
    println!(
        "3 processes: offered {offered_rate:.1}/s, accepted {accepted_rate:.1}/s \
         against 100/s ({:+.2}%), {errors} checks not decided by Redis",
        accepted_rate - 100.0
    );
    assert_eq!(errors, 0);
    assert!(offered_rate > 900.0, "the probes could not offer the load");
    assert!(
        (95.0..=105.0).contains(&accepted_rate),
        "accepted {accepted_rate:.1}/s"
    );
}
