//! Which mode applies: a global default, overridden per API (`apis[].mode`),
//! overridden per operation (the spec's `x-rampart-mode`, itself overridden
//! by `apis[].operations.<operationId>.mode`). `enforce` refuses, `monitor`
//! logs and passes everything on unchanged, `off` checks nothing.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::json;
use support::{Gateway, RIDERS, Reply, Upstream};

/// The riders contract with `x-rampart-mode: "mode"` on one operation.
fn riders_with(operation_id: &str, mode: &str) -> String {
    riders_with_raw(operation_id, &format!("\"{mode}\""))
}

/// The riders contract with `x-rampart-mode: <yaml>` on one operation.
fn riders_with_raw(operation_id: &str, yaml: &str) -> String {
    let line = format!("operationId: {operation_id}\n");
    assert!(RIDERS.contains(&line), "no operation {operation_id}");
    RIDERS.replace(&line, &format!("{line}      x-rampart-mode: {yaml}\n"))
}

const ROLE_ESCALATION: &str = r#"{"name":"ann","role":"admin"}"#;

#[tokio::test]
async fn api_mode_overrides_the_global_mode() {
    // Global enforce, API monitor: nothing of the API is blocked.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "enforce"}))
        .api(json!({"mode": "monitor"}))
        .start()
        .await;
    let bad_query = gateway.get("/api/riders?debug=1").await;
    let shadow = gateway.get("/api/admin/export").await;
    let escalation = gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await;
    assert_eq!(
        [bad_query.status, shadow.status, escalation.status],
        [200, 200, 201]
    );
    assert_eq!(upstream.requests().len(), 3);
    let log = gateway.finish().await;
    for (answer, rule) in [
        (&bad_query, "contract.param.undeclared"),
        (&shadow, "contract.route.unknown"),
        (&escalation, "contract.body.read-only"),
    ] {
        let event = log.assert(answer, "flagged", Some(rule));
        assert_eq!(event["mode"], "monitor", "{event}");
    }

    // Global monitor, API enforce: everything of the API is.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "monitor"}))
        .api(json!({"mode": "enforce"}))
        .start()
        .await;
    gateway
        .get("/api/riders?debug=1")
        .await
        .assert_problem(400, "contract.param.undeclared");
    gateway
        .get("/api/admin/export")
        .await
        .assert_problem(404, "contract.route.unknown");
    gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await
        .assert_problem(422, "contract.body.read-only");
    upstream.assert_untouched();
}

#[tokio::test]
async fn operation_mode_in_the_config_overrides_the_api_mode() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .api(json!({"mode": "enforce", "operations": {"createRider": {"mode": "monitor"}}}))
        .start()
        .await;
    let escalation = gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await;
    assert_eq!(escalation.status, 201, "{}", escalation.text());
    assert_eq!(upstream.only_request().body, ROLE_ESCALATION.as_bytes());
    let other = gateway.get("/api/riders?debug=1").await;
    other.assert_problem(400, "contract.param.undeclared");
    let log = gateway.finish().await;
    let event = log.assert(&escalation, "flagged", Some("contract.body.read-only"));
    assert_eq!(event["mode"], "monitor");
    assert_eq!(event["operation"], "createRider");
    assert_eq!(log.of(&other)["mode"], "enforce");

    // And the other way round: one enforced operation in a monitored API.
    let (upstream, script) = Upstream::scripted().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .api(json!({"mode": "monitor", "operations": {"getRider": {"mode": "enforce"}}}))
        .start()
        .await;
    script.answer(Reply::json(200, json!({"id": "seven", "name": "ann"})));
    gateway
        .get("/api/riders/7")
        .await
        .assert_problem(502, "contract.response.schema");
    script.answer(Reply::json(200, json!([{"id": "seven", "name": "ann"}])));
    let monitored = gateway.get("/api/riders").await;
    assert_eq!(monitored.status, 200, "{}", monitored.text());
}

#[tokio::test]
async fn x_rampart_mode_in_the_spec_overrides_the_api_mode() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(&riders_with("createRider", "monitor"), &upstream).await;
    let escalation = gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await;
    assert_eq!(escalation.status, 201, "{}", escalation.text());
    gateway
        .get("/api/riders?debug=1")
        .await
        .assert_problem(400, "contract.param.undeclared");
    assert_eq!(upstream.requests().len(), 1);
    let log = gateway.finish().await;
    let event = log.assert(&escalation, "flagged", Some("contract.body.read-only"));
    assert_eq!(event["mode"], "monitor");

    // x-rampart-mode: enforce inside a monitored API.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(&riders_with("createRider", "enforce"), &upstream)
        .api(json!({"mode": "monitor"}))
        .start()
        .await;
    gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await
        .assert_problem(422, "contract.body.read-only");
    upstream.assert_untouched();
}

