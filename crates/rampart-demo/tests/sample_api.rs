//! The sample API leaks exactly as the demo says, and otherwise matches its
//! contract (so that the gateway strips the leaks and passes the rest).

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;

use common::{assert_valid, client, spawn, validator};
use rampart_demo::{RIDERS_SPEC, sample_api};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn start() -> String {
    spawn(sample_api::run).await
}

async fn get_json(url: &str) -> (StatusCode, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn patch_json(url: &str, body: &str) -> (StatusCode, Value) {
    let response = client()
        .patch(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// What the gateway does to a response: drop the properties the contract
/// does not declare.
fn without_undeclared(mut rider: Value) -> Value {
    if let Value::Object(map) = &mut rider {
        map.remove("password_hash");
        map.remove("last_login_ip");
    }
    rider
}

#[tokio::test]
async fn private_profiles_are_served_to_anyone_with_undeclared_secrets() {
    let base = start().await;
    let (status, rider) = get_json(&format!("{base}/api/riders/2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rider["is_private"], true);
    let hash = rider["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$2b$12$"), "{hash}");
    assert!(
        rider["last_login_ip"]
            .as_str()
            .unwrap()
            .starts_with("203.0.113.")
    );
    assert!(rider["weight_kg"].is_number() && rider["age"].is_number());
}

#[tokio::test]
async fn search_ignores_its_bounds_and_dumps_everyone() {
    let base = start().await;
    let (status, riders) = get_json(&format!("{base}/api/riders?limit=100000")).await;
    assert_eq!(status, StatusCode::OK);
    let riders = riders.as_array().unwrap();
    assert_eq!(riders.len(), 12);
    assert!(
        riders
            .iter()
            .any(|r| r["is_private"] == true && r["password_hash"].is_string())
    );

    let (_, limited) = get_json(&format!("{base}/api/riders?limit=3")).await;
    assert_eq!(limited.as_array().unwrap().len(), 3);
    let (_, found) = get_json(&format!("{base}/api/riders?q=LEE")).await;
    assert_eq!(found[0]["username"], "jordan_lee");
    let (_, found) = get_json(&format!("{base}/api/riders?q=hana+sato")).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn patch_merges_every_key_mass_assignment() {
    let base = start().await;
    let url = format!("{base}/api/riders/3");
    let body = r#"{"role":"admin","id":999,"workout_count":-5,"is_admin":true,"city":"Paris"}"#;
    let (status, rider) = patch_json(&url, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rider["role"], "admin");
    assert_eq!(rider["id"], 999);
    assert_eq!(rider["workout_count"], -5);
    assert_eq!(rider["is_admin"], true);
    assert!(rider["password_hash"].is_string());
    // The change is stored, not just echoed.
    let (_, stored) = get_json(&url).await;
    assert_eq!(stored, rider);
}

#[tokio::test]
async fn bad_patch_bodies_are_refused_without_harm() {
    let base = start().await;
    let url = format!("{base}/api/riders/3");
    assert_eq!(patch_json(&url, "[1,2]").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        patch_json(&url, "{not json").await.0,
        StatusCode::BAD_REQUEST
    );
    let huge = format!(r#"{{"bio":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    assert_eq!(
        patch_json(&url, &huge).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        patch_json(&format!("{base}/api/riders/77"), "{}").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_non_numeric_id_gets_a_verbose_sql_error() {
    let base = start().await;
    let (status, body) = get_json(&format!("{base}/api/riders/1%20OR%201=1")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let exception = body["exception"].as_str().unwrap();
    assert!(exception.contains(r#"invalid input syntax for type integer: "1 OR 1=1""#));
    assert!(body["stack"][0].as_str().unwrap().contains(".js:"));
    let (status, _) = get_json(&format!("{base}/api/riders/%ff%/workouts")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn shadow_admin_and_zombie_routes_answer() {
    let base = start().await;
    let (status, debug) = get_json(&format!("{base}/api/internal/debug")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(debug["database_url"].as_str().unwrap().contains("FAKE"));

    let (status, all) = get_json(&format!("{base}/api/admin/export")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 12);

    let (status, old) = get_json(&format!("{base}/api/v1/riders/2")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(old["last_login_ip"].is_string());
}

#[tokio::test]
async fn method_override_turns_a_post_into_a_delete() {
    let base = start().await;
    let url = format!("{base}/api/riders/5");
    let response = client()
        .post(&url)
        .header("X-HTTP-Method-Override", "delete")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"deleted": true, "id": 5})
    );
    assert_eq!(get_json(&url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get_json(&format!("{url}/workouts")).await.0,
        StatusCode::NOT_FOUND
    );
    // Without the header a POST is just not allowed.
    let plain = client()
        .post(format!("{base}/api/riders/6"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let base = start().await;
    for path in [
        "/",
        "/api",
        "/api/riders/",
        "/api/riders/1/secrets",
        "/nope",
    ] {
        let response = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn normal_responses_match_the_contract_once_undeclared_fields_are_gone() {
    let base = start().await;
    let profile = validator(
        RIDERS_SPEC,
        json!({"$ref": "#/components/schemas/RiderProfile"}),
    );
    let profiles = validator(
        RIDERS_SPEC,
        json!({"type": "array", "maxItems": 50, "items": {"$ref": "#/components/schemas/RiderProfile"}}),
    );
    let workouts = validator(
        RIDERS_SPEC,
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Workout"}}),
    );
    let error = validator(RIDERS_SPEC, json!({"$ref": "#/components/schemas/Error"}));

    let (_, all) = get_json(&format!("{base}/api/admin/export")).await;
    // As served, the profiles break the contract: that is what the gateway strips.
    assert!(!profiles.is_valid(&all));
    let all: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(without_undeclared)
        .collect();
    assert_valid(&profiles, &Value::from(all.clone()));
    let (_, search) = get_json(&format!("{base}/api/riders?q=a&limit=50")).await;
    let search: Vec<Value> = search
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(without_undeclared)
        .collect();
    assert_valid(&profiles, &Value::from(search));

    for rider in &all {
        let id = rider["id"].as_u64().unwrap();
        let (status, one) = get_json(&format!("{base}/api/riders/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_valid(&profile, &without_undeclared(one));
        let (status, list) = get_json(&format!("{base}/api/riders/{id}/workouts")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            list.as_array().unwrap().len() as u64,
            rider["workout_count"].as_u64().unwrap()
        );
        assert_valid(&workouts, &list);
    }

    let (status, updated) =
        patch_json(&format!("{base}/api/riders/6"), r#"{"city":"Hamburg, DE"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_valid(&profile, &without_undeclared(updated));
    let (status, missing) = get_json(&format!("{base}/api/riders/404")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_valid(&error, &missing);
}
