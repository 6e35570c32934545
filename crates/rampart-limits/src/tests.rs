//! The limiter's behaviour in process, on an injected clock: which limits
//! apply, what is charged, what the headers say.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::HeaderMap;
use rampart_config::RateLimitRule;
use serde_json::json;

use crate::local::LimiterClock;
use crate::{Backend, KeyContext, Limiter, LimiterBuilder, from_extension};

/// A `rate_limits` entry, written as JSON.
fn rule(json: &str) -> RateLimitRule {
    serde_json::from_str(json).expect("valid rule")
}

struct Clock(Arc<AtomicU64>);

impl Clock {
    fn advance(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).expect("small");
        self.0.fetch_add(nanos, Ordering::Relaxed);
    }
}

fn limiter(rules: &[&str]) -> (Limiter, Clock) {
    let (builder, clock) = builder(rules);
    (builder.build().expect("builds"), clock)
}

fn builder(rules: &[&str]) -> (LimiterBuilder<'static>, Clock) {
    let now = Arc::new(AtomicU64::new(1));
    let rules: Vec<RateLimitRule> = rules.iter().map(|r| rule(r)).collect();
    let builder = Limiter::builder()
        .rules(&rules)
        .clock(LimiterClock::Manual(now.clone()));
    (builder, Clock(now))
}

fn ctx<'a>(principal: Option<&'a str>, operation: &'a str) -> KeyContext<'a> {
    KeyContext {
        principal,
        ..KeyContext::new("192.0.2.1".parse().expect("ip"), "riders", operation)
    }
}

