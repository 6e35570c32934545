//! Proving a rule in both modes at once: the same request or the same
//! upstream answer through an enforcing and a monitoring gateway.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use serde_json::{Value, json};

use super::answer::{Answer, SecurityLog};
use super::gateway::Gateway;
use super::upstream::{Reply, Script, Seen, Upstream, riders_reply};

/// One gateway in `enforce` and one in `monitor`, each in front of its own
/// [`riders_reply`] upstream, to prove request rules in both modes:
///
/// - `enforce`: the request is answered with an RFC 9457 problem of the
///   expected status, decided by the expected rule; the upstream is never
///   reached; the exchange is logged `blocked` with the rule;
/// - `monitor`: the request reaches the upstream, the client gets the
///   upstream's answer unchanged, and the exchange is logged `flagged` with
///   the rule.
///
/// The log checks run in [`BothModes::finish`], once both logs are flushed.
pub struct BothModes {
    enforce: Gateway,
    enforce_upstream: Upstream,
    monitor: Gateway,
    monitor_upstream: Upstream,
    blocked: Vec<(Answer, String)>,
    flagged: Vec<(Answer, String)>,
}

impl BothModes {
    /// Start both gateways for `spec`; `config` is merged into both configs.
    pub async fn start(spec: &str, config: Value) -> BothModes {
        let enforce_upstream = Upstream::riders().await;
        let enforce = Gateway::builder(spec, &enforce_upstream)
            .config(config.clone())
            .config(json!({"mode": "enforce"}))
            .start()
            .await;
        let monitor_upstream = Upstream::riders().await;
        let monitor = Gateway::builder(spec, &monitor_upstream)
            .config(config)
            .config(json!({"mode": "monitor"}))
            .start()
            .await;
        BothModes {
            enforce,
            enforce_upstream,
            monitor,
            monitor_upstream,
            blocked: Vec::new(),
            flagged: Vec::new(),
        }
    }

    /// Send `call` to both gateways and check the outcome in each mode.
    /// Returns the request the upstream received in monitor mode.
    pub async fn check(
        &mut self,
        call: impl AsyncFn(&Gateway) -> Answer,
        status: u16,
        rule: &str,
    ) -> Seen {
        let refused = call(&self.enforce).await;
        refused.assert_problem(status, rule);
        self.enforce_upstream.assert_untouched();
        self.blocked.push((refused, rule.to_string()));

        let before = self.monitor_upstream.requests().len();
        let passed = call(&self.monitor).await;
        let seen = self.monitor_upstream.requests();
        assert_eq!(
            seen.len(),
            before + 1,
            "monitor: the upstream gets the request once"
        );
        let seen = seen.into_iter().next_back().unwrap();
        let expected = riders_reply(&seen);
        assert_eq!(passed.status, expected.status, "monitor: {}", passed.text());
        assert_eq!(
            passed.body, expected.body,
            "monitor must not modify the answer"
        );
        self.flagged.push((passed, rule.to_string()));
        seen
    }

    /// Stop both gateways and check every exchange's security event.
    pub async fn finish(self) {
        let log = self.enforce.finish().await;
        for (answer, rule) in &self.blocked {
            let event = log.assert(answer, "blocked", Some(rule));
            assert_eq!(event["mode"], "enforce", "{event}");
        }
        let log = self.monitor.finish().await;
        for (answer, rule) in &self.flagged {
            let event = log.assert(answer, "flagged", Some(rule));
            assert_eq!(event["mode"], "monitor", "{event}");
        }
    }
}

/// [`BothModes`] for a single request.
pub async fn enforced_and_monitored(
    spec: &str,
    config: Value,
    call: impl AsyncFn(&Gateway) -> Answer,
    status: u16,
    rule: &str,
) -> Seen {
    let mut both = BothModes::start(spec, config).await;
    let seen = both.check(call, status, rule).await;
    both.finish().await;
    seen
}

/// An `enforce` and a `monitor` gateway in front of one scripted upstream,
/// to compare what each mode does with the same upstream answer.
pub struct ModePair {
    /// The enforcing gateway.
    pub enforce: Gateway,
    /// The monitoring gateway.
    pub monitor: Gateway,
    /// The shared upstream.
    pub upstream: Upstream,
    script: Script,
}

impl ModePair {
    /// Start both gateways for `spec`; `config` is merged into both configs.
    pub async fn start(spec: &str, config: Value) -> ModePair {
        let (upstream, script) = Upstream::scripted().await;
        let enforce = Gateway::builder(spec, &upstream)
            .config(config.clone())
            .config(json!({"mode": "enforce"}))
            .start()
            .await;
        let monitor = Gateway::builder(spec, &upstream)
            .config(config)
            .config(json!({"mode": "monitor"}))
            .start()
            .await;
        ModePair {
            enforce,
            monitor,
            upstream,
            script,
        }
    }

    /// Have the upstream answer `reply`, then `GET path` through each
    /// gateway: returns the enforcing and the monitoring gateway's answers.
    pub async fn get(&self, reply: Reply, path: &str) -> (Answer, Answer) {
        self.script.answer(reply);
        (self.enforce.get(path).await, self.monitor.get(path).await)
    }

    /// Stop both gateways: returns the enforcing and the monitoring gateway's logs.
    pub async fn finish(self) -> (SecurityLog, SecurityLog) {
        (self.enforce.finish().await, self.monitor.finish().await)
    }
}
