#![allow(clippy::unwrap_used)]
//! Redis going away and coming back: each failure mode, and recovery
//! without a restart.

mod support;

use std::time::{Duration, Instant};

use rampart_config::OnRedisError;
use rampart_limits::{Backend, KeyContext, Limiter, RedisStatus};
use support::{OwnRedis, Prefix, cluster, free_port, limiter};

const RULE: &str = r#"{"name":"per-ip","key":["ip"],"rate":"3/min"}"#;

fn ctx() -> KeyContext<'static> {
    KeyContext::new("192.0.2.1".parse().unwrap(), "riders", "search")
}

/// Checks until `done` holds or five seconds pass; the polling interval is
/// short, and the deadline only bounds a failure.
async fn eventually(limiter: &Limiter, done: impl Fn(&rampart_limits::Verdict<'_>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let v = limiter.check(&ctx()).await;
        if done(&v) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting; last verdict {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_closed_port_fails_open_to_local_limits() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let l = limiter(&[RULE], &cluster(&url, "t:", OnRedisError::FailOpen));
    let started = Instant::now();
    let verdicts: Vec<_> = futures_free_join(&l, 5).await;
    // The local buckets enforce the same limit.
    assert_eq!(verdicts.iter().filter(|v| v.0).count(), 3);
    assert!(verdicts.iter().all(|v| v.1 == Backend::LocalFallback));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no request waits long"
    );
    assert_eq!(l.redis_status(), RedisStatus::Down);
    let stats = l.stats();
    assert_eq!(stats.local_fallbacks, 5);
    assert!(stats.redis_errors >= 1);
    assert_eq!(stats.limited, 2);
}

#[tokio::test]
async fn a_closed_port_fails_closed() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let l = limiter(&[RULE], &cluster(&url, "t:", OnRedisError::FailClosed));
    let v = l.check(&ctx()).await;
    assert!(!v.allowed && v.unavailable);
    assert_eq!(v.backend, Backend::Unavailable);
    assert_eq!(v.rule, None);
    assert!(v.retry_after.is_some());
    assert_eq!(l.stats().unavailable, 1);
    // Requests without an applicable limit are not affected.
    let other = KeyContext {
        operation: "unlimited",
        ..ctx()
    };
    let l2 = limiter(
        &[r#"{"name":"x","key":["ip"],"rate":"1/s","operations":["login"]}"#],
        &cluster(&url, "t:", OnRedisError::FailClosed),
    );
    assert!(l2.check(&other).await.allowed);
}

async fn futures_free_join(l: &Limiter, n: usize) -> Vec<(bool, Backend)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let v = l.check(&ctx()).await;
        out.push((v.allowed, v.backend));
    }
    out
}

/// Our own Redis, killed and restarted under load: fail-open keeps limiting
/// locally, fail-closed refuses, and both are back on Redis once it returns.
#[tokio::test]
async fn redis_stopped_and_restarted_mid_load() {
    let Some(mut redis) = OwnRedis::start(free_port()) else {
        eprintln!("redis-server is not installed; skipping the restart test");
        return;
    };
    let prefix = Prefix::new("restart");
    let open = limiter(
        &[RULE],
        &cluster(&redis.url(), &prefix.prefix, OnRedisError::FailOpen),
    );
    let closed = limiter(
        &[r#"{"name":"closed","key":["ip"],"rate":"1000/s"}"#],
        &cluster(&redis.url(), &prefix.prefix, OnRedisError::FailClosed),
    );
    assert_eq!(open.check(&ctx()).await.backend, Backend::Redis);
    assert_eq!(closed.check(&ctx()).await.backend, Backend::Redis);

    redis.kill();
    eventually(&open, |v| v.backend == Backend::LocalFallback).await;
    assert_eq!(open.redis_status(), RedisStatus::Down);
    // Local limits hold while Redis is away: the local bucket is fresh, so
    // exactly 3 per minute, whatever Redis had counted.
    let mut allowed = 0;
    for _ in 0..10 {
        let v = open.check(&ctx()).await;
        assert_eq!(v.backend, Backend::LocalFallback);
        allowed += usize::from(v.allowed);
    }
    assert!(allowed <= 3, "{allowed}");
    eventually(&closed, |v| v.unavailable).await;

    assert!(redis.restart(), "redis-server restarts");
    eventually(&open, |v| v.backend == Backend::Redis).await;
    eventually(&closed, |v| v.allowed && v.backend == Backend::Redis).await;
    assert_eq!(open.redis_status(), RedisStatus::Up);
    assert!(open.stats().redis_recoveries >= 1);
    assert!(closed.stats().redis_recoveries >= 1);
}
