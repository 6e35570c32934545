//! A recorded mix of traffic against the demo's riders API — declared
//! operations, an old `/api/v1` version beside the current contract, a
//! debug endpoint, user-name paths, a deprecated operation — replayed into
//! a real SQLite store, with field classes taken from the real leaky
//! sample API's responses; then the inventory is asserted, and its OpenAPI
//! draft of the shadow endpoints is loaded back and audited.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use rampart_contract::bundle::bundle_file;
use rampart_contract::compile::compile_for_analysis;
use rampart_contract::{CompileOptions, Contract};
use rampart_inventory::model::{Inventory, Protection, ShadowEndpoint};
use rampart_inventory::{ApiContract, DataClass, classify, collect, draft, shadow_key};
use rampart_store::{AuditEvent, FieldClassCount, Store, Verdict};

/// The demo's contract, with `exportRiders` marked deprecated (the riders
/// document has no deprecated operation of its own).
fn riders_spec() -> String {
    let spec = rampart_demo::RIDERS_SPEC.replace(
        "      operationId: exportRiders\n",
        "      operationId: exportRiders\n      deprecated: true\n",
    );
    assert!(spec.contains("deprecated: true"), "the spec changed shape");
    spec
}

fn riders_api(dir: &std::path::Path) -> Vec<ApiContract> {
    let path = dir.join("riders.openapi.yaml");
    std::fs::write(&path, riders_spec()).unwrap();
    let contract =
        compile_for_analysis(bundle_file(&path).unwrap(), &CompileOptions::default()).unwrap();
    vec![ApiContract {
        name: "riders".into(),
        contract,
    }]
}

/// Builds events the way the gateway records them.
struct Recording {
    start: SystemTime,
    n: u64,
    events: Vec<AuditEvent>,
}

impl Recording {
    fn new(start: SystemTime) -> Self {
        Recording {
            start,
            n: 0,
            events: Vec::new(),
        }
    }

    /// An exchange `secs` after the start.
    fn at(&mut self, secs: u64, method: &str, path: &str, status: u16) -> &mut AuditEvent {
        self.n += 1;
        let mut e = AuditEvent::new(
            self.start + Duration::from_secs(secs),
            format!("req-{}", self.n),
            "192.0.2.10",
        );
        e.method = method.into();
        e.path = path.into();
        e.status = status;
        self.events.push(e);
        self.events.last_mut().unwrap()
    }

    /// A routed exchange.
    fn routed(
        &mut self,
        secs: u64,
        method: &str,
        path: &str,
        op: &str,
        route: &str,
        status: u16,
    ) -> &mut AuditEvent {
        let e = self.at(secs, method, path, status);
        e.api = Some("riders".into());
        e.operation = Some(op.into());
        e.route = Some(route.into());
        e.upstream_status = Some(status);
        e
    }

    /// An unrouted exchange refused in enforce mode.
    fn unrouted(&mut self, secs: u64, method: &str, path: &str) -> &mut AuditEvent {
        let e = self.at(secs, method, path, 404);
        e.decision = Verdict::Blocked;
        e.rules = vec![Cow::Borrowed("contract.route.unknown")];
        e
    }
}

/// The sample API's twelve riders.
const DEMO_USERNAMES: [&str; 12] = [
    "alex_morgan",
    "jordan_lee",
    "sam_rivera",
    "priya_patel",
    "noah_kim",
    "emma_schmidt",
    "lucas_martin",
    "aisha_bello",
    "mateo_garcia",
    "hana_sato",
    "oliver_brown",
    "chloe_dubois",
];

fn jwt(e: &mut AuditEvent, sub: &str) {
    e.principal = Some(sub.into());
    e.issuer = Some("rampart-demo".into());
}

