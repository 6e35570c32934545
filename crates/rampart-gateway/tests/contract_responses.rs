//! Responses are held to the contract too. Undeclared and `writeOnly`
//! properties are stripped (the response still goes out); a response that
//! breaks its schema, or comes with an undeclared status or content type, is
//! a 502 problem in `enforce` and passes unchanged, logged as flagged, in
//! `monitor`.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::json;
use support::{Answer, ModePair, RIDERS, Reply};

/// Assert `answer` carries exactly the upstream's `reply`.
#[track_caller]
fn assert_unchanged(answer: &Answer, reply: &Reply) {
    assert_eq!(answer.status, reply.status, "{}", answer.text());
    assert_eq!(answer.body, reply.body, "the answer was modified");
    for (name, value) in &reply.headers {
        assert_eq!(answer.header(name), Some(value.as_str()), "{name}");
    }
}

/// Assert `answer` is a JSON answer equal to `expected`, with a matching
/// `Content-Length`.
#[track_caller]
fn assert_json(answer: &Answer, status: u16, expected: serde_json::Value) {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(answer.json(), expected);
    if let Some(len) = answer.header("content-length") {
        assert_eq!(len, answer.body.len().to_string(), "content-length");
    }
}

#[tokio::test]
async fn undeclared_response_properties_are_stripped_not_blocked() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let leaky = Reply::json(
        200,
        json!({"id": 7, "name": "ann", "email": "ann@example.com", "internal": {"row": 12}}),
    );
    let (enforced, monitored) = pair.get(leaky.clone(), "/api/riders/7").await;
    assert_json(&enforced, 200, json!({"id": 7, "name": "ann"}));
    assert_unchanged(&monitored, &leaky);

    // Also where the schema does not say `additionalProperties: false`:
    // a verbose error loses its stack trace.
    let verbose = Reply::json(
        404,
        json!({"message": "no such rider", "stack": "at db.js:12"}),
    );
    let (enforced_404, monitored_404) = pair.get(verbose.clone(), "/api/riders/7").await;
    assert_json(&enforced_404, 404, json!({"message": "no such rider"}));
    assert_unchanged(&monitored_404, &verbose);

    let (enforce_log, monitor_log) = pair.finish().await;
    enforce_log.assert(&enforced, "modified", Some("contract.response.undeclared"));
    enforce_log.assert(
        &enforced_404,
        "modified",
        Some("contract.response.undeclared"),
    );
    monitor_log.assert(&monitored, "flagged", Some("contract.response.undeclared"));
    monitor_log.assert(
        &monitored_404,
        "flagged",
        Some("contract.response.undeclared"),
    );
}

#[tokio::test]
async fn write_only_properties_never_leave() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let leaky = Reply::json(
        200,
        json!({"id": 7, "name": "ann", "password": "correct horse battery"}),
    );
    let (enforced, monitored) = pair.get(leaky.clone(), "/api/riders/7").await;
    assert_json(&enforced, 200, json!({"id": 7, "name": "ann"}));
    assert!(!enforced.text().contains("correct horse"));
    assert_unchanged(&monitored, &leaky);
    let (enforce_log, monitor_log) = pair.finish().await;
    enforce_log.assert(&enforced, "modified", Some("contract.response.write-only"));
    monitor_log.assert(&monitored, "flagged", Some("contract.response.write-only"));
}

#[tokio::test]
async fn stripping_reaches_into_array_items() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let leaky = Reply::json(
        200,
        json!([
            {"id": 1, "name": "ann", "ssn": "078-05-1120"},
            {"id": 2, "name": "bob", "password": "hunter2hunter2"},
            {"id": 3, "name": "cy"}
        ]),
    );
    let (enforced, monitored) = pair.get(leaky.clone(), "/api/riders").await;
    assert_json(
        &enforced,
        200,
        json!([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]),
    );
    assert_unchanged(&monitored, &leaky);
    let (enforce_log, _) = pair.finish().await;
    let event = enforce_log.assert(&enforced, "modified", Some("contract.response.undeclared"));
    assert!(
        event["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("contract.response.write-only")),
        "{event}"
    );
}

#[tokio::test]
async fn a_valid_response_passes_unchanged_in_both_modes() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    // Key order and spacing are the upstream's: nothing to strip, nothing rewritten.
    let reply = Reply::raw(200, "application/json", r#"{ "name": "ann", "id": 7 }"#);
    let (enforced, monitored) = pair.get(reply.clone(), "/api/riders/7").await;
    assert_unchanged(&enforced, &reply);
    assert_unchanged(&monitored, &reply);
    let declared_error = Reply::json(404, json!({"message": "no such rider"}));
    let (enforced_404, monitored_404) = pair.get(declared_error.clone(), "/api/riders/7").await;
    assert_unchanged(&enforced_404, &declared_error);
    assert_unchanged(&monitored_404, &declared_error);
    let text = Reply::raw(200, "text/plain", "plain file contents");
    let (enforced_text, _) = pair.get(text.clone(), "/api/files/notes.txt").await;
    assert_unchanged(&enforced_text, &text);
    let (enforce_log, monitor_log) = pair.finish().await;
    for answer in [&enforced, &enforced_404, &enforced_text] {
        enforce_log.assert(answer, "allowed", None);
    }
    for answer in [&monitored, &monitored_404] {
        monitor_log.assert(answer, "allowed", None);
    }
}

