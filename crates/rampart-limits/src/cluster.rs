//! Cluster-wide buckets on Redis, and what happens when Redis is away.
//!
//! One check is one `EVALSHA` of `gcra.lua`, which reads, decides and
//! updates every applicable bucket atomically on the server: no
//! read-modify-write race between gateway instances, and one round-trip
//! however many limits apply.
//!
//! The connection is redis-rs's `ConnectionManager` (multiplexed, reconnects
//! on I/O errors), created lazily on the first check so that building a
//! limiter needs neither a runtime nor a reachable Redis. In front of it sits
//! a small circuit breaker, because the manager alone would make *every*
//! request wait for a reconnect attempt while Redis is down:
//!
//! - **up**: requests go to Redis, each bounded by `timeout_ms`. An error or
//!   a timeout trips the breaker.
//! - **down**: requests do not touch Redis; the limiter falls back (local
//!   limits, or 503 when failing closed). Every `retry_interval_ms`, one
//!   request is let through as a probe; when it succeeds the breaker closes
//!   and every instance is back on shared state, without a restart.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, Script};
use tokio::sync::OnceCell;

use crate::error::BuildError;

/// Whether the limiter can reach Redis (for health checks and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedisStatus {
    /// No `cluster.redis_url`: limits are per process by design.
    NotConfigured,
    /// The last exchange with Redis succeeded (or none was tried yet).
    Up,
    /// Redis is unreachable; limits fall back per `on_redis_error`.
    Down,
}

/// One bucket of a script call.
#[derive(Debug, Clone)]
pub(crate) struct RedisBucket {
    pub key: String,
    pub interval_us: u64,
    pub tolerance_us: u64,
    pub charge: bool,
}

/// What the script said about one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RedisReading {
    pub remaining: u32,
    pub reset: Duration,
    pub wait: Duration,
}

/// The script's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisAnswer {
    /// 0-based index of the refusing bucket, if any.
    pub refused: Option<usize>,
    pub readings: Vec<RedisReading>,
}

/// Why Redis could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisFailure {
    /// The breaker is open: Redis was not even tried.
    #[error("Redis is down; not retried before the next probe")]
    Open,
    /// No answer within `timeout_ms`.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// An error from the connection or the server.
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// An answer of the wrong shape (a different script under our name?).
    #[error("unexpected answer from the rate limit script")]
    Malformed,
}

const UP: u8 = 0;
const DOWN: u8 = 1;

/// The Redis side of a limiter; shared (through `Arc`) by limiters rebuilt
/// on reload while the cluster settings stay the same.
pub(crate) struct RedisBackend {
    client: Client,
    manager: OnceCell<ConnectionManager>,
    script: Script,
    timeout: Duration,
    retry_interval: Duration,
    origin: Instant,
    state: AtomicU8,
    /// When the breaker may let the next probe through (ms since `origin`).
    next_probe_ms: AtomicU64,
    probing: AtomicBool,
    /// Counted here so they survive reloads along with the connection.
    pub(crate) errors: AtomicU64,
    pub(crate) recoveries: AtomicU64,
}

impl RedisBackend {
    /// A backend for `url` (not connected yet).
    pub(crate) fn new(
        url: &str,
        password: Option<String>,
        timeout: Duration,
        retry_interval: Duration,
    ) -> Result<Self, BuildError> {
        let mut info = url
            .into_connection_info()
            .map_err(|e| BuildError::RedisUrl(e.to_string()))?;
        if let Some(password) = password {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = Client::open(info).map_err(|e| BuildError::RedisUrl(e.to_string()))?;
        Ok(RedisBackend {
            client,
            manager: OnceCell::new(),
            script: Script::new(include_str!("gcra.lua")),
            timeout,
            retry_interval,
            origin: Instant::now(),
            state: AtomicU8::new(UP),
            next_probe_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
        })
    }

    pub(crate) fn status(&self) -> RedisStatus {
        match self.state.load(Ordering::Acquire) {
            UP => RedisStatus::Up,
            _ => RedisStatus::Down,
        }
    }

    pub(crate) fn retry_interval(&self) -> Duration {
        self.retry_interval
    }

    /// Runs the script over `buckets`, unless the breaker is open.
    pub(crate) async fn run(
        &self,
        buckets: &[RedisBucket],
        all_or_nothing: bool,
    ) -> Result<RedisAnswer, RedisFailure> {
        let probe = match self.state.load(Ordering::Acquire) {
            UP => false,
            _ => {
                let now = self.now_ms();
                if now < self.next_probe_ms.load(Ordering::Acquire)
                    || self
                        .probing
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                {
                    return Err(RedisFailure::Open);
                }
                true
            }
        };
        let result =
            match tokio::time::timeout(self.timeout, self.call(buckets, all_or_nothing)).await {
                Ok(result) => result,
                Err(_) => Err(RedisFailure::Timeout(self.timeout)),
            };
        match &result {
            Ok(_) => {
                if self.state.swap(UP, Ordering::AcqRel) == DOWN {
                    self.recoveries.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("Redis is reachable again; rate limits are shared again");
                }
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.next_probe_ms.store(
                    self.now_ms().saturating_add(millis(self.retry_interval)),
                    Ordering::Release,
                );
                if self.state.swap(DOWN, Ordering::AcqRel) == UP {
                    tracing::warn!(
                        error = %e,
                        "Redis is unreachable; rate limits fall back until it returns"
                    );
                }
            }
        }
        if probe {
            self.probing.store(false, Ordering::Release);
        }
        result
    }

    async fn call(
        &self,
        buckets: &[RedisBucket],
        all_or_nothing: bool,
    ) -> Result<RedisAnswer, RedisFailure> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(0)
                    .set_max_delay(self.retry_interval);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(if all_or_nothing { "1" } else { "0" });
        for bucket in buckets {
            invocation
                .key(&bucket.key)
                .arg(bucket.interval_us)
                .arg(bucket.tolerance_us)
                .arg(u8::from(bucket.charge));
        }
        let mut connection = manager.clone();
        let values: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        parse_answer(&values, buckets.len()).ok_or(RedisFailure::Malformed)
    }

    fn now_ms(&self) -> u64 {
        millis(self.origin.elapsed())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn parse_answer(values: &[i64], buckets: usize) -> Option<RedisAnswer> {
    if values.len() != 2 + 3 * buckets {
        return None;
    }
    let refused = match values[1] {
        0 => None,
        i => Some(
            usize::try_from(i)
                .ok()?
                .checked_sub(1)
                .filter(|i| *i < buckets)?,
        ),
    };
    let micros = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
    let readings = values[2..]
        .chunks_exact(3)
        .map(|c| RedisReading {
            remaining: u32::try_from(c[0].max(0)).unwrap_or(u32::MAX),
            reset: micros(c[1]),
            wait: micros(c[2]),
        })
        .collect();
    Some(RedisAnswer { refused, readings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_before_use() {
        let answer = parse_answer(&[0, 2, 5, 1000, 0, 0, 2_000_000, 1500], 2).expect("valid");
        assert_eq!(answer.refused, Some(1));
        assert_eq!(
            answer.readings[1],
            RedisReading {
                remaining: 0,
                reset: Duration::from_secs(2),
                wait: Duration::from_micros(1500)
            }
        );
        assert_eq!(parse_answer(&[1, 0, 5], 1), None);
        assert_eq!(parse_answer(&[0, 3, 1, 1, 1], 1), None);
        assert_eq!(parse_answer(&[0, -1, 1, 1, 1], 1), None);
    }
}