fn recorded_mix(start: SystemTime) -> Vec<AuditEvent> {
    let mut r = Recording::new(start);
    // Too old for the window.
    r.routed(
        0,
        "GET",
        "/api/riders/2",
        "updateRider",
        "/api/riders/{riderId}",
        200,
    );
    let t0 = 3_600;
    // getRider: members with tokens, one refused object, one anonymous call.
    for (i, id) in ["2", "4", "4", "7", "9", "2"].iter().enumerate() {
        let e = r.routed(
            t0 + i as u64,
            "GET",
            &format!("/api/riders/{id}"),
            "getRider",
            "/api/riders/{riderId}",
            200,
        );
        jwt(e, if i % 2 == 0 { "4" } else { "2" });
    }
    let e = r.routed(
        t0 + 10,
        "GET",
        "/api/riders/3",
        "getRider",
        "/api/riders/{riderId}",
        403,
    );
    jwt(e, "4");
    e.decision = Verdict::Blocked;
    e.upstream_status = None;
    e.rules = vec![Cow::Borrowed("authz.object")];
    let e = r.routed(
        t0 + 11,
        "GET",
        "/api/riders/3",
        "getRider",
        "/api/riders/{riderId}",
        401,
    );
    e.decision = Verdict::Blocked;
    e.upstream_status = None;
    e.rules = vec![Cow::Borrowed("identity.missing")];
    // searchRiders with a partner's API key, one answer restricted.
    for i in 0..4 {
        let e = r.routed(
            t0 + 20 + i,
            "GET",
            "/api/riders",
            "searchRiders",
            "/api/riders",
            200,
        );
        e.principal = Some("partner".into());
        e.key_id = Some("partner-1".into());
        e.query_keys = vec!["q".into(), "limit".into()];
    }
    r.events.last_mut().unwrap().decision = Verdict::Modified;
    // The deprecated export, still called by the administrator.
    let e = r.routed(
        t0 + 30,
        "GET",
        "/api/admin/export",
        "exportRiders",
        "/api/admin/export",
        200,
    );
    jwt(e, "1");
    // The zombie v1 API, beside the v2 contract.
    for (i, id) in ["3", "7", "12", "3"].iter().enumerate() {
        let e = r.unrouted(t0 + 40 + i as u64, "GET", &format!("/api/v1/riders/{id}"));
        e.query_keys = vec!["fields".into()];
    }
    r.unrouted(t0 + 45, "GET", "/api/v1/riders/3/workouts");
    // A debug endpoint left in production, reached in monitor mode.
    for i in 0..3 {
        let e = r.unrouted(t0 + 50 + i, "GET", "/api/internal/debug");
        e.decision = Verdict::Flagged;
        e.mode = Cow::Borrowed("monitor");
        e.status = 200;
        e.upstream_status = Some(200);
    }
    // User pages by name (many rare names) and `me` (frequent, static).
    for (i, name) in DEMO_USERNAMES.iter().enumerate() {
        r.unrouted(t0 + 60 + i as u64, "GET", &format!("/api/users/{name}"));
    }
    for i in 0..20 {
        r.unrouted(t0 + 70 + i, "GET", "/api/users/me");
    }
    // Exports by UUID, and a method the path does not declare.
    r.unrouted(
        t0 + 95,
        "GET",
        "/api/exports/550e8400-e29b-41d4-a716-446655440000",
    );
    r.unrouted(
        t0 + 96,
        "GET",
        "/api/exports/6fa459ea-ee8a-3ca4-894e-db77e160355e",
    );
    let e = r.at(t0 + 97, "DELETE", "/api/riders/5", 405);
    e.decision = Verdict::Blocked;
    e.api = Some("riders".into());
    e.rules = vec![Cow::Borrowed("contract.route.method")];
    // Stopped before routing: not endpoints.
    let e = r.at(t0 + 98, "GET", "/api/%2e%2e/etc/passwd", 400);
    e.decision = Verdict::Blocked;
    e.rules = vec![Cow::Borrowed("normalize.dot-segment")];
    let e = r.at(t0 + 99, "GET", "/api/riders/2", 403);
    e.decision = Verdict::Blocked;
    e.rules = vec![Cow::Borrowed("detect.blocked")];
    r.events
}

