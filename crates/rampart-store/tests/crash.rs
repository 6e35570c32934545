//! "An event acknowledged as stored survives a crash": a child process
//! records events from several tasks and prints each id once its ack
//! resolves; the parent SIGKILLs it mid-stream, reopens the store and
//! checks that every printed id is there.
//!
//! The child is this same test binary, re-run with `--exact crash_child`
//! and an environment variable telling it which sink to write: no extra
//! binary to build, and the child is the real recorder code.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rampart_config::Overflow;
use rampart_store::{EventQuery, Recorder, RecorderOptions, Store};
use support::*;

const CHILD_ENV: &str = "RAMPART_STORE_CRASH_CHILD";
/// Acks the parent waits for before the kill.
const ACKS_BEFORE_KILL: usize = 1500;
/// Events each child task writes at most (so a run is bounded).
const PER_TASK: usize = 800;
const TASKS: usize = 8;

/// How the child opens its store: `sqlite:<path>`, `file:<path>` or
/// `postgres:<schema>`.
async fn open(spec: &str) -> Store {
    let (kind, arg) = spec.split_once(':').unwrap();
    match kind {
        "sqlite" => Store::sqlite(arg.as_ref()).await.unwrap(),
        "file" => Store::file(arg.into(), 64 * 1024, 1000),
        "postgres" => Store::postgres(&database_url(), arg, 4).await.unwrap(),
        _ => panic!("unknown sink {kind}"),
    }
}

/// The child's body; a no-op when run as an ordinary test.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let options = RecorderOptions {
            batch_max_events: 32,
            batch_max_delay: Duration::from_millis(2),
            queue_capacity: 1024,
            overflow: Overflow::Backpressure,
            retry_for: Duration::from_secs(5),
            retention: None,
            retention_check: Duration::from_secs(3600),
        };
        let (recorder, _task) = Recorder::start(open(&spec).await, options);
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let recorder = recorder.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..PER_TASK {
                    let id = format!("c{t}-{n}");
                    let ack = recorder.record(simple(&id, n as u64)).await;
                    if ack.await.is_ok() {
                        // One write per line: the parent never sees half an id.
                        println!("ACK {id}");
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// Runs the child against `spec`, kills it after enough acks, and returns
/// the ids it acknowledged.
fn acked_before_kill(spec: &str) -> HashSet<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = HashSet::new();
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if let Some(id) = line.unwrap().strip_prefix("ACK ") {
            acked.insert(id.to_owned());
            if acked.len() == ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    assert_eq!(acked.len(), ACKS_BEFORE_KILL, "the child stopped early");
    // `kill` is SIGKILL on Unix: no destructor, no flush, no shutdown.
    child.kill().unwrap();
    // Acks printed before the kill still sit in the pipe: they count.
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix("ACK ") {
            acked.insert(id.to_owned());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    acked
}

async fn assert_all_present(store: &Store, acked: &HashSet<String>) {
    let stored: HashSet<String> = store
        .query(&EventQuery {
            limit: EventQuery::MAX_LIMIT,
            ..EventQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.request_id)
        .collect();
    let missing: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        missing.len(),
        acked.len(),
        missing.iter().take(10).collect::<Vec<_>>()
    );
    assert!(stored.len() < TASKS * PER_TASK, "the kill came mid-stream");
    eprintln!(
        "{}: {} acknowledged before SIGKILL, {} stored, none lost",
        store.kind(),
        acked.len(),
        stored.len()
    );
}

#[tokio::test]
async fn acked_events_survive_sigkill_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let acked = acked_before_kill(&format!("sqlite:{}", path.display()));
    let store = Store::sqlite(&path).await.unwrap();
    assert_all_present(&store, &acked).await;
}

#[tokio::test]
async fn acked_events_survive_sigkill_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let acked = acked_before_kill(&format!("file:{}", path.display()));
    let store = Store::file(path, 64 * 1024, 1000);
    assert_all_present(&store, &acked).await;
}

#[tokio::test]
async fn acked_events_survive_sigkill_postgres() {
    if skip_postgres() {
        return;
    }
    let pg = PgScratch::new().await;
    let acked = acked_before_kill(&format!("postgres:{}", pg.schema));
    assert_all_present(&pg.store, &acked).await;
}
