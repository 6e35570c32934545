//! The bundles hold the spec and a config with the per-run values filled in.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::net::SocketAddr;

use rampart_demo::{BENCH_SPEC, RIDERS_SPEC, write_bench_bundle, write_bundle};
use serde_json::Value;

fn config(path: &std::path::Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value = serde_saphyr::from_str(&text).unwrap();
    (text, value)
}

#[test]
fn demo_bundle_has_the_riders_spec_and_the_substituted_config() {
    let dir = tempfile::tempdir().unwrap();
    let listen: SocketAddr = "127.0.0.1:18080".parse().unwrap();
    let path = write_bundle(
        dir.path(),
        listen,
        "http://127.0.0.1:13000",
        "stderr",
        "s3cret",
    )
    .unwrap();
    assert_eq!(path, dir.path().join("rampart.yaml"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("riders.openapi.yaml")).unwrap(),
        RIDERS_SPEC
    );

    let (text, config) = config(&path);
    assert!(text.contains(r#"listen: "127.0.0.1:18080""#), "{text}");
    assert_eq!(config["listen"], "127.0.0.1:18080");
    assert_eq!(config["mode"], "enforce");
    assert_eq!(config["apis"][0]["name"], "riders");
    assert_eq!(config["apis"][0]["spec"], "./riders.openapi.yaml");
    assert_eq!(config["apis"][0]["upstream"], "http://127.0.0.1:13000");
    assert_eq!(config["log"]["security"], "stderr");
    assert_eq!(config["authorization"]["policies"], "./riders.cedar");
    assert!(dir.path().join("riders.cedar").is_file());
    let secret = dir.path().join("demo-jwt.secret");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the secret is readable by its owner only");
}

#[test]
fn bench_bundle_has_the_bench_spec_and_a_log_path() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a").join("b");
    let log = dir.path().join("security log: 1.jsonl");
    let log = log.to_str().unwrap();
    let listen: SocketAddr = "[::1]:8443".parse().unwrap();
    let path = write_bench_bundle(&nested, listen, "http://[::1]:3000", log).unwrap();
    assert_eq!(
        std::fs::read_to_string(nested.join("bench.openapi.yaml")).unwrap(),
        BENCH_SPEC
    );

    let (_, config) = config(&path);
    assert_eq!(config["listen"], "[::1]:8443");
    assert_eq!(config["mode"], "enforce");
    assert_eq!(config["apis"][0]["name"], "bench");
    assert_eq!(config["apis"][0]["spec"], "./bench.openapi.yaml");
    assert_eq!(config["apis"][0]["upstream"], "http://[::1]:3000");
    assert_eq!(config["log"]["security"], log);
}

#[test]
fn the_bundled_specs_are_openapi_3_1_with_the_promised_operations() {
    let riders: Value = serde_saphyr::from_str(RIDERS_SPEC).unwrap();
    assert_eq!(riders["openapi"], "3.1.0");
    assert_eq!(riders["servers"][0]["url"], "/api");
    let mut ids: Vec<&str> = riders["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "exportRiders",
            "getRider",
            "listWorkouts",
            "searchRiders",
            "updateRider"
        ]
    );
    let profile = &riders["components"]["schemas"]["RiderProfile"];
    assert_eq!(profile["additionalProperties"], false);
    assert!(profile["properties"].get("password_hash").is_none());
    assert_eq!(
        profile["properties"]["role"]["x-rampart-writable-by"][0],
        "admin"
    );
    assert_eq!(profile["properties"]["id"]["readOnly"], true);
    assert_eq!(profile["x-rampart-owner"], "/id");
    assert_eq!(
        profile["properties"]["weight_kg"]["x-rampart-visibility"],
        "owner"
    );

    let bench: Value = serde_saphyr::from_str(BENCH_SPEC).unwrap();
    assert_eq!(bench["openapi"], "3.1.0");
    assert_eq!(
        bench["paths"]["/profile"]["get"]["operationId"],
        "getProfile"
    );
    assert_eq!(
        bench["paths"]["/items"]["post"]["operationId"],
        "createItem"
    );
}
