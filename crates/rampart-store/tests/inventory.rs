//! What the inventory reads from the store: every event of a window (past
//! any query cap) and field classes upserted per operation, on SQLite,
//! PostgreSQL and files.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use rampart_store::{FieldClassCount, Store, StoreError};
use support::{PgScratch, at, simple, skip_postgres};

async fn scan_all(store: &Store, since: u64, until: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let n = store
        .scan(Some(at(since)), Some(at(until)), |e| ids.push(e.request_id))
        .await
        .unwrap();
    assert_eq!(n as usize, ids.len());
    ids
}

/// 5,000 events over 2,500 seconds, two per second (so pages split ties).
async fn fill(store: &Store) {
    let events: Vec<_> = (0..5_000u64)
        .map(|i| simple(&format!("r{i}"), i / 2))
        .collect();
    store.write(&events).await.unwrap();
}

fn expected(from: u64, to: u64) -> Vec<String> {
    (from * 2..to * 2).map(|i| format!("r{i}")).collect()
}

#[tokio::test]
async fn sqlite_scan_reads_a_whole_window_oldest_first_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::sqlite(&dir.path().join("events.db")).await.unwrap();
    fill(&store).await;
    assert_eq!(scan_all(&store, 0, 10_000).await, expected(0, 2_500));
    assert_eq!(scan_all(&store, 100, 1_200).await, expected(100, 1_200));
}

#[tokio::test]
async fn file_scan_reads_rotated_files_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::file(dir.path().join("events.jsonl"), 64 * 1024, 100);
    fill(&store).await;
    assert_eq!(scan_all(&store, 0, 10_000).await, expected(0, 2_500));
    assert_eq!(scan_all(&store, 7, 9).await, expected(7, 9));
    assert!(!store.keeps_field_classes());
    assert!(matches!(
        store
            .record_field_classes(&[FieldClassCount::seen("a", "o", "/p", "email", at(0))])
            .await,
        Err(StoreError::NotQueryable("file"))
    ));
}

async fn field_classes_upsert(store: &Store) {
    assert!(store.keeps_field_classes());
    let seen = |op: &str, pointer: &str, class: &str, secs| {
        FieldClassCount::seen("riders", op, pointer, class, at(secs))
    };
    store
        .record_field_classes(&[
            seen("getRider", "/email", "email", 100),
            seen("getRider", "/email", "email", 50),
            seen("searchRiders", "/*/email", "email", 60),
        ])
        .await
        .unwrap();
    store
        .record_field_classes(&[
            seen("getRider", "/email", "email", 30),
            seen("getRider", "/email", "email", 200),
            seen("getRider", "/password_hash", "secret", 210),
        ])
        .await
        .unwrap();
    let rows = store.field_classes(None).await.unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.operation.as_str(),
                r.pointer.as_str(),
                r.class.as_str(),
                r.count,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("getRider", "/email", "email", 4),
            ("getRider", "/password_hash", "secret", 1),
            ("searchRiders", "/*/email", "email", 1),
        ]
    );
    assert_eq!((rows[0].first_seen, rows[0].last_seen), (at(30), at(200)));
    let recent = store.field_classes(Some(at(150))).await.unwrap();
    assert_eq!(recent.len(), 2, "{recent:?}");
}

#[tokio::test]
async fn sqlite_field_classes_upsert_counts_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    field_classes_upsert(&store).await;
    store.close().await;
    let reopened = Store::sqlite(&path).await.unwrap();
    assert_eq!(reopened.field_classes(None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_version_1_database_gains_the_field_classes_table() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // The schema as the first release wrote it.
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE rampart_schema (component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        "INSERT INTO rampart_schema VALUES ('audit', 1)",
        "CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms BIGINT NOT NULL, \
         request_id TEXT NOT NULL, client_ip TEXT NOT NULL, principal TEXT, operation TEXT, \
         decision TEXT NOT NULL, status INTEGER NOT NULL, event TEXT NOT NULL)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let store = Store::sqlite(&path).await.unwrap();
    store.write(&[simple("old", 1)]).await.unwrap();
    field_classes_upsert(&store).await;
    assert_eq!(scan_all(&store, 0, 10).await, ["old"]);
}

#[tokio::test]
async fn postgres_field_classes_and_scan() {
    if skip_postgres() {
        return;
    }
    let pg = PgScratch::new().await;
    field_classes_upsert(&pg.store).await;
    fill(&pg.store).await;
    assert_eq!(scan_all(&pg.store, 0, 10_000).await, expected(0, 2_500));
    assert_eq!(scan_all(&pg.store, 100, 1_200).await, expected(100, 1_200));
}