#[tokio::test]
async fn config_operation_mode_overrides_x_rampart_mode() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(&riders_with("createRider", "off"), &upstream)
        .api(json!({"operations": {"createRider": {"mode": "enforce"}}}))
        .start()
        .await;
    gateway
        .send_json("POST", "/api/riders", ROLE_ESCALATION)
        .await
        .assert_problem(422, "contract.body.read-only");
    upstream.assert_untouched();
}

#[tokio::test]
async fn off_mode_checks_nothing_in_either_direction() {
    let (upstream, script) = Upstream::scripted().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .api(json!({"mode": "off"}))
        .start()
        .await;
    let leaky = Reply::json(
        500,
        json!({"id": "seven", "password": "hunter2hunter2", "stack": "at db.js:12"}),
    );
    script.answer(leaky.clone());
    let read = gateway
        .request("GET", "/api/riders/7?debug=1")
        .header("x-debug", "1")
        .header("cookie", "is_admin=1");
    let read = support::send(read).await;
    assert_eq!(read.status, 500);
    assert_eq!(
        read.body, leaky.body,
        "off never strips or blocks a response"
    );

    script.answer(Reply::json(200, json!({"id": 7, "name": "ann"})));
    let body = r#"{"role":"admin","role":"member","is_admin":true}"#;
    let write = gateway.send_json("PATCH", "/api/riders/7", body).await;
    assert_eq!(write.status, 200, "{}", write.text());
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].target, "/api/riders/7?debug=1");
    assert_eq!(seen[0].header("x-debug"), Some("1"));
    assert_eq!(seen[1].body, body.as_bytes());

    let log = gateway.finish().await;
    for answer in [&read, &write] {
        let event = log.assert(answer, "unchecked", None);
        assert_eq!(event["mode"], "off", "{event}");
    }
}

#[tokio::test]
async fn off_mode_on_one_operation_leaves_the_others_checked() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(&riders_with("searchRiders", "off"), &upstream).await;
    let unchecked = gateway.get("/api/riders?debug=1").await;
    assert_eq!(unchecked.status, 200, "{}", unchecked.text());
    gateway
        .get("/api/riders/7?debug=1")
        .await
        .assert_problem(400, "contract.param.undeclared");
    assert_eq!(upstream.requests().len(), 1);
    gateway.finish().await.assert(&unchecked, "unchecked", None);
}

#[tokio::test]
async fn off_mode_does_not_judge_unknown_routes() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .api(json!({"mode": "off"}))
        .start()
        .await;
    let answer = gateway.get("/api/admin/export").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().target, "/api/admin/export");
    let event = gateway
        .finish()
        .await
        .assert(&answer, "unchecked", None)
        .clone();
    assert_eq!(event["mode"], "off", "{event}");
}

#[tokio::test]
async fn an_enforced_api_refuses_ambiguous_targets_under_a_global_monitor() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "monitor"}))
        .api(json!({"mode": "enforce"}))
        .start()
        .await;
    // The enforced API's upstream would resolve this to the shadow /api/admin/export.
    let answer = gateway.raw_get("/api/riders/%2e%2e/admin/export").await;
    answer.assert_problem(400, "normalize.dot-segment");
    upstream.assert_untouched();
}

#[tokio::test]
async fn a_monitored_api_does_not_block_ambiguous_targets_under_a_global_enforce() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "enforce"}))
        .api(json!({"mode": "monitor"}))
        .start()
        .await;
    let raw = "/api/riders/%2e%2e/admin/export";
    let answer = gateway.raw_get(raw).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().target, raw);
    gateway
        .finish()
        .await
        .assert(&answer, "flagged", Some("normalize.dot-segment"));
}

#[tokio::test]
async fn limits_still_hold_in_off_mode() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"limits": {"max_request_body_bytes": 64}}))
        .api(json!({"mode": "off"}))
        .start()
        .await;
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(100));
    let answer = gateway.send_json("POST", "/api/riders", &big).await;
    answer.assert_problem(413, "contract.body.too-large");
    assert!(upstream.requests().iter().all(|r| r.body.len() <= 64));
}

#[tokio::test]
async fn unquoted_x_rampart_mode_off_in_yaml_is_off() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(&riders_with_raw("searchRiders", "off"), &upstream).await;
    let answer = gateway.get("/api/riders?debug=1").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    gateway.finish().await.assert(&answer, "unchecked", None);
}