async fn allowed(limiter: &Limiter, ctx: &KeyContext<'_>, n: usize) -> usize {
    let mut count = 0;
    for _ in 0..n {
        if limiter.check(ctx).await.allowed {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn no_applicable_limit_means_no_headers() {
    let (l, _) = limiter(&[r#"{"name":"p","key":["principal"],"rate":"1/s"}"#]);
    let v = l.check(&ctx(None, "search")).await;
    assert!(v.allowed);
    assert_eq!(v.backend, Backend::None);
    assert!(v.headers.is_empty());
    assert_eq!(l.stats().checks, 0);
}

#[tokio::test]
async fn a_refusal_names_the_limit_and_when_to_retry() {
    let (l, clock) =
        limiter(&[r#"{"name":"per-principal","key":["principal"],"rate":"60/min","burst":2}"#]);
    let ann = ctx(Some("ann"), "search");
    let first = l.check(&ann).await;
    assert!(first.allowed);
    let mut headers = HeaderMap::new();
    first.headers.apply(&mut headers);
    assert_eq!(headers["ratelimit-policy"], "\"per-principal\";q=60;w=60");
    assert_eq!(headers["ratelimit"], "\"per-principal\";r=1;t=1");
    assert!(l.check(&ann).await.allowed);
    let refused = l.check(&ann).await;
    assert!(!refused.allowed && !refused.unavailable);
    assert_eq!(refused.rule, Some("per-principal"));
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(refused.retry_after_secs(), Some(1));
    let mut headers = HeaderMap::new();
    refused.headers.apply(&mut headers);
    assert_eq!(headers["ratelimit"], "\"per-principal\";r=0;t=1");
    // Someone else is not affected; ann recovers after the interval.
    assert!(l.check(&ctx(Some("bob"), "search")).await.allowed);
    clock.advance(Duration::from_secs(1));
    assert!(l.check(&ann).await.allowed);
    assert_eq!(l.stats().limited, 1);
}

#[tokio::test]
async fn scopes_select_apis_and_operations() {
    let (l, _) = limiter(&[
        r#"{"name":"login","key":["ip"],"rate":"1/min","operations":["login"]}"#,
        r#"{"name":"drivers","key":["ip"],"rate":"1/min","apis":["drivers"]}"#,
    ]);
    assert_eq!(allowed(&l, &ctx(None, "login"), 5).await, 1);
    assert_eq!(allowed(&l, &ctx(None, "search"), 5).await, 5);
    let drivers = KeyContext {
        api: "drivers",
        ..ctx(None, "search")
    };
    assert_eq!(allowed(&l, &drivers, 5).await, 1);
}

#[tokio::test]
async fn a_request_refused_by_one_limit_is_charged_to_none() {
    let (l, _) = limiter(&[
        r#"{"name":"wide","key":["ip"],"rate":"10/min"}"#,
        r#"{"name":"narrow","key":["ip"],"rate":"2/min","operations":["login"]}"#,
    ]);
    assert_eq!(allowed(&l, &ctx(None, "login"), 20).await, 2);
    // Only the two allowed logins were charged to `wide`.
    assert_eq!(allowed(&l, &ctx(None, "search"), 20).await, 8);
}

#[tokio::test]
async fn the_tightest_limit_is_the_one_shown() {
    let (l, _) = limiter(&[
        r#"{"name":"minute","key":["ip"],"rate":"100/min"}"#,
        r#"{"name":"second","key":["ip"],"rate":"3/s"}"#,
    ]);
    let v = l.check(&ctx(None, "search")).await;
    let mut headers = HeaderMap::new();
    v.headers.apply(&mut headers);
    assert_eq!(headers["ratelimit"], "\"second\";r=2;t=1");
}

#[tokio::test]
async fn failure_limits_block_on_every_request_but_count_only_failures() {
    let (l, clock) = limiter(&[
        r#"{"name":"login-ip","key":["ip"],"rate":"3/min","operations":["login"],"on":"failure"}"#,
    ]);
    let login = ctx(None, "login");
    // Successful logins are not counted.
    assert_eq!(allowed(&l, &login, 10).await, 10);
    let v = l.check(&login).await;
    let mut headers = HeaderMap::new();
    v.headers.apply(&mut headers);
    assert_eq!(headers["ratelimit"], "\"login-ip\";r=3;t=0");
    for _ in 0..3 {
        l.record_failure(&login).await;
    }
    let refused = l.check(&login).await;
    assert!(!refused.allowed);
    assert_eq!(refused.rule, Some("login-ip"));
    assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(l.stats().failures_recorded, 3);
    // One interval later, one more attempt.
    clock.advance(Duration::from_secs(20));
    assert!(l.check(&login).await.allowed);
    l.record_failure(&login).await;
    assert!(!l.check(&login).await.allowed);
}

#[tokio::test]
async fn body_limits_wait_for_the_body() {
    let (l, _) = limiter(&[
        r#"{"name":"login-user","key":["body:/username"],"rate":"2/min","operations":["login"],"on":"failure"}"#,
    ]);
    assert!(l.has_body_rules("riders", "login"));
    assert!(!l.has_body_rules("riders", "search"));
    let body = json!({"username": "ann", "password": "x"});
    let with_body = KeyContext {
        body: Some(&body),
        ..ctx(None, "login")
    };
    // The throttle phase does not see body limits at all.
    assert_eq!(l.check(&with_body).await.backend, Backend::None);
    l.record_failure(&with_body).await;
    l.record_failure(&with_body).await;
    let v = l.check_body(&with_body).await;
    assert!(!v.allowed);
    assert_eq!(v.rule, Some("login-user"));
    // Another user name is unaffected.
    let other = json!({"username": "bob"});
    let bob = KeyContext {
        body: Some(&other),
        ..ctx(None, "login")
    };
    assert!(l.check_body(&bob).await.allowed);
}

#[tokio::test]
async fn operation_limits_from_the_spec() {
    let spec = from_extension(&json!({"rate": "2/s", "key": ["principal"]})).expect("valid");
    let (builder, _) = builder(&[]);
    let l = builder
        .operation_rule("riders", "search", spec)
        .build()
        .expect("builds");
    assert_eq!(l.rule_names(), ["search"]);
    assert!(l.has_rules("riders", "search"));
    assert!(!l.has_rules("riders", "login"));
    assert!(!l.has_rules("drivers", "search"));
    assert_eq!(allowed(&l, &ctx(Some("ann"), "search"), 5).await, 2);
    let refused = l.check(&ctx(Some("ann"), "search")).await;
    assert_eq!(refused.rule, Some("search"));
}

#[tokio::test]
async fn claims_and_headers_as_keys() {
    let (l, _) =
        limiter(&[r#"{"name":"tenant","key":["claim:tenant","header:x-device"],"rate":"1/min"}"#]);
    let claims = json!({"tenant": "acme"});
    let mut headers = HeaderMap::new();
    headers.insert("x-device", "d1".parse().expect("value"));
    let full = KeyContext {
        claims: claims.as_object(),
        headers: Some(&headers),
        ..ctx(Some("ann"), "search")
    };
    assert_eq!(allowed(&l, &full, 3).await, 1);
    // Without the header the limit does not apply.
    let partial = KeyContext {
        headers: None,
        ..full
    };
    assert_eq!(allowed(&l, &partial, 3).await, 3);
}

#[tokio::test]
async fn a_reload_keeps_unchanged_limits_state() {
    let rules = [r#"{"name":"p","key":["principal"],"rate":"2/min"}"#];
    let (old, _) = limiter(&rules);
    let ann = ctx(Some("ann"), "search");
    assert_eq!(allowed(&old, &ann, 2).await, 2);
    let (builder, _) = builder(&rules);
    let new = builder.reuse(&old).build().expect("builds");
    assert!(!new.check(&ann).await.allowed, "state carried over");
    assert_eq!(new.stats().checks, 3, "counters carried over");
    // A changed limit starts afresh.
    let (builder, _) = builder_with(r#"{"name":"p","key":["principal"],"rate":"3/min"}"#);
    let changed = builder.reuse(&new).build().expect("builds");
    assert!(changed.check(&ann).await.allowed);
}

fn builder_with(rule: &str) -> (LimiterBuilder<'static>, Clock) {
    builder(&[rule])
}

#[test]
fn the_limiter_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Limiter>();
}
