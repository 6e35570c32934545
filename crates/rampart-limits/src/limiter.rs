//! The limiter the gateway's throttle phase calls: which limits apply to a
//! request, where their buckets live (Redis or this process), and the
//! verdict.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rampart_config::{ClusterConfig, Config, CountOn, OnRedisError, RateLimitRule};

use crate::cluster::{RedisBackend, RedisBucket, RedisStatus};
use crate::error::BuildError;
use crate::headers::RateLimitHeaders;
use crate::key::{BytesSink, HashSink, KeyContext, compose};
use crate::local::{LimiterClock, LocalBuckets, Reading};
use crate::rule::{Rule, RuleSpec, compile, config_identity, operation_identity};
pub use crate::verdict::{Backend, LimiterStats, Verdict};

#[derive(Debug, Default)]
struct Counters {
    checks: AtomicU64,
    limited: AtomicU64,
    unavailable: AtomicU64,
    fallbacks: AtomicU64,
    failures: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Which limits a call evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The throttle phase: limits that do not read the body.
    Throttle,
    /// After the body is parsed: limits that read it.
    Body,
    /// Charging a failure: `on: failure` limits.
    Failure,
}

/// One applicable limit and the hash of the request's key under it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    rule: usize,
    hash: u64,
}

/// Every rate limit of one configuration, compiled; `Send + Sync`, shared by
/// all workers, rebuilt on reload (see [`LimiterBuilder::reuse`]).
pub struct Limiter {
    rules: Vec<Rule>,
    config_rules: Vec<usize>,
    by_operation: HashMap<String, HashMap<String, Vec<usize>>>,
    ipv6_prefix: u8,
    max_keys: u64,
    cluster: ClusterConfig,
    redis: Option<Arc<RedisBackend>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field(
                "rules",
                &self.rules.iter().map(Rule::name).collect::<Vec<_>>(),
            )
            .field("redis", &self.redis_status())
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A builder with no limits, local only.
    pub fn builder() -> LimiterBuilder<'static> {
        LimiterBuilder {
            config_rules: Vec::new(),
            operation_rules: Vec::new(),
            max_keys: 100_000,
            ipv6_prefix: 64,
            cluster: ClusterConfig::default(),
            previous: None,
            clock: LimiterClock::default(),
        }
    }

    /// A builder holding everything the config says: `rate_limits`,
    /// `limits.max_rate_limit_keys`, `client_ip.ipv6_prefix` and `cluster`.
    /// Add the spec's limits with [`LimiterBuilder::operation_rule`].
    pub fn from_config(config: &Config) -> LimiterBuilder<'static> {
        Limiter::builder()
            .rules(&config.rate_limits)
            .max_keys(config.limits.max_rate_limit_keys)
            .ipv6_prefix(config.client_ip.ipv6_prefix)
            .cluster(&config.cluster)
    }

    /// The throttle phase: checks every limit that applies to the request
    /// and does not read its body, and counts the request against the
    /// `on: request` ones, all or nothing (a request refused by one limit
    /// is charged to none).
    pub async fn check(&self, ctx: &KeyContext<'_>) -> Verdict<'_> {
        self.evaluate(ctx, Stage::Throttle).await
    }

    /// Once the JSON body is parsed (`ctx.body` set): the same, for the
    /// limits whose key reads the body (`body:/username`). Call it only
    /// when [`Limiter::has_body_rules`] says there are some.
    pub async fn check_body(&self, ctx: &KeyContext<'_>) -> Verdict<'_> {
        if ctx.body.is_none() {
            return Verdict::unlimited();
        }
        self.evaluate(ctx, Stage::Body).await
    }

    /// Charges a failed authentication, or a 401/403 answer, to the
    /// `on: failure` limits that apply (those reading the body only when
    /// `ctx.body` is set). Such limits are checked by [`Limiter::check`]
    /// on every request but only counted here.
    pub async fn record_failure(&self, ctx: &KeyContext<'_>) {
        let pending = self.pending(ctx, Stage::Failure);
        if pending.is_empty() {
            return;
        }
        self.counters
            .failures
            .fetch_add(pending.len() as u64, Ordering::Relaxed);
        if let Some(redis) = &self.redis {
            let buckets = self.redis_buckets(ctx, &pending, true);
            if redis.run(&buckets, false).await.is_ok() {
                return;
            }
        }
        for p in &pending {
            self.rules[p.rule].local.charge(p.hash);
        }
    }

    /// Whether any limit applies to this operation at all (the gateway may
    /// skip building a [`KeyContext`] otherwise).
    pub fn has_rules(&self, api: &str, operation: &str) -> bool {
        self.applicable(api, operation).next().is_some()
    }

    /// Whether a limit on this operation reads the body, so that
    /// [`Limiter::check_body`] must be called once it is parsed.
    pub fn has_body_rules(&self, api: &str, operation: &str) -> bool {
        self.applicable(api, operation)
            .any(|i| self.rules[i].needs_body)
    }

    /// Whether Redis is configured, reachable or down (for `/health` and a gauge).
    pub fn redis_status(&self) -> RedisStatus {
        self.redis
            .as_ref()
            .map_or(RedisStatus::NotConfigured, |r| r.status())
    }

    /// Counters for metrics.
    pub fn stats(&self) -> LimiterStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LimiterStats {
            checks: load(&c.checks),
            limited: load(&c.limited),
            unavailable: load(&c.unavailable),
            local_fallbacks: load(&c.fallbacks),
            failures_recorded: load(&c.failures),
            redis_errors: self.redis.as_ref().map_or(0, |r| load(&r.errors)),
            redis_recoveries: self.redis.as_ref().map_or(0, |r| load(&r.recoveries)),
        }
    }

    /// Keys currently tracked in process, over all limits (a memory gauge).
    pub fn tracked_keys(&self) -> u64 {
        self.rules.iter().map(|r| r.local.tracked_keys()).sum()
    }

    /// Names of the compiled limits, config ones first.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(Rule::name).collect()
    }

    fn applicable<'s>(
        &'s self,
        api: &'s str,
        operation: &'s str,
    ) -> impl Iterator<Item = usize> + 's {
        let global = self
            .config_rules
            .iter()
            .copied()
            .filter(move |&i| self.rules[i].scope.covers(api, operation));
        let own = self
            .by_operation
            .get(api)
            .and_then(|ops| ops.get(operation))
            .into_iter()
            .flatten()
            .copied();
        global.chain(own)
    }

    fn pending(&self, ctx: &KeyContext<'_>, stage: Stage) -> Vec<Pending> {
        let mut pending = Vec::new();
        for i in self.applicable(ctx.api, ctx.operation) {
            let rule = &self.rules[i];
            let wanted = match stage {
                Stage::Throttle => !rule.needs_body,
                Stage::Body => rule.needs_body,
                Stage::Failure => {
                    rule.identity.on == CountOn::Failure && (!rule.needs_body || ctx.body.is_some())
                }
            };
            if !wanted {
                continue;
            }
            let mut sink = HashSink(rule.local.hasher.build_hasher());
            if compose(&rule.identity.key, ctx, self.ipv6_prefix, &mut sink) {
                pending.push(Pending {
                    rule: i,
                    hash: std::hash::Hasher::finish(&sink.0),
                });
            }
        }
        pending
    }

    async fn evaluate(&self, ctx: &KeyContext<'_>, stage: Stage) -> Verdict<'_> {
        let pending = self.pending(ctx, stage);
        if pending.is_empty() {
            return Verdict::unlimited();
        }
        bump(&self.counters.checks);
        let (readings, backend) = match &self.redis {
            None => (self.local(&pending), Backend::Local),
            Some(redis) => {
                let buckets = self.redis_buckets(ctx, &pending, false);
                match redis.run(&buckets, true).await {
                    Ok(answer) => {
                        let readings = pending
                            .iter()
                            .zip(&answer.readings)
                            .enumerate()
                            .map(|(i, (p, r))| {
                                let reading = if answer.refused == Some(i) {
                                    Reading::Denied { wait: r.wait }
                                } else {
                                    Reading::Allowed {
                                        remaining: r.remaining,
                                        reset: r.reset,
                                    }
                                };
                                (p.rule, reading)
                            })
                            .collect();
                        (readings, Backend::Redis)
                    }
                    Err(_) if self.cluster.on_redis_error == OnRedisError::FailClosed => {
                        bump(&self.counters.unavailable);
                        return Verdict {
                            allowed: false,
                            rule: None,
                            retry_after: Some(redis.retry_interval()),
                            headers: RateLimitHeaders::default(),
                            unavailable: true,
                            backend: Backend::Unavailable,
                        };
                    }
                    Err(_) => {
                        bump(&self.counters.fallbacks);
                        (self.local(&pending), Backend::LocalFallback)
                    }
                }
            }
        };
        let verdict = self.verdict(&readings, backend);
        if !verdict.allowed {
            bump(&self.counters.limited);
        }
        verdict
    }

    /// In-process decision, all or nothing: with several limits, look at
    /// each first and charge only if all conform.
    fn local(&self, pending: &[Pending]) -> Vec<(usize, Reading)> {
        let measure = |p: &Pending, charge: bool| {
            let rule = &self.rules[p.rule];
            if charge && rule.counts_requests() {
                rule.local.charge(p.hash)
            } else {
                rule.local.peek(p.hash)
            }
        };
        if let [only] = pending {
            return vec![(only.rule, measure(only, true))];
        }
        let mut readings: Vec<(usize, Reading)> = pending
            .iter()
            .map(|p| (p.rule, measure(p, false)))
            .collect();
        if readings
            .iter()
            .all(|(_, r)| matches!(r, Reading::Allowed { .. }))
        {
            for (p, reading) in pending.iter().zip(readings.iter_mut()) {
                if self.rules[p.rule].counts_requests() {
                    // May still be refused if another request took the last
                    // unit in between; earlier charges then stand.
                    reading.1 = measure(p, true);
                }
            }
        }
        readings
    }

    fn redis_buckets(
        &self,
        ctx: &KeyContext<'_>,
        pending: &[Pending],
        charge_all: bool,
    ) -> Vec<RedisBucket> {
        pending
            .iter()
            .map(|p| {
                let rule = &self.rules[p.rule];
                let mut sink = BytesSink(rule.redis_salt.clone());
                compose(&rule.identity.key, ctx, self.ipv6_prefix, &mut sink);
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &sink.0);
                let mut key = String::with_capacity(rule.redis_prefix.len() + 32);
                key.push_str(&rule.redis_prefix);
                for byte in &digest.as_ref()[..16] {
                    key.push_str(&format!("{byte:02x}"));
                }
                let interval_us = u64::try_from(rule.interval.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                RedisBucket {
                    key,
                    interval_us,
                    tolerance_us: interval_us
                        .saturating_mul(u64::from(rule.burst.saturating_sub(1))),
                    charge: charge_all || rule.counts_requests(),
                }
            })
            .collect()
    }

    /// The verdict from each limit's reading: refused by the limit with the
    /// longest wait, if any; headers for the refusing limit, else for the
    /// one with the fewest requests left (then the longest reset).
    fn verdict(&self, readings: &[(usize, Reading)], backend: Backend) -> Verdict<'_> {
        let refused = readings
            .iter()
            .filter_map(|(i, r)| match r {
                Reading::Denied { wait } => Some((*i, *wait)),
                Reading::Allowed { .. } => None,
            })
            .max_by_key(|(_, wait)| *wait);
        if let Some((i, wait)) = refused {
            let rule = &self.rules[i];
            return Verdict {
                allowed: false,
                rule: Some(rule.name()),
                retry_after: Some(wait),
                headers: RateLimitHeaders::new(&rule.policy, &rule.sf_name, 0, wait),
                unavailable: false,
                backend,
            };
        }
        let tightest = readings
            .iter()
            .filter_map(|(i, r)| match r {
                Reading::Allowed { remaining, reset } => Some((*i, *remaining, *reset)),
                Reading::Denied { .. } => None,
            })
            .min_by_key(|(_, remaining, reset)| (*remaining, std::cmp::Reverse(*reset)));
        let headers = tightest.map_or_else(RateLimitHeaders::default, |(i, remaining, reset)| {
            let rule = &self.rules[i];
            RateLimitHeaders::new(&rule.policy, &rule.sf_name, remaining, reset)
        });
        Verdict {
            allowed: true,
            rule: None,
            retry_after: None,
            headers,
            unavailable: false,
            backend,
        }
    }
}

