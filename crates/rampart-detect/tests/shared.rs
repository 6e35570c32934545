//! Blocks shared through the Redis on this machine: what one instance
//! decides, another enforces; an operator's unblock reaches every instance.
//! (`RAMPART_SKIP_REDIS=1` skips these tests where there is no Redis.)

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rampart_detect::{Block, Blocklist, RedisBlocklist, Restriction, Subject, SubjectRef};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn skip() -> bool {
    let skip = std::env::var_os("RAMPART_SKIP_REDIS").is_some_and(|v| v == "1");
    if skip {
        eprintln!("RAMPART_SKIP_REDIS=1: skipping a Redis test");
    }
    skip
}

/// Two instances on one prefix no other run uses; the hash is deleted after.
async fn pair() -> (Arc<RedisBlocklist>, Arc<RedisBlocklist>, String) {
    let prefix = format!(
        "rampart-test-{}-{}:",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let open = || async {
        let (list, _task) = RedisBlocklist::connect(
            &redis_url(),
            None,
            &prefix,
            Duration::from_secs(2),
            Duration::from_secs(3600),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis at {} is not usable ({e}); set REDIS_URL or RAMPART_SKIP_REDIS=1",
                redis_url()
            )
        });
        list
    };
    (open().await, open().await, prefix)
}

async fn cleanup(prefix: &str) {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}blocks"))
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn block(subject: &str, now: SystemTime, ttl: u64) -> Block {
    Block {
        subject: subject.parse().unwrap(),
        restriction: Restriction::Block,
        kind: None,
        reason: "test".to_owned(),
        since: now,
        until: now + Duration::from_secs(ttl),
    }
}

/// Waits until the instance's queued changes are in Redis.
async fn settle(list: &RedisBlocklist) {
    assert!(
        list.flushed(Duration::from_secs(5)).await,
        "writes reached Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_on_one_instance_is_enforced_by_another_and_lifted_everywhere() {
    if skip() {
        return;
    }
    let (a, b, prefix) = pair().await;
    let now = SystemTime::now();
    let ip = SubjectRef::Ip("192.0.2.44".parse().unwrap());
    a.insert(block("ip:192.0.2.44", now, 600));
    assert!(a.get(ip, now).is_some(), "local at once");
    settle(&a).await;
    b.sync(now).await.unwrap();
    let seen = b.get(ip, now).unwrap();
    assert_eq!(seen.subject, Subject::Ip("192.0.2.44".parse().unwrap()));

    // An operator lifts it on b; a drops it at its next resync.
    assert!(b.remove(ip).is_some());
    settle(&b).await;
    a.sync(now).await.unwrap();
    assert!(
        a.get(ip, now).is_none(),
        "the unblock reached the other instance"
    );

    // A new detection after the unblock wins over the tombstone.
    let later = now + Duration::from_secs(1);
    a.insert(block("ip:192.0.2.44", later, 600));
    settle(&a).await;
    b.sync(later).await.unwrap();
    assert!(b.get(ip, later).is_some());
    cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_blocks_are_dropped_from_redis() {
    if skip() {
        return;
    }
    let (a, b, prefix) = pair().await;
    let now = SystemTime::now();
    a.insert(block("principal:mallory", now, 5));
    settle(&a).await;
    let later = now + Duration::from_secs(10);
    b.sync(later).await.unwrap();
    assert!(b.get(SubjectRef::Principal("mallory"), later).is_none());
    assert!(b.list(later).is_empty());
    cleanup(&prefix).await;
}
