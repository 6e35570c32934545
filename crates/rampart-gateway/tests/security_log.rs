//! The security log: one JSON line per exchange, however it ends, with the
//! request id, method, route, status, decision, the rules that fired and the
//! latency; and never the values a request carried.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::{Value, json};
use support::{ClosedPort, Gateway, RIDERS, Reply, Upstream, send};

/// The riders contract with every decision reachable in one gateway:
/// `getFile` is `off`, `updateRider` is `monitor`, the rest `enforce`.
fn riders_for_every_decision() -> String {
    RIDERS
        .replace(
            "operationId: getFile\n",
            "operationId: getFile\n      x-rampart-mode: \"off\"\n",
        )
        .replace(
            "operationId: updateRider\n",
            "operationId: updateRider\n      x-rampart-mode: monitor\n",
        )
}

#[tokio::test]
async fn one_line_per_exchange_with_every_promised_field() {
    let upstream = Upstream::start(|seen| match seen.path() {
        // A leaky answer, to be stripped: "modified".
        "/api/riders/1" => Reply::json(200, json!({"id": 1, "name": "ann", "email": "a@x"})),
        _ => support::riders_reply(seen),
    })
    .await;
    let gateway = Gateway::start(&riders_for_every_decision(), &upstream).await;
    let allowed = gateway.get("/api/riders/7").await;
    let modified = gateway.get("/api/riders/1").await;
    let blocked = gateway.get("/api/riders?debug=1").await;
    let flagged = gateway
        .send_json("PATCH", "/api/riders/7", r#"{"role":"admin"}"#)
        .await;
    let unchecked = gateway.get("/api/files/notes.txt?debug=1").await;
    let shadow = gateway.get("/api/admin/export").await;
    let log = gateway.finish().await;

    assert_eq!(log.0.len(), 6, "one line per exchange: {:#?}", log.0);
    let expected = [
        (
            &allowed,
            "GET",
            Some("/api/riders/{riderId}"),
            "allowed",
            None,
        ),
        (
            &modified,
            "GET",
            Some("/api/riders/{riderId}"),
            "modified",
            Some("contract.response.undeclared"),
        ),
        (
            &blocked,
            "GET",
            Some("/api/riders"),
            "blocked",
            Some("contract.param.undeclared"),
        ),
        (
            &flagged,
            "PATCH",
            Some("/api/riders/{riderId}"),
            "flagged",
            Some("contract.body.read-only"),
        ),
        (
            &unchecked,
            "GET",
            Some("/api/files/{name}"),
            "unchecked",
            None,
        ),
        (
            &shadow,
            "GET",
            None,
            "blocked",
            Some("contract.route.unknown"),
        ),
    ];
    for (answer, method, route, decision, rule) in expected {
        let e = log.assert(answer, decision, rule);
        assert_eq!(e["method"], method, "{e}");
        assert_eq!(e["route"], route.map_or(Value::Null, |r| json!(r)), "{e}");
        assert_eq!(e["status"], answer.status, "{e}");
        assert!(e["rules"].is_array(), "{e}");
        let latency = e["latency_ms"].as_f64().expect("latency_ms is a number");
        assert!((0.0..10_000.0).contains(&latency), "{e}");
        assert_eq!(e["request_id"], answer.request_id(), "{e}");
    }
    let mut ids: Vec<&str> = log
        .0
        .iter()
        .map(|e| e["request_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "request ids are unique");
}

#[tokio::test]
async fn the_upstream_and_the_client_see_the_logged_request_id() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    // A client-chosen id is not trusted: the gateway issues its own.
    let answer = send(
        gateway
            .request("GET", "/api/riders/7")
            .header("x-request-id", "client-chosen"),
    )
    .await;
    assert_eq!(answer.status, 200);
    let id = answer.request_id().to_string();
    assert_ne!(id, "client-chosen");
    assert_eq!(
        upstream.only_request().header("x-request-id"),
        Some(id.as_str())
    );
    let log = gateway.finish().await;
    assert_eq!(log.of(&answer)["request_id"], id);
}

#[tokio::test]
async fn shadow_api_probes_are_recorded_with_the_canonical_path() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let probe = gateway.raw_get("//api//admin/%65xport").await;
    probe.assert_problem(404, "contract.route.unknown");
    let wrong_method = send(gateway.request("DELETE", "/api/riders/7")).await;
    let log = gateway.finish().await;
    let e = log.assert(&probe, "blocked", Some("contract.route.unknown"));
    assert_eq!(e["path"], "/api/admin/export", "{e}");
    assert_eq!(e["method"], "GET");
    let e = log.assert(&wrong_method, "blocked", Some("contract.route.method"));
    assert_eq!(e["method"], "DELETE");
}

#[tokio::test]
async fn refusals_before_routing_and_upstream_failures_are_logged_too() {
    let dead = ClosedPort::reserve();
    let gateway = Gateway::builder_for(RIDERS, &dead.url()).start().await;
    let ambiguous = gateway.raw_get("/api/riders/%2e%2e/admin").await;
    let unreachable = gateway.get("/api/riders/7").await;
    let log = gateway.finish().await;
    assert_eq!(log.0.len(), 2);
    log.assert(&ambiguous, "blocked", Some("normalize.dot-segment"));
    let e = log.assert(&unreachable, "blocked", Some("upstream.unavailable"));
    assert_eq!(e["route"], "/api/riders/{riderId}");
    assert_eq!(e["upstream_status"], Value::Null);
}

#[tokio::test]
async fn the_log_names_rules_and_locations_never_request_values() {
    let secret = "s3cr3t-9f8e7d6c";
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "monitor"}))
        .start()
        .await;
    let answers = [
        send(
            gateway
                .request("GET", &format!("/api/riders?token={secret}&limit={secret}"))
                .header("authorization", format!("Bearer {secret}"))
                .header("x-api-key", secret)
                .header("cookie", format!("session={secret}")),
        )
        .await,
        gateway
            .send_json(
                "POST",
                "/api/riders",
                &format!(r#"{{"name":"{secret}","password":"{secret}","role":"{secret}"}}"#),
            )
            .await,
        gateway.get(&format!("/api/riders/{secret}")).await,
    ];
    let log = gateway.finish().await;
    assert_eq!(log.0.len(), answers.len());
    for answer in &answers {
        let e = log.of(answer);
        assert_eq!(e["decision"], "flagged", "{e}");
        let line = e.to_string();
        // The path is recorded (it is the probe), but no query, header,
        // cookie or body value is.
        let without_path = line.replace(e["path"].as_str().unwrap(), "");
        assert!(
            !without_path.contains(secret),
            "the log leaks a value: {line}"
        );
    }
}
