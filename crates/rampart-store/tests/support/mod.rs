//! Helpers shared by the store's integration tests: events, scratch
//! stores, and a PostgreSQL schema per test that is dropped afterwards.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_store::{AuditEvent, Store, Verdict};

/// The PostgreSQL URL tests use.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether PostgreSQL tests are skipped (`RAMPART_SKIP_POSTGRES=1`);
/// otherwise an unreachable server fails them.
pub fn skip_postgres() -> bool {
    let skip = std::env::var_os("RAMPART_SKIP_POSTGRES").is_some_and(|v| v == "1");
    if skip {
        eprintln!("RAMPART_SKIP_POSTGRES=1: skipping a PostgreSQL test");
    }
    skip
}

/// A time `secs` seconds after a fixed origin (2026-01-01).
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600 + secs)
}

/// An event with a request id, a time, a principal and an IP.
pub fn event(id: &str, ts: SystemTime, principal: Option<&str>, ip: &str) -> AuditEvent {
    let mut e = AuditEvent::new(ts, id, ip);
    e.principal = principal.map(str::to_owned);
    e.operation = Some("getRider".to_owned());
    e.route = Some("/riders/{id}".to_owned());
    e.objects = vec![id.to_owned()];
    e.records = 1;
    e.bytes_out = 321;
    e.latency_ms = 1.5;
    e
}

/// An event at `secs`, otherwise like [`event`].
pub fn simple(id: &str, secs: u64) -> AuditEvent {
    event(id, at(secs), Some("alice"), "192.0.2.1")
}

/// Marks an event blocked by a rule.
pub fn blocked(mut e: AuditEvent, rule: &'static str) -> AuditEvent {
    e.decision = Verdict::Blocked;
    e.status = 404;
    e.rules = vec![rule.into()];
    e
}

/// A schema name no other test run uses.
pub fn unique_schema() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "rampart_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A PostgreSQL store in a fresh schema, dropped (with its tables) when
/// the guard goes, even if the test panics.
pub struct PgScratch {
    pub store: Store,
    pub schema: String,
}

impl PgScratch {
    pub async fn new() -> PgScratch {
        let schema = unique_schema();
        let store = match Store::postgres(&database_url(), &schema, 4).await {
            Ok(s) => s,
            Err(e) => panic!(
                "PostgreSQL at {} is not usable ({e}); set DATABASE_URL, or RAMPART_SKIP_POSTGRES=1 to skip",
                database_url()
            ),
        };
        PgScratch { store, schema }
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        // Drop runs inside the test's runtime: clean up from a thread of
        // our own with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&database_url()).await {
                    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Request ids of `events`, in order.
pub fn ids(events: &[AuditEvent]) -> Vec<String> {
    events.iter().map(|e| e.request_id.clone()).collect()
}
