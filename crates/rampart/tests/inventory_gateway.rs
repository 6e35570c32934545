//! End to end: the demo bundle (riders contract, Cedar policies, JWT
//! issuer) served by the real gateway in front of the real leaky sample
//! API, traffic through it, then the inventory read from the SQLite audit
//! store the gateway wrote. The gateway samples the fields of its own
//! responses (every one here, `store.field_sample_every: 1`); the shadow
//! endpoints, which the gateway refuses, are classified from the leaky
//! API's own answers through the same `FieldSampler`.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::{Duration, SystemTime};

use rampart_demo::tokens::{Persona, Tokens, new_secret};
use rampart_inventory::model::Protection;
use rampart_inventory::{DataClass, FieldSampler, collect, load_apis, shadow_key};
use rampart_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_through_the_gateway_becomes_an_inventory() {
    // The leaky API.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    let leaky = tokio::spawn(rampart_demo::sample_api::run(upstream));

    // The demo bundle, with exportRiders deprecated.
    let dir = tempfile::tempdir().unwrap();
    let secret = new_secret().unwrap();
    let log = dir.path().join("security.log");
    let config = rampart_demo::write_bundle(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        &upstream_url,
        log.to_str().unwrap(),
        &secret,
    )
    .unwrap();
    let spec = rampart_demo::RIDERS_SPEC.replace(
        "      operationId: exportRiders\n",
        "      operationId: exportRiders\n      deprecated: true\n",
    );
    std::fs::write(dir.path().join("riders.openapi.yaml"), spec).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("store:\n  field_sample_every: 1\n");
    std::fs::write(&config, text).unwrap();

    // The gateway.
    let runtime = rampart_gateway::Runtime::load(&config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = rampart_gateway::Server::with_listener(runtime, listener, &config).unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let gateway = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let tokens = Tokens::mint_all(&secret).unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: &str, persona: Option<Persona>| {
        let mut req = client.get(format!("{base}{path}"));
        if let Some(p) = persona {
            req = req.bearer_auth(tokens.get(p));
        }
        req.send()
    };
    let started = SystemTime::now() - Duration::from_secs(1);
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(get("/api/riders/4", Some(Persona::Member)).await.unwrap()),
        200
    );
    assert_eq!(
        status(get("/api/riders/4", Some(Persona::Owner)).await.unwrap()),
        200
    );
    assert_eq!(status(get("/api/riders/4", None).await.unwrap()), 401);
    assert_eq!(
        status(
            get("/api/riders?q=a&limit=5", Some(Persona::Member))
                .await
                .unwrap()
        ),
        200
    );
    assert_eq!(
        status(
            get("/api/admin/export", Some(Persona::Admin))
                .await
                .unwrap()
        ),
        200
    );
    for id in [3, 5, 7] {
        let r = get(
            &format!("/api/v1/riders/{id}?fields=all"),
            Some(Persona::Member),
        )
        .await
        .unwrap();
        assert_eq!(status(r), 404, "enforce mode refuses the zombie v1 route");
    }
    assert_eq!(status(get("/api/internal/debug", None).await.unwrap()), 404);

    // Stop: the recorder drains into SQLite.
    stop.send(()).unwrap();
    gateway.await.unwrap().unwrap();

    // The gateway classified what it sent: getRider's owner-only email
    // (the owner read rider 4), and no undeclared field, which it stripped.
    let loaded = rampart_config::load(&config).unwrap();
    let store = Store::open(&loaded.config.store, &loaded.dir)
        .await
        .unwrap();
    let sampled = store.field_classes(None).await.unwrap();
    assert!(
        sampled
            .iter()
            .any(|f| f.operation == "getRider" && f.pointer == "/email" && f.class == "email"),
        "{sampled:?}"
    );
    assert!(
        !sampled.iter().any(|f| f.pointer == "/password_hash"),
        "the gateway never sends (so never samples) undeclared fields: {sampled:?}"
    );
    let sampler = FieldSampler::new(store.clone(), 1);
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    for (operation, path) in [
        ("getRider".to_owned(), "/api/riders/4"),
        ("searchRiders".to_owned(), "/api/riders?limit=50"),
        (shadow_key("GET", "/api/v1/riders/3"), "/api/v1/riders/3"),
        (
            shadow_key("GET", "/api/internal/debug"),
            "/api/internal/debug",
        ),
    ] {
        assert!(sampler.should_sample());
        let body: serde_json::Value = direct
            .get(format!("{upstream_url}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(sampler.observe("riders", &operation, &body, SystemTime::now()) > 0);
    }
    assert!(sampler.flush().await.unwrap() >= 8);
    leaky.abort();

    // The inventory.
    let apis = load_apis(&loaded).unwrap();
    let inv = collect(&store, &apis, Some(started), SystemTime::now())
        .await
        .unwrap();
    let api = &inv.apis[0];
    assert_eq!(inv.events, 9, "every exchange was recorded");
    let op = |id: &str| api.operations.iter().find(|o| o.operation == id).unwrap();
    let get_rider = op("getRider");
    assert_eq!(get_rider.calls, 3);
    assert_eq!(get_rider.auth.anonymous, 1, "the 401");
    assert_eq!(
        get_rider.auth.jwt_issuers.get("rampart-demo"),
        Some(&2),
        "the gateway records the token's issuer"
    );
    assert_eq!(get_rider.statuses.get(&401), Some(&1));
    assert_eq!(op("searchRiders").calls, 1);
    assert_eq!(api.zombies.never_called, ["listWorkouts", "updateRider"]);
    assert_eq!(api.zombies.deprecated_in_use, ["exportRiders"]);

    let shadow: Vec<(&str, &str, u64)> = api
        .shadow
        .iter()
        .map(|s| (s.method.as_str(), s.template.as_str(), s.calls))
        .collect();
    assert_eq!(
        shadow,
        [
            ("GET", "/api/v1/riders/{id}", 3),
            ("GET", "/api/internal/debug", 1),
        ]
    );
    let v1 = &api.shadow[0];
    assert_eq!(v1.version_of.as_deref(), Some("getRider"));
    assert_eq!(
        v1.query_params,
        ["fields"],
        "the gateway records parameter names"
    );
    assert_eq!(
        v1.auth.anonymous, 3,
        "unrouted requests are never authenticated, whatever they carry"
    );
    assert_eq!(api.zombies.old_versions, ["GET /api/v1/riders/{id}"]);

    let class_of = |fields: &[rampart_inventory::model::SensitiveField], pointer: &str| {
        fields
            .iter()
            .find(|f| f.pointer == pointer)
            .map(|f| (f.class, f.protection))
    };
    assert_eq!(
        class_of(&get_rider.sensitive_fields, "/email"),
        Some((DataClass::Email, Protection::OwnerOnly))
    );
    assert_eq!(
        class_of(&op("searchRiders").sensitive_fields, "/*/password_hash"),
        Some((DataClass::Secret, Protection::Undeclared))
    );
    assert_eq!(
        class_of(&v1.sensitive_fields, "/email"),
        Some((DataClass::Email, Protection::ShadowEndpoint))
    );
    assert_eq!(
        class_of(&api.shadow[1].sensitive_fields, "/database_url"),
        Some((DataClass::Secret, Protection::ShadowEndpoint))
    );
    store.close().await;
}
