//! Three `rampart serve` processes share one rate limit through the real
//! Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`): at 100/s with about
//! 1000/s offered in total, the cluster accepts 100/s within ±5%.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{Proc, client, upstream};

const LIMIT_PER_SEC: f64 = 100.0;
/// Load runs for WARMUP + WINDOW; only requests sent in the window count, so
/// the burst a fresh limit allows (and connection set-up) is not measured.
const WARMUP: Duration = Duration::from_secs(1);
const WINDOW: Duration = Duration::from_secs(4);
const OFFERED_PER_GATEWAY: u64 = 333;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_share_one_limit_through_redis() {
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!(
        "rampart-test-{}-{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\nsecurity: []\npaths:\n  /a:\n    get:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {type: object}}}}\n        '429': {description: limited}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rampart.yaml"),
        format!(
            "listen: 127.0.0.1:0\napis:\n  - name: t\n    spec: ./api.yaml\n    upstream: {up}\n\
             log:\n  security: ./security.log\n\
             rate_limits:\n  - {{name: cluster-wide, key: [api], rate: 100/s, burst: 20}}\n\
             cluster:\n  redis_url: {redis}\n  key_prefix: \"{prefix}\"\n  on_redis_error: fail_closed\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("rampart.yaml");
    let gateways: Vec<(Proc, String)> = (0..3)
        .map(|_| {
            let p = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
            let line = p.stderr_line("rampart is serving");
            let addr = line.split("listen=").nth(1).unwrap().trim().to_string();
            (p, format!("http://{addr}/a"))
        })
        .collect();

    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut senders = Vec::new();
    for (_, url) in &gateways {
        let (url, accepted, refused, other) = (
            url.clone(),
            accepted.clone(),
            refused.clone(),
            other.clone(),
        );
        senders.push(tokio::spawn(async move {
            let client = client();
            let mut tick =
                tokio::time::interval(Duration::from_micros(1_000_000 / OFFERED_PER_GATEWAY));
            let mut inflight = Vec::new();
            while started.elapsed() < WARMUP + WINDOW {
                tick.tick().await;
                let counted = started.elapsed() >= WARMUP;
                let (c, url) = (client.clone(), url.clone());
                let (a, r, o) = (accepted.clone(), refused.clone(), other.clone());
                inflight.push(tokio::spawn(async move {
                    let status = c.get(&url).send().await.map(|r| r.status().as_u16());
                    if counted {
                        match status {
                            Ok(200) => a.fetch_add(1, Ordering::Relaxed),
                            Ok(429) => r.fetch_add(1, Ordering::Relaxed),
                            _ => o.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }));
            }
            for t in inflight {
                let _ = t.await;
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let secs = WINDOW.as_secs_f64();
    let (a, r, o) = (
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
    );
    let offered = (a + r + o) as f64 / secs;
    let rate = a as f64 / secs;
    println!(
        "3 gateways sharing Redis: offered {offered:.0}/s, accepted {rate:.1}/s against {LIMIT_PER_SEC}/s ({:+.1}%), refused {r}, other {o}",
        (rate - LIMIT_PER_SEC) / LIMIT_PER_SEC * 100.0
    );
    for (p, _) in gateways {
        assert!(p.stop().success());
    }
    assert_eq!(o, 0, "every answer is 200 or 429");
    assert!(
        offered > 800.0,
        "the load reached about 1000/s: {offered:.0}/s"
    );
    assert!(
        (rate - LIMIT_PER_SEC).abs() <= LIMIT_PER_SEC * 0.05,
        "accepted {rate:.1}/s is not within 5% of {LIMIT_PER_SEC}/s"
    );
}
