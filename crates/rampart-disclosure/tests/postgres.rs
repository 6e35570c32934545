//! The tracker on a real PostgreSQL (DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test), each test in its own schema.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rampart_config::DisclosureConfig;
use rampart_disclosure::report::Severity;
use rampart_disclosure::{
    Action, DisclosureError, Disclosures, Evidence, NewReport, State, Tracker,
};

fn url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema no other test (or run) uses.
fn unique_schema(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "disc_{name}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

/// Runs `sql` in `schema` through a connection of its own, as any other
/// client of the database would.
async fn pg_exec(schema: &str, sql: &str) -> Result<u64, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url())
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET search_path TO \"{schema}\""
    )))
    .execute(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string());
    let _ = conn.close().await;
    result
}

async fn drop_schema(tracker: &Tracker, schema: &str) {
    tracker.close().await;
    pg_exec(schema, &format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

fn new_report(title: &str) -> NewReport {
    NewReport {
        title: title.into(),
        description: "GET /riders/{id} leaks private profiles".into(),
        endpoint: Some("GET /riders/{id}".into()),
        contact: Some("r@example.org".into()),
    }
}

#[tokio::test]
async fn postgres_tracks_the_whole_lifecycle_with_an_append_only_history() {
    let schema = unique_schema("life");
    let tracker = Tracker::postgres(&url(), &schema).await.unwrap();
    // Opening again (a second instance) finds the schema migrated.
    Tracker::postgres(&url(), &schema)
        .await
        .unwrap()
        .close()
        .await;
    let ops: BTreeSet<String> = ["getRider".to_owned()].into();
    let desk = Disclosures::new(tracker.clone(), &DisclosureConfig::default(), ops);
    let now = SystemTime::now();
    let (id, token) = desk.file(&new_report("leak"), 10, now).await.unwrap();
    let found = tracker.find_by_token(&token.token).await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert!(tracker.find_by_token(&token.hash).await.unwrap().is_none());

    let steps = [
        Action::Triage {
            severity: Severity::High,
            operations: vec!["getRider".into()],
            check: Some("bola".into()),
            note: None,
        },
        Action::Fix { note: None },
        Action::Verify {
            evidence: Evidence {
                check: "bola".into(),
                operations: vec!["getRider".into()],
                passed: true,
                run_id: None,
                details: serde_json::json!({"leaked": 0}),
            },
        },
        Action::Disclose { note: None },
    ];
    for step in &steps {
        desk.apply(id, step, "alice", now).await.unwrap();
    }
    let err = desk
        .apply(id, &Action::Fix { note: None }, "alice", now)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DisclosureError::IllegalTransition {
            from: State::Disclosed,
            ..
        }
    ));
    let report = tracker.get(id).await.unwrap();
    assert_eq!(report.state, State::Disclosed);
    assert_eq!(report.operations, ["getRider"]);
    assert!(report.evidence.unwrap().passed);
    let history = tracker.history(id).await.unwrap();
    let states: Vec<State> = history.iter().map(|h| h.to).collect();
    assert_eq!(
        states,
        [
            State::Received,
            State::Triaged,
            State::Fixed,
            State::Verified,
            State::Disclosed
        ]
    );
    for sql in [
        "UPDATE disclosure_history SET actor = 'mallory'",
        "DELETE FROM disclosure_history",
        "TRUNCATE disclosure_history CASCADE",
    ] {
        let err = pg_exec(&schema, sql).await.unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(tracker.history(id).await.unwrap(), history);
    drop_schema(&tracker, &schema).await;
}

#[tokio::test]
async fn postgres_holds_the_open_report_cap_under_concurrent_filing() {
    let schema = unique_schema("cap");
    let tracker = Tracker::postgres(&url(), &schema).await.unwrap();
    let desk = Arc::new(Disclosures::new(
        tracker.clone(),
        &DisclosureConfig::default(),
        BTreeSet::new(),
    ));
    let mut tasks = Vec::new();
    for i in 0..30 {
        let desk = desk.clone();
        tasks.push(tokio::spawn(async move {
            desk.file(&new_report(&format!("r{i}")), 5, SystemTime::now())
                .await
        }));
    }
    let mut filed = 0;
    let mut full = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => filed += 1,
            Err(DisclosureError::Full(5)) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((filed, full), (5, 25));
    assert_eq!(tracker.open_count().await.unwrap(), 5);
    drop_schema(&tracker, &schema).await;
}

#[tokio::test]
async fn a_bad_schema_name_is_refused_before_connecting() {
    let err = Tracker::postgres(&url(), "x\"; DROP TABLE y; --")
        .await
        .unwrap_err();
    assert!(matches!(err, DisclosureError::InvalidSchema(_)));
}
