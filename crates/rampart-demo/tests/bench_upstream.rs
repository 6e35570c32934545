//! The bench upstream answers fixed, contract-valid bodies of the promised sizes.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;

use common::{assert_valid, client, spawn, validator};
use rampart_demo::{BENCH_SPEC, bench_upstream};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn get_profile_is_a_constant_one_kilobyte_valid_profile() {
    let base = spawn(bench_upstream::run).await;
    let first = client()
        .get(format!("{base}/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "application/json");
    let first = first.bytes().await.unwrap();
    assert!((900..=1200).contains(&first.len()), "{} bytes", first.len());
    let second = client()
        .get(format!("{base}/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.bytes().await.unwrap(), first);

    let profile: Value = serde_json::from_slice(&first).unwrap();
    assert_valid(
        &validator(BENCH_SPEC, json!({"$ref": "#/components/schemas/Profile"})),
        &profile,
    );
}

#[tokio::test]
async fn post_items_takes_the_half_kilobyte_body_and_answers_201() {
    assert!((400..=600).contains(&bench_upstream::POST_BODY.len()));
    let item: Value = serde_json::from_str(bench_upstream::POST_BODY).unwrap();
    assert_valid(
        &validator(BENCH_SPEC, json!({"$ref": "#/components/schemas/Item"})),
        &item,
    );

    let base = spawn(bench_upstream::run).await;
    let response = client()
        .post(format!("{base}/items"))
        .header("content-type", "application/json")
        .body(bench_upstream::POST_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["content-type"], "application/json");
    let created: Value = response.json().await.unwrap();
    assert_valid(
        &validator(BENCH_SPEC, json!({"$ref": "#/components/schemas/Created"})),
        &created,
    );
}

#[tokio::test]
async fn anything_else_is_a_json_404() {
    let base = spawn(bench_upstream::run).await;
    for (method, path) in [("GET", "/items"), ("POST", "/profile"), ("GET", "/")] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client()
            .request(method, format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not found");
    }
}