/// Real responses of the leaky sample API, classified and recorded as the
/// gateway's sampler would (operation ids for routed responses, shadow keys
/// for unrouted ones).
async fn record_sampled_fields(store: &Store, at: SystemTime) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(rampart_demo::sample_api::run(listener));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let samples = [
        ("getRider", "/api/riders/2"),
        ("getRider", "/api/riders/4"),
        ("searchRiders", "/api/riders?limit=100"),
        ("exportRiders", "/api/admin/export"),
        ("listWorkouts", "/api/riders/2/workouts"),
    ];
    let mut rows = Vec::new();
    let mut record = |operation: &str, body: &serde_json::Value| {
        for f in classify(body) {
            rows.push(FieldClassCount::seen(
                "riders",
                operation,
                f.pointer,
                f.class.as_str(),
                at,
            ));
        }
    };
    for (op, path) in samples {
        let body: serde_json::Value = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        record(op, &body);
    }
    for path in [
        "/api/internal/debug",
        "/api/v1/riders/3",
        "/api/v1/riders/12",
    ] {
        let body: serde_json::Value = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        record(&shadow_key("GET", path), &body);
    }
    server.abort();
    store.record_field_classes(&rows).await.unwrap();
}

fn shadow<'a>(inv: &'a Inventory, method: &str, template: &str) -> &'a ShadowEndpoint {
    inv.apis[0]
        .shadow
        .iter()
        .find(|s| s.method == method && s.template == template)
        .unwrap_or_else(|| panic!("no shadow endpoint {method} {template}"))
}

fn fields_of(
    fields: &[rampart_inventory::model::SensitiveField],
) -> BTreeMap<(String, DataClass), (Protection, bool)> {
    fields
        .iter()
        .map(|f| ((f.pointer.clone(), f.class), (f.protection, f.unprotected)))
        .collect()
}

fn key(p: &str, c: DataClass) -> (String, DataClass) {
    (p.to_owned(), c)
}

/// The mix's time origin: four hours ago, to the second (so two stores
/// fed separately hold the same times).
fn origin() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(now - 4 * 3_600)
}

/// Replays the mix and the sampled fields into `store`, and takes the
/// inventory of `[start + 30 min, until)`.
async fn replay_into(
    store: &Store,
    apis: &[ApiContract],
    start: SystemTime,
    until: SystemTime,
) -> Inventory {
    store.write(&recorded_mix(start)).await.unwrap();
    record_sampled_fields(store, start + Duration::from_secs(3_700)).await;
    let since = start + Duration::from_secs(1_800);
    collect(store, apis, Some(since), until).await.unwrap()
}