/// Builds a [`Limiter`]; see [`Limiter::from_config`].
pub struct LimiterBuilder<'p> {
    config_rules: Vec<RateLimitRule>,
    operation_rules: Vec<(String, String, RuleSpec)>,
    max_keys: u64,
    ipv6_prefix: u8,
    cluster: ClusterConfig,
    previous: Option<&'p Limiter>,
    clock: LimiterClock,
}

impl<'p> LimiterBuilder<'p> {
    /// Adds `rate_limits` entries.
    pub fn rules(mut self, rules: &[RateLimitRule]) -> Self {
        self.config_rules.extend_from_slice(rules);
        self
    }

    /// Adds an operation's own limit (from its `x-rampart-rate-limit`,
    /// parsed with [`crate::from_extension`]).
    pub fn operation_rule(mut self, api: &str, operation: &str, spec: RuleSpec) -> Self {
        self.operation_rules
            .push((api.to_owned(), operation.to_owned(), spec));
        self
    }

    /// Most keys each limit tracks in process.
    pub fn max_keys(mut self, max_keys: u64) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Prefix length IPv6 clients are grouped by.
    pub fn ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }

    /// The cluster settings (no `redis_url`: local only).
    pub fn cluster(mut self, cluster: &ClusterConfig) -> Self {
        self.cluster = cluster.clone();
        self
    }

    /// Carries state over from the limiter this one replaces (a reload):
    /// unchanged limits keep their in-process buckets, an unchanged cluster
    /// keeps its Redis connection, and counters continue. Without it a
    /// reload would hand every client a fresh burst.
    pub fn reuse<'q>(self, previous: &'q Limiter) -> LimiterBuilder<'q> {
        LimiterBuilder {
            config_rules: self.config_rules,
            operation_rules: self.operation_rules,
            max_keys: self.max_keys,
            ipv6_prefix: self.ipv6_prefix,
            cluster: self.cluster,
            previous: Some(previous),
            clock: self.clock,
        }
    }

    #[cfg(test)]
    pub(crate) fn clock(mut self, clock: LimiterClock) -> Self {
        self.clock = clock;
        self
    }

    /// Compiles the limits. Does not connect to Redis (the first check does).
    pub fn build(self) -> Result<Limiter, BuildError> {
        let previous = self.previous.filter(|p| p.max_keys == self.max_keys);
        let key_prefix = self.cluster.key_prefix.clone();
        let buckets = |identity: &crate::rule::Identity| -> Result<Arc<LocalBuckets>, BuildError> {
            if let Some(old) =
                previous.and_then(|p| p.rules.iter().find(|r| &r.identity == identity))
            {
                return Ok(old.local.clone());
            }
            LocalBuckets::new(
                identity.rate.interval(),
                identity.burst,
                self.max_keys,
                self.clock.clone(),
            )
            .map(Arc::new)
            .ok_or_else(|| BuildError::Rule {
                name: identity.name.clone(),
                reason: format!(
                    "rate {} with burst {} is not usable",
                    identity.rate, identity.burst
                ),
            })
        };
        let mut rules = Vec::new();
        let mut config_rules = Vec::new();
        for rule in &self.config_rules {
            let (identity, scope) = config_identity(rule);
            let local = buckets(&identity)?;
            config_rules.push(rules.len());
            rules.push(compile(identity, scope, local, &key_prefix));
        }
        let mut by_operation: HashMap<String, HashMap<String, Vec<usize>>> = HashMap::new();
        for (api, operation, spec) in &self.operation_rules {
            let identity = operation_identity(api, operation, spec);
            let local = buckets(&identity)?;
            by_operation
                .entry(api.clone())
                .or_default()
                .entry(operation.clone())
                .or_default()
                .push(rules.len());
            rules.push(compile(identity, Default::default(), local, &key_prefix));
        }
        let redis = match &self.cluster.redis_url {
            None => None,
            Some(url) => match self.previous.filter(|p| p.cluster == self.cluster) {
                Some(p) => p.redis.clone(),
                None => {
                    let password = match &self.cluster.password_env {
                        None => None,
                        Some(var) => Some(
                            std::env::var(var).map_err(|_| BuildError::PasswordEnv(var.clone()))?,
                        ),
                    };
                    Some(Arc::new(RedisBackend::new(
                        url,
                        password,
                        Duration::from_millis(self.cluster.timeout_ms.max(1)),
                        Duration::from_millis(self.cluster.retry_interval_ms.max(1)),
                    )?))
                }
            },
        };
        Ok(Limiter {
            rules,
            config_rules,
            by_operation,
            ipv6_prefix: self.ipv6_prefix,
            max_keys: self.max_keys,
            cluster: self.cluster,
            redis,
            counters: self
                .previous
                .map_or_else(Default::default, |p| p.counters.clone()),
        })
    }
}
