//! Helpers for tests against a real Redis: its URL, a key prefix per test
//! run (cleaned up on drop), a Redis server of our own to stop and restart,
//! and small limiter builders.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart_config::{ClusterConfig, OnRedisError, RateLimitRule};
use rampart_limits::Limiter;

/// `REDIS_URL`, else the machine's default Redis.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test run uses; its keys are deleted on drop.
pub struct Prefix {
    pub prefix: String,
    url: String,
}

impl Prefix {
    pub fn new(test: &str) -> Prefix {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Prefix {
            prefix: format!("rampart-test:{test}:{}:{nanos}:", std::process::id()),
            url: redis_url(),
        }
    }

    /// Keys under the prefix, now.
    pub fn keys(&self) -> Vec<String> {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return Vec::new();
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return Vec::new();
        };
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default()
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(client) = redis::Client::open(self.url.as_str())
            && let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1))
        {
            let _: Result<(), _> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// Fails the test with a clear message when the machine's Redis is not up.
pub fn require_redis() {
    let url = redis_url();
    let up = redis::Client::open(url.as_str())
        .ok()
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)).ok())
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).ok())
        .is_some();
    assert!(
        up,
        "these tests need Redis at {url} (set REDIS_URL); start it with `redis-server`"
    );
}

/// A `rate_limits` entry from JSON.
pub fn rule(json: &str) -> RateLimitRule {
    serde_json::from_str(json).expect("valid rule")
}

/// A cluster config for `url`, with quick timeouts.
pub fn cluster(url: &str, prefix: &str, on_error: OnRedisError) -> ClusterConfig {
    ClusterConfig {
        redis_url: Some(url.to_owned()),
        key_prefix: prefix.to_owned(),
        on_redis_error: on_error,
        timeout_ms: 200,
        retry_interval_ms: 100,
        ..ClusterConfig::default()
    }
}

/// A limiter with `rules` on `cluster`.
pub fn limiter(rules: &[&str], cluster: &ClusterConfig) -> Limiter {
    let rules: Vec<RateLimitRule> = rules.iter().map(|r| rule(r)).collect();
    Limiter::builder()
        .rules(&rules)
        .cluster(cluster)
        .build()
        .expect("builds")
}

/// A TCP port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of our own, on a port of our own, killed on drop.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one, or returns `None` when `redis-server` is not installed.
    pub fn start(port: u16) -> Option<OwnRedis> {
        let mut redis = OwnRedis { port, child: None };
        redis.restart().then_some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) and waits until it answers.
    pub fn restart(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let up = redis::Client::open(self.url().as_str())
                .ok()
                .and_then(|c| {
                    c.get_connection_with_timeout(Duration::from_millis(200))
                        .ok()
                })
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).ok())
                .is_some();
            if up {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kills the server (SIGKILL: no goodbye to clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