async fn inventory_of_the_mix(dir: &std::path::Path) -> (Vec<ApiContract>, Inventory) {
    let apis = riders_api(dir);
    let store = Store::sqlite(&dir.join("events.db")).await.unwrap();
    let inv = replay_into(&store, &apis, origin(), SystemTime::now()).await;
    store.close().await;
    (apis, inv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_gives_the_same_inventory_as_sqlite() {
    if std::env::var_os("RAMPART_SKIP_POSTGRES").is_some_and(|v| v == "1") {
        eprintln!("RAMPART_SKIP_POSTGRES=1: skipping a PostgreSQL test");
        return;
    }
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!(
        "rampart_inventory_test_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let dir = tempfile::tempdir().unwrap();
    let apis = riders_api(dir.path());
    let (start, until) = (origin(), SystemTime::now());
    let sqlite = Store::sqlite(&dir.path().join("events.db")).await.unwrap();
    let expected = replay_into(&sqlite, &apis, start, until).await;
    sqlite.close().await;
    let pg = Store::postgres(&url, &schema, 2).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} is not usable ({e}); RAMPART_SKIP_POSTGRES=1 skips")
    });
    let got = replay_into(&pg, &apis, start, until).await;
    pg.close().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    assert_eq!(got, expected);
    assert_eq!(got.apis[0].shadow.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_mix_gives_templates_zombies_and_pii_per_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_apis, inv) = inventory_of_the_mix(dir.path()).await;
    let api = &inv.apis[0];
    assert_eq!(
        inv.events, 58,
        "the event older than the window is not read"
    );

    // Declared operations: volume, auth, errors, decisions.
    let op = |id: &str| api.operations.iter().find(|o| o.operation == id).unwrap();
    let get = op("getRider");
    assert_eq!(get.calls, 8);
    assert_eq!(
        get.auth.jwt_issuers,
        BTreeMap::from([("rampart-demo".to_owned(), 7)])
    );
    assert_eq!(get.auth.anonymous, 1);
    assert_eq!(get.auth.distinct_principals, 2);
    assert_eq!(get.error_rate, 0.25);
    assert_eq!(get.server_error_rate, 0.0);
    assert_eq!(
        get.decisions,
        BTreeMap::from([("allowed".to_owned(), 6), ("blocked".to_owned(), 2)])
    );
    assert_eq!(get.rules.get("authz.object"), Some(&1));
    let search = op("searchRiders");
    assert_eq!(search.calls, 4);
    assert_eq!(
        search.auth.api_keys,
        BTreeMap::from([("partner-1".to_owned(), 4)])
    );
    assert_eq!(search.decisions.get("modified"), Some(&1));
    assert!(op("exportRiders").deprecated);

    // Shadow endpoints, clustered.
    let mut templates: Vec<(String, String, u64)> = api
        .shadow
        .iter()
        .map(|s| (s.method.clone(), s.template.clone(), s.calls))
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [
            ("DELETE".into(), "/api/riders/{id}".into(), 1),
            ("GET".into(), "/api/exports/{id}".into(), 2),
            ("GET".into(), "/api/internal/debug".into(), 3),
            ("GET".into(), "/api/users/me".into(), 20),
            ("GET".into(), "/api/users/{id}".into(), 12),
            ("GET".into(), "/api/v1/riders/{id}".into(), 4),
            ("GET".into(), "/api/v1/riders/{id}/workouts".into(), 1),
        ]
    );
    let v1 = shadow(&inv, "GET", "/api/v1/riders/{id}");
    assert_eq!(v1.version_of.as_deref(), Some("getRider"));
    assert_eq!(v1.query_params, ["fields"]);
    assert_eq!(v1.params[0].name, "id");
    assert_eq!(v1.statuses, BTreeMap::from([(404, 4)]));
    let examples: Vec<&str> = v1.examples.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        examples,
        ["/api/v1/riders/3", "/api/v1/riders/12", "/api/v1/riders/7"],
        "newest first, one per path"
    );
    assert_eq!(shadow(&inv, "GET", "/api/users/me").examples.len(), 1);
    assert_eq!(
        shadow(&inv, "GET", "/api/v1/riders/{id}/workouts")
            .version_of
            .as_deref(),
        Some("listWorkouts")
    );
    let exports = shadow(&inv, "GET", "/api/exports/{id}");
    assert_eq!(
        serde_json::to_value(&exports.params[0].kinds).unwrap(),
        serde_json::json!(["uuid"])
    );
    let users = shadow(&inv, "GET", "/api/users/{id}");
    assert_eq!(
        serde_json::to_value(&users.params[0].kinds).unwrap(),
        serde_json::json!(["slug"])
    );
    assert_eq!(shadow(&inv, "GET", "/api/users/me").auth.anonymous, 20);
    assert!(shadow(&inv, "DELETE", "/api/riders/{id}").undeclared_method);
    let debug = shadow(&inv, "GET", "/api/internal/debug");
    assert_eq!(debug.upstream_statuses, BTreeMap::from([(200, 3)]));
    assert_eq!(debug.decisions, BTreeMap::from([("flagged".to_owned(), 3)]));

    // Zombies.
    assert_eq!(api.zombies.never_called, ["listWorkouts", "updateRider"]);
    assert_eq!(api.zombies.deprecated_in_use, ["exportRiders"]);
    assert_eq!(
        api.zombies.old_versions,
        [
            "GET /api/v1/riders/{id}",
            "GET /api/v1/riders/{id}/workouts"
        ]
    );

    // Sensitive data per operation and field.
    assert_eq!(
        fields_of(&get.sensitive_fields),
        BTreeMap::from([
            (
                key("/email", DataClass::Email),
                (Protection::OwnerOnly, false)
            ),
            (
                key("/last_login_ip", DataClass::IpAddress),
                (Protection::Undeclared, true)
            ),
            (
                key("/password_hash", DataClass::Secret),
                (Protection::Undeclared, true)
            ),
        ])
    );
    assert_eq!(
        get.sensitive_fields
            .iter()
            .find(|f| f.pointer == "/email")
            .unwrap()
            .count,
        2
    );
    assert_eq!(
        fields_of(&search.sensitive_fields),
        BTreeMap::from([
            (
                key("/*/email", DataClass::Email),
                (Protection::OwnerOnly, false)
            ),
            (
                key("/*/last_login_ip", DataClass::IpAddress),
                (Protection::Undeclared, true)
            ),
            (
                key("/*/password_hash", DataClass::Secret),
                (Protection::Undeclared, true)
            ),
        ])
    );
    assert!(
        op("listWorkouts").sensitive_fields.is_empty(),
        "workouts carry no PII"
    );
    assert_eq!(
        fields_of(&debug.sensitive_fields),
        BTreeMap::from([
            (
                key("/api_key", DataClass::Secret),
                (Protection::ShadowEndpoint, true)
            ),
            (
                key("/database_url", DataClass::Secret),
                (Protection::ShadowEndpoint, true)
            ),
            (
                key("/jwt_signing_secret", DataClass::Secret),
                (Protection::ShadowEndpoint, true)
            ),
        ])
    );
    let v1_email = v1
        .sensitive_fields
        .iter()
        .find(|f| f.class == DataClass::Email)
        .unwrap();
    assert_eq!(
        (v1_email.pointer.as_str(), v1_email.count),
        ("/email", 2),
        "two samples, two ids, one endpoint"
    );

    // Nothing stored or printed holds a value.
    let json = serde_json::to_string(&inv).unwrap();
    for value in ["@example.com", "$2b$", "FAKE-", "203.0.113", "198.51.100"] {
        assert!(!json.contains(value), "{value} leaked into the inventory");
    }
    let text = rampart_inventory::text::render(&inv);
    assert!(text.contains("GET /api/v1/riders/{id}  4 calls"), "{text}");
    assert!(text.contains("UNPROTECTED"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shadow_draft_loads_back_and_passes_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let (_apis, inv) = inventory_of_the_mix(dir.path()).await;
    let doc = draft::draft_openapi(&inv);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"][0]["url"], "/api",
        "paths relative to the API's base path"
    );
    let v1 = &doc["paths"]["/v1/riders/{id}"]["get"];
    assert_eq!(v1["parameters"][0]["schema"]["type"], "integer");
    assert_eq!(v1["parameters"][1]["name"], "fields");
    assert_eq!(v1["parameters"][1]["in"], "query");
    assert_eq!(v1["x-rampart-observed"]["version_of"], "getRider");
    assert!(
        v1["responses"]["default"].is_object(),
        "enforce mode: no upstream status seen"
    );
    let debug = &doc["paths"]["/internal/debug"]["get"];
    assert!(debug["responses"]["200"].is_object(), "{debug}");
    assert_eq!(
        doc["paths"]["/exports/{id}"]["get"]["parameters"][0]["schema"]["format"],
        "uuid"
    );

    for (name, as_json) in [("draft.yaml", false), ("draft.json", true)] {
        let path = dir.path().join(name);
        std::fs::write(&path, draft::render(&doc, as_json).unwrap()).unwrap();
        // The gateway's loader, validators and router included.
        let contract = Contract::load(&path, &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{name} does not load:\n{e}"));
        assert_eq!(contract.operations.len(), inv.apis[0].shadow.len());
        assert_eq!(contract.base_path, "/api");
        let found = contract.route(&http::Method::GET, "/api/v1/riders/12");
        assert!(
            matches!(found, rampart_contract::Matched::Found(op, _) if op.id == "get_v1_riders_id")
        );
        // `rampart audit`'s library entry point.
        let report = rampart_audit::audit_file(&path, &rampart_audit::Settings::default())
            .unwrap_or_else(|e| panic!("{name} does not audit:\n{e}"));
        assert_eq!(report.operations, inv.apis[0].shadow.len());
        assert!(
            !report.findings.is_empty(),
            "a draft without security has findings to review"
        );
    }
}