#[tokio::test]
async fn response_breaking_its_schema_is_502_in_enforce_and_unchanged_in_monitor() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let mut exchanges = Vec::new();
    for body in [
        json!({"id": "seven", "name": "ann"}),
        json!({"id": 7}),
        json!({"id": 7, "name": ""}),
        json!({"id": 7, "name": "ann", "age": 200}),
        json!([{"id": 7, "name": "ann"}]),
    ] {
        let reply = Reply::json(200, body);
        let (enforced, monitored) = pair.get(reply.clone(), "/api/riders/7").await;
        enforced.assert_problem(502, "contract.response.schema");
        assert_unchanged(&monitored, &reply);
        exchanges.push((enforced, monitored));
    }
    let (enforce_log, monitor_log) = pair.finish().await;
    for (enforced, monitored) in &exchanges {
        enforce_log.assert(enforced, "blocked", Some("contract.response.schema"));
        monitor_log.assert(monitored, "flagged", Some("contract.response.schema"));
    }
}

#[tokio::test]
async fn bad_response_problem_never_echoes_upstream_data() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let secret = "sk_live_51HxQ0TOPSECRETVALUE";
    for body in [
        json!({"id": 7, "name": format!("{secret}-{secret}")}),
        json!({"id": secret, "name": "ann"}),
        json!({"id": 7, "name": "ann", "age": secret}),
    ] {
        let (enforced, _) = pair.get(Reply::json(200, body), "/api/riders/7").await;
        enforced.assert_problem(502, "contract.response.schema");
        assert!(
            !enforced.text().contains("sk_live"),
            "the problem leaks the upstream's data: {}",
            enforced.text()
        );
    }
    pair.finish().await;
}

#[tokio::test]
async fn undeclared_status_breaks_the_contract() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let mut exchanges = Vec::new();
    for reply in [
        Reply::json(
            500,
            json!({"message": "NullPointerException at Rider.java:42"}),
        ),
        Reply::json(201, json!({"id": 7, "name": "ann"})),
        Reply::empty(302),
    ] {
        let (enforced, monitored) = pair.get(reply.clone(), "/api/riders/7").await;
        let problem = enforced.assert_problem(502, "contract.response.status");
        assert!(!problem.to_string().contains("NullPointer"), "{problem}");
        assert_unchanged(&monitored, &reply);
        exchanges.push((enforced, monitored));
    }
    let (enforce_log, monitor_log) = pair.finish().await;
    for (enforced, monitored) in &exchanges {
        let event = enforce_log.assert(enforced, "blocked", Some("contract.response.status"));
        assert_eq!(event["upstream_status"], monitored.status, "{event}");
        monitor_log.assert(monitored, "flagged", Some("contract.response.status"));
    }
}

#[tokio::test]
async fn undeclared_response_content_type_breaks_the_contract() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let mut exchanges = Vec::new();
    let untyped = Reply {
        status: 200,
        headers: Vec::new(),
        body: r#"{"id":7,"name":"ann"}"#.into(),
    };
    for reply in [
        Reply::raw(200, "text/html", "<h1>Rider 7</h1>"),
        Reply::raw(200, "application/xml", "<rider id=\"7\"/>"),
        untyped,
    ] {
        let (enforced, monitored) = pair.get(reply.clone(), "/api/riders/7").await;
        enforced.assert_problem(502, "contract.response.media-type");
        assert_unchanged(&monitored, &reply);
        exchanges.push((enforced, monitored));
    }
    let (enforce_log, monitor_log) = pair.finish().await;
    for (enforced, monitored) in &exchanges {
        enforce_log.assert(enforced, "blocked", Some("contract.response.media-type"));
        monitor_log.assert(monitored, "flagged", Some("contract.response.media-type"));
    }
}

#[tokio::test]
async fn malformed_json_response_breaks_the_contract() {
    let pair = ModePair::start(RIDERS, json!({})).await;
    let mut exchanges = Vec::new();
    for body in [
        r#"{"id":7,"name":"#,
        r#"{"id":7,"name":"ann","name":"bob"}"#,
    ] {
        let reply = Reply::raw(200, "application/json", body);
        let (enforced, monitored) = pair.get(reply.clone(), "/api/riders/7").await;
        enforced.assert_problem(502, "contract.response.malformed");
        assert_unchanged(&monitored, &reply);
        exchanges.push((enforced, monitored));
    }
    let (enforce_log, monitor_log) = pair.finish().await;
    for (enforced, monitored) in &exchanges {
        enforce_log.assert(enforced, "blocked", Some("contract.response.malformed"));
        monitor_log.assert(monitored, "flagged", Some("contract.response.malformed"));
    }
}

#[tokio::test]
async fn response_too_large_to_inspect_is_502_in_enforce_and_streamed_in_monitor() {
    let pair = ModePair::start(RIDERS, json!({"limits": {"max_response_body_bytes": 64}})).await;
    let big = Reply::json(200, json!({"id": 7, "name": "ann", "bio": "x".repeat(200)}));
    let (enforced, monitored) = pair.get(big.clone(), "/api/riders/7").await;
    enforced.assert_problem(502, "contract.response.too-large");
    assert_unchanged(&monitored, &big);
    let (enforce_log, monitor_log) = pair.finish().await;
    enforce_log.assert(&enforced, "blocked", Some("contract.response.too-large"));
    monitor_log.assert(&monitored, "flagged", Some("contract.response.too-large"));
}
