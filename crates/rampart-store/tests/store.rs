//! The audit store against real sinks: SQLite files, the PostgreSQL server
//! on this machine (a scratch schema per test), and rotated JSON-lines files.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant, SystemTime};

use rampart_config::Overflow;
use rampart_store::{EventQuery, Recorder, RecorderOptions, Store, StoreError, Verdict};
use support::*;

fn options(batch: usize, delay: Duration, capacity: usize, overflow: Overflow) -> RecorderOptions {
    RecorderOptions {
        batch_max_events: batch,
        batch_max_delay: delay,
        queue_capacity: capacity,
        overflow,
        retry_for: Duration::from_secs(30),
        retention: None,
        retention_check: Duration::from_secs(3600),
    }
}

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    Store::sqlite(&dir.path().join("events.db")).await.unwrap()
}

/// Polls `check` until it holds, for at most 10 s (for background tasks
/// whose progress the test cannot await directly).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_fill_by_size_or_leave_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (recorder, task) = Recorder::start(
        sqlite_store(&dir).await,
        options(64, Duration::from_secs(3600), 1024, Overflow::Backpressure),
    );
    let mut acks = Vec::new();
    for n in 0..128 {
        acks.push(recorder.record(simple(&format!("r{n}"), n)).await);
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let stats = recorder.stats();
    assert_eq!((stats.batches_total, stats.written_total), (2, 128));
    assert_eq!(stats.queue_depth, 0);
    assert_eq!(stats.lag_seconds, 0.0);
    task.shutdown().await;

    // A lone event leaves when its batch's delay is up.
    let (recorder, task) = Recorder::start(
        sqlite_store(&dir).await,
        options(64, Duration::from_millis(150), 1024, Overflow::Backpressure),
    );
    let started = Instant::now();
    recorder.record_durably(simple("lone", 1000)).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(recorder.stats().batches_total, 1);
    task.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let (recorder, task) = Recorder::start(
        store.clone(),
        options(
            1000,
            Duration::from_secs(3600),
            4096,
            Overflow::Backpressure,
        ),
    );
    let mut acks = Vec::new();
    for n in 0..300 {
        acks.push(recorder.record(simple(&format!("r{n}"), n)).await);
    }
    task.shutdown().await;
    for ack in acks {
        ack.await.unwrap();
    }
    let after = recorder.record(simple("late", 1)).await;
    assert!(matches!(after.await, Err(StoreError::Closed)));
    let all = store
        .query(&EventQuery {
            limit: 1000,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 300);
}

/// Writes a fixed set of events and checks every filter, on any queryable store.
async fn queries_filter_and_order(store: Store) {
    let mut events = vec![
        event("a1", at(10), Some("alice"), "192.0.2.1"),
        event("b1", at(20), Some("bob"), "192.0.2.2"),
        blocked(
            event("b2", at(30), Some("bob"), "192.0.2.2"),
            "authz.object",
        ),
        event("anon", at(40), None, "198.51.100.7"),
        event("a2", at(50), Some("alice"), "192.0.2.9"),
    ];
    events[4].operation = Some("listWorkouts".to_owned());
    events[4].decision = Verdict::Modified;
    events[4].rules = vec!["authz.view.restricted".into()];
    store.write(&events).await.unwrap();

    let run = async |q: EventQuery| ids(&store.query(&q).await.unwrap());
    assert_eq!(
        run(EventQuery::default()).await,
        ["a2", "anon", "b2", "b1", "a1"],
        "newest first"
    );
    let q = EventQuery {
        principal: Some("bob".into()),
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["b2", "b1"]);
    let q = EventQuery {
        client_ip: Some("198.51.100.7".into()),
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["anon"]);
    let q = EventQuery {
        operation: Some("listWorkouts".into()),
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["a2"]);
    let q = EventQuery {
        decision: Some(Verdict::Blocked),
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["b2"]);
    let q = EventQuery {
        since: Some(at(20)),
        until: Some(at(40)),
        ..EventQuery::default()
    };
    assert_eq!(
        run(q).await,
        ["b2", "b1"],
        "since inclusive, until exclusive"
    );
    let q = EventQuery {
        principal: Some("alice".into()),
        since: Some(at(11)),
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["a2"]);
    let q = EventQuery {
        limit: 2,
        ..EventQuery::default()
    };
    assert_eq!(run(q).await, ["a2", "anon"]);
    let q = EventQuery {
        principal: Some("alice' OR '1'='1".into()),
        ..EventQuery::default()
    };
    assert!(run(q).await.is_empty(), "values are bound, never spliced");

    let back = store
        .query(&EventQuery {
            decision: Some(Verdict::Modified),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(back, vec![events[4].clone()], "events come back whole");
}

#[tokio::test]
async fn sqlite_queries_filter_and_order() {
    let dir = tempfile::tempdir().unwrap();
    queries_filter_and_order(sqlite_store(&dir).await).await;
}

#[tokio::test]
async fn postgres_queries_filter_and_order() {
    if skip_postgres() {
        return;
    }
    let pg = PgScratch::new().await;
    queries_filter_and_order(pg.store.clone()).await;
}

#[tokio::test]
async fn file_queries_filter_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::file(dir.path().join("events.jsonl"), 1 << 20, 3);
    queries_filter_and_order(store).await;
}

#[tokio::test]
async fn stdout_cannot_be_queried() {
    let err = Store::stdout().query(&EventQuery::default()).await;
    assert!(matches!(err, Err(StoreError::NotQueryable("stdout"))));
}

/// Purges by age, then lets the recorder's periodic task do it.
async fn retention_deletes_by_age(store: Store) {
    let now = SystemTime::now();
    let hours_ago = |h: u64| now - Duration::from_secs(h * 3600);
    let events = vec![
        event("old", hours_ago(50), Some("alice"), "192.0.2.1"),
        event("older", hours_ago(80), Some("alice"), "192.0.2.1"),
        event("recent", hours_ago(2), Some("alice"), "192.0.2.1"),
        event("new", now, Some("alice"), "192.0.2.1"),
    ];
    store.write(&events).await.unwrap();
    assert_eq!(store.purge_before(hours_ago(72)).await.unwrap(), 1);
    let left = store.query(&EventQuery::default()).await.unwrap();
    assert_eq!(ids(&left), ["new", "recent", "old"]);

    let mut opts = options(16, Duration::from_millis(5), 64, Overflow::Backpressure);
    opts.retention = Some(Duration::from_secs(24 * 3600));
    opts.retention_check = Duration::from_millis(20);
    let (recorder, task) = Recorder::start(store.clone(), opts);
    eventually("the periodic purge removed `old`", async || {
        let left = store.query(&EventQuery::default()).await.unwrap();
        ids(&left) == ["new", "recent"]
    })
    .await;
    recorder.record_durably(simple("after", 1)).await.unwrap();
    task.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_retention_deletes_by_age() {
    let dir = tempfile::tempdir().unwrap();
    retention_deletes_by_age(sqlite_store(&dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_retention_deletes_by_age() {
    if skip_postgres() {
        return;
    }
    let pg = PgScratch::new().await;
    retention_deletes_by_age(pg.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_rotates_and_keeps_n_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let store = Store::file(path.clone(), 16 * 1024, 2);
    let (recorder, task) = Recorder::start(
        store.clone(),
        options(8, Duration::from_millis(1), 1024, Overflow::Backpressure),
    );
    for n in 0..400 {
        recorder
            .record_durably(simple(&format!("r{n}"), n))
            .await
            .unwrap();
    }
    task.shutdown().await;
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]);
    for name in &names {
        let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(len <= 16 * 1024, "{name}: {len} bytes");
    }
    let newest = store.query(&EventQuery::default()).await.unwrap();
    assert_eq!(newest.first().map(|e| e.request_id.as_str()), Some("r399"));
}

/// Holds SQLite's write lock from another connection, so the recorder's
/// writer stalls the way a slow disk or a busy database would.
async fn lock_database(dir: &tempfile::TempDir) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn unlock_database(mut conn: sqlx::SqliteConnection) {
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_when_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let lock = lock_database(&dir).await;
    let (recorder, task) = Recorder::start(
        store.clone(),
        options(4, Duration::from_millis(1), 16, Overflow::Drop),
    );
    let mut acks = Vec::new();
    for n in 0..100 {
        acks.push(recorder.record(simple(&format!("r{n}"), n)).await);
    }
    let dropped = acks.iter().filter(|a| a.is_dropped()).count() as u64;
    let stats = recorder.stats();
    assert_eq!(stats.dropped_total, dropped);
    assert_eq!(stats.recorded_total + stats.dropped_total, 100);
    assert!(
        stats.recorded_total <= 16 + 4,
        "at most the queue and one batch in flight: {stats:?}"
    );
    assert!(
        stats.queue_depth > 0 && stats.lag_seconds >= 0.0,
        "{stats:?}"
    );
    unlock_database(lock).await;
    let mut stored = 0;
    for ack in acks {
        match ack.await {
            Ok(()) => stored += 1,
            Err(StoreError::Dropped) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(stored, stats.recorded_total);
    task.shutdown().await;
    let all = store
        .query(&EventQuery {
            limit: 1000,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.len() as u64,
        stored,
        "every accepted event, no dropped one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_pushes_back_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let lock = lock_database(&dir).await;
    let (recorder, task) = Recorder::start(
        store.clone(),
        options(4, Duration::from_millis(1), 8, Overflow::Backpressure),
    );
    let producer = {
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let mut acks = Vec::new();
            for n in 0..40 {
                acks.push(recorder.record(simple(&format!("r{n}"), n)).await);
            }
            acks
        })
    };
    eventually("the queue is full", async || {
        recorder.stats().queue_depth == 8
    })
    .await;
    assert!(!producer.is_finished(), "record waits for room");
    assert!(recorder.stats().lag_seconds > 0.0);
    unlock_database(lock).await;
    for ack in producer.await.unwrap() {
        ack.await.unwrap();
    }
    let stats = recorder.stats();
    assert_eq!((stats.dropped_total, stats.written_total), (0, 40));
    task.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_written_fails_its_acks() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: every append fails.
    let path = dir.path().join("events.jsonl");
    std::fs::create_dir(&path).unwrap();
    let mut opts = options(4, Duration::from_millis(1), 16, Overflow::Backpressure);
    opts.retry_for = Duration::from_millis(200);
    let (recorder, task) = Recorder::start(Store::file(path, 1 << 20, 1), opts);
    let ack = recorder.record(simple("x", 1)).await;
    assert!(matches!(ack.await, Err(StoreError::WriteFailed(_))));
    assert_eq!(recorder.stats().failed_total, 1);
    task.shutdown().await;
}

#[tokio::test]
async fn reopening_a_store_keeps_its_events_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_store(&dir)
        .await
        .write(&[simple("kept", 1)])
        .await
        .unwrap();
    let again = sqlite_store(&dir).await;
    let all = again.query(&EventQuery::default()).await.unwrap();
    assert_eq!(ids(&all), ["kept"]);
}
