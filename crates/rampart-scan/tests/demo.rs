//! `rampart scan` against the demo's leaky riders API, on real sockets:
//! directly (every planted flaw found, with evidence), behind the gateway
//! with the demo config (nothing found), and behind the gateway with the
//! scan's own virtual patch applied (nothing found).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_demo::tokens::{Persona, Tokens};
use rampart_scan::exchange::Auth;
use rampart_scan::report::{self, Format};
use rampart_scan::{Check, Finding, Identity, Report, ScanConfig};

/// The leaky sample API on an ephemeral port; its base URL.
async fn leaky_api() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rampart_demo::sample_api::run(listener));
    format!("http://{addr}")
}

/// The demo bundle (spec, config, Cedar, secret) in `dir`, for `upstream`;
/// returns the config path, the gateway's listener and the run's tokens.
async fn bundle(dir: &Path, upstream: &str) -> (PathBuf, tokio::net::TcpListener, Tokens) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let secret = rampart_demo::tokens::new_secret().unwrap();
    let tokens = Tokens::mint_all(&secret).unwrap();
    let log = dir.join("security.log");
    let config =
        rampart_demo::write_bundle(dir, addr, upstream, &log.to_string_lossy(), &secret).unwrap();
    (config, listener, tokens)
}

/// Start the gateway for `config` on `listener`; its base URL.
async fn gateway(config: &Path, listener: tokio::net::TcpListener) -> String {
    let addr = listener.local_addr().unwrap();
    let path = config.to_path_buf();
    let runtime = tokio::task::spawn_blocking(move || rampart_gateway::Runtime::load(&path))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the config does not load:\n{e}"));
    let server = rampart_gateway::Server::with_listener(runtime, listener, config).unwrap();
    tokio::spawn(server.run(std::future::pending()));
    format!("http://{addr}")
}

fn config(spec: &Path, target: &str, tokens: &Tokens) -> ScanConfig {
    // alice owns the private profile (rider 2), bob is a member (rider 4).
    let alice = Identity::parse(&format!("alice=bearer:{}", tokens.get(Persona::Owner))).unwrap();
    let bob = Identity::parse(&format!("bob=bearer:{}", tokens.get(Persona::Member))).unwrap();
    ScanConfig {
        spec: spec.to_path_buf(),
        target: target.to_string(),
        identities: vec![alice, bob],
        principals: BTreeMap::new(),
        seeds: BTreeMap::new(),
        allowed_operations: Vec::new(),
        max_requests: 3000,
        rps: 0.0,
        allow_writes: true,
        burst: 25,
        timeout: Duration::from_secs(10),
        progress: false,
    }
}

/// A clean report means something only if the API still works for its
/// users: every identity read its own objects through every read operation
/// (searchRiders, getRider, listWorkouts; exportRiders is for administrators).
fn assert_serves_its_users(report: &Report) {
    assert!(
        report.requests > 50,
        "the scan did run: {} requests",
        report.requests
    );
    assert_eq!(
        report.baseline_reads, 6,
        "alice and bob each read search, profile and workouts"
    );
}

async fn scan(config: ScanConfig) -> Report {
    rampart_scan::scan(config).await.unwrap()
}

fn find<'r>(report: &'r Report, check: Check, target: &str, title_has: &str) -> &'r Finding {
    report
        .findings
        .iter()
        .find(|f| f.check == check && f.target == target && f.title.contains(title_has))
        .unwrap_or_else(|| {
            panic!(
                "no {check:?} finding on {target} ({title_has}):\n{}",
                report::render(report, Format::Text)
            )
        })
}

/// Evidence is a pair of real exchanges, a reason, and a reproduction that
/// names identities and never carries their tokens.
fn assert_evidence(f: &Finding, tokens: &Tokens) {
    let e = &f.evidence;
    assert!(e.probe.status != 0 && e.control.status != 0, "{f:?}");
    assert!(!e.why.is_empty() && !e.fields.is_empty(), "{f:?}");
    for (_, token) in &tokens.tokens {
        assert!(
            !f.curl.contains(token.as_str()),
            "token in repro: {}",
            f.curl
        );
        let json = serde_json::to_string(f).unwrap();
        assert!(!json.contains(token.as_str()), "token in JSON evidence");
    }
    assert!(f.curl.starts_with("curl -si"), "{}", f.curl);
    // The target's secrets are evidence that they leak, not report content.
    let json = serde_json::to_string(f).unwrap();
    for secret in [
        "$2b$12$",
        "FAKE-demo-password",
        "FAKE-DEMO-KEY",
        "FAKE-demo-jwt-secret",
    ] {
        assert!(
            !json.contains(secret),
            "{secret} in the evidence of {}",
            f.title
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_every_planted_flaw_of_the_leaky_api() {
    let dir = tempfile::tempdir().unwrap();
    let target = leaky_api().await;
    let (cfg_path, _listener, tokens) = bundle(dir.path(), &target).await;
    let spec = cfg_path.with_file_name("riders.openapi.yaml");
    let report = scan(config(&spec, &target, &tokens)).await;
    let text = report::render(&report, Format::Text);
    println!("{text}");

    // No credentials at all, on every operation the contract secures.
    for op in ["searchRiders", "getRider", "listWorkouts", "exportRiders"] {
        let f = find(
            &report,
            Check::MissingAuthentication,
            op,
            "without credentials",
        );
        assert_eq!(f.evidence.probe.auth, Auth::None);
        assert!(matches!(f.evidence.control.auth, Auth::Identity { .. }));
        assert_eq!(f.owasp.code(), "API2:2023");
    }
    // Peloton: bob reads alice's private profile, owner-only fields and all.
    let f = find(&report, Check::BolaRead, "getRider", "bob reads alice");
    assert!(
        f.evidence.probe.url.ends_with("/api/riders/2"),
        "{}",
        f.evidence.probe.url
    );
    for field in ["age", "email", "city", "weight_kg"] {
        assert!(
            f.evidence.fields.iter().any(|x| x == field),
            "{:?}",
            f.evidence.fields
        );
    }
    assert_eq!(f.owasp.code(), "API1:2023");
    // ... and alice's workouts, and her profile again through search and export.
    find(&report, Check::BolaRead, "listWorkouts", "bob reads alice");
    find(&report, Check::BolaRead, "searchRiders", "bob reads alice");
    find(&report, Check::BolaRead, "exportRiders", "bob reads alice");
    // Not the other way round for a public profile: alice may see bob's.
    assert!(
        !report.findings.iter().any(|f| f.check == Check::BolaRead
            && f.target == "getRider"
            && f.title.contains("alice reads bob")),
        "bob's profile is public: reading it is no finding\n{text}"
    );
    // A member calls the administrator's export.
    let f = find(&report, Check::Bfla, "exportRiders", "bob");
    assert_eq!(f.owasp.code(), "API5:2023");
    // Undeclared fields and secrets in profiles.
    let f = find(&report, Check::DataExposure, "getRider", "does not declare");
    for field in ["/password_hash", "/last_login_ip"] {
        assert!(
            f.evidence.fields.iter().any(|x| x == field),
            "{:?}",
            f.evidence.fields
        );
    }
    assert!(
        f.evidence.why.contains("personal data"),
        "{}",
        f.evidence.why
    );
    find(
        &report,
        Check::DataExposure,
        "searchRiders",
        "does not declare",
    );
    // The verbose SQL error with a stack trace.
    let f = find(&report, Check::VerboseError, "getRider", "riderId");
    assert_eq!(f.evidence.probe.status, 500);
    assert!(
        f.evidence.fields.iter().any(|x| x.starts_with("sql")),
        "{:?}",
        f.evidence.fields
    );
    assert!(
        f.evidence
            .fields
            .iter()
            .any(|x| x.starts_with("stack-trace")),
        "{:?}",
        f.evidence.fields
    );
    // The shadow debug endpoint (with its fake secrets) and the zombie v1 route.
    let f = find(
        &report,
        Check::ShadowEndpoint,
        "/api/internal/debug",
        "undeclared",
    );
    for field in ["/api_key", "/database_url", "/jwt_signing_secret"] {
        assert!(
            f.evidence.fields.iter().any(|x| x == field),
            "{:?}",
            f.evidence.fields
        );
    }
    assert_eq!(f.evidence.control.status, 404);
    find(
        &report,
        Check::ShadowEndpoint,
        "/api/v1/riders/2",
        "undeclared",
    );
    // Mass assignment: a readOnly field, the admin-only role, an undeclared key.
    let f = find(&report, Check::MassAssignment, "updateRider", "readOnly");
    assert_eq!(
        f.evidence.steps.len(),
        1,
        "the read-back is part of the proof"
    );
    let f = find(
        &report,
        Check::MassAssignment,
        "updateRider",
        "role-restricted property role",
    );
    assert!(f.evidence.why.contains("\"admin\""), "{}", f.evidence.why);
    find(&report, Check::MassAssignment, "updateRider", "undeclared");
    // bob writes alice's profile.
    let f = find(
        &report,
        Check::BolaWrite,
        "updateRider",
        "bob changes alice",
    );
    assert_eq!(f.evidence.probe.method, "PATCH");
    // X-HTTP-Method-Override is honoured.
    find(
        &report,
        Check::MethodOverride,
        "getRider",
        "x-http-method-override",
    );
    // No limit on object reads.
    find(&report, Check::RateLimit, "getRider", "no rate limit");

    // Zero false positives: the SQL error shows for ANY bad id, so it is a
    // verbose error, not an injection; credentials are ignored altogether,
    // so forged JWTs prove nothing beyond missing authentication.
    for check in [Check::Injection, Check::Jwt, Check::Ssrf, Check::Headers] {
        assert!(
            !report.findings.iter().any(|f| f.check == check),
            "{check:?}\n{text}"
        );
    }
    for f in &report.findings {
        assert_evidence(f, &tokens);
    }

    // Every format renders the same findings.
    let sarif: serde_json::Value =
        serde_json::from_str(&report::render(&report, Format::Sarif)).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        report.findings.len()
    );
    let junit = report::render(&report, Format::Junit);
    assert_eq!(junit.matches("<failure ").count(), report.findings.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_nothing_behind_rampart_with_the_demo_config() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = leaky_api().await;
    let (cfg_path, listener, tokens) = bundle(dir.path(), &upstream).await;
    let target = gateway(&cfg_path, listener).await;
    let spec = cfg_path.with_file_name("riders.openapi.yaml");
    let report = scan(config(&spec, &target, &tokens)).await;
    assert!(
        report.findings.is_empty(),
        "through Rampart:\n{}",
        report::render(&report, Format::Text)
    );
    assert_serves_its_users(&report);
    // What stopped the probes: the rules the gateway logged (see --nocapture).
    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(dir.path().join("security.log")).unwrap_or_default();
        if log.lines().count() >= report.requests {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut rules = BTreeMap::<String, usize>::new();
    for line in log.lines() {
        if let Ok(e) = serde_json::from_str::<serde_json::Value>(line) {
            for r in e["rules"].as_array().into_iter().flatten() {
                *rules
                    .entry(r.as_str().unwrap_or_default().to_string())
                    .or_default() += 1;
            }
        }
    }
    println!("gateway rules fired: {rules:?}");
    // Every check did probe, and the gateway stopped each probe for its own reason.
    for rule in [
        "identity.missing",             // no credentials
        "identity.jwt.algorithm",       // alg none
        "identity.jwt.bad_signature",   // wrong key, tampered, expired
        "authz.object",                 // BOLA read and write
        "authz.view.restricted",        // a private profile seen by another rider
        "authz.function",               // BFLA
        "contract.response.undeclared", // password_hash, last_login_ip stripped
        "contract.body.read-only",      // mass assignment
        "contract.body.undeclared",     // mass assignment
        "authz.write-field",            // role: admin by a member
        "contract.param.type",          // verbose errors, injection
        "contract.route.unknown",       // shadow endpoints
        "normalize.method-override",    // method override
    ] {
        assert!(rules.contains_key(rule), "{rule} never fired: {rules:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_nothing_with_its_own_virtual_patch_applied() {
    // Scan the leaky API directly and emit the patch.
    let dir = tempfile::tempdir().unwrap();
    let direct = leaky_api().await;
    let (cfg_path, listener, tokens) = bundle(dir.path(), &direct).await;
    let spec = cfg_path.with_file_name("riders.openapi.yaml");
    let cfg = config(&spec, &direct, &tokens);
    let found = scan(cfg.clone()).await;
    assert!(!found.findings.is_empty());
    let patch = rampart_scan::cli::patch_for(&found, &cfg, "riders").unwrap();
    let patch_file = dir.path().join("virtual-patch.yaml");
    patch.write(&patch_file).unwrap();
    assert!(
        patch
            .cedar
            .contains("forbid(principal, action == Action::\"exportRiders\""),
        "{}",
        patch.cedar
    );
    assert!(
        patch.cedar.contains("Action::\"listWorkouts\""),
        "{}",
        patch.cedar
    );
    assert!(
        patch.cedar.contains("Action::\"fullView\""),
        "{}",
        patch.cedar
    );
    assert!(
        patch.config["rate_limits"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{}",
        patch.config
    );

    // Apply it to the demo config, in front of a fresh leaky API, and scan again.
    let upstream = leaky_api().await;
    let text = std::fs::read_to_string(&cfg_path)
        .unwrap()
        .replace(&direct, &upstream);
    std::fs::write(&cfg_path, text).unwrap();
    rampart_scan::patch::apply(&cfg_path, &patch).unwrap();
    let target = gateway(&cfg_path, listener).await;
    let report = scan(config(&spec, &target, &tokens)).await;
    assert!(
        report.findings.is_empty(),
        "with the patch:\n{}\npatch:\n{}\n{}",
        report::render(&report, Format::Text),
        patch.yaml("virtual-patch.cedar"),
        patch.cedar
    );
    assert_serves_its_users(&report);
}

/// The demo config with its protections taken away: no Cedar policies, no
/// rate limits, and the gateway only watching (`mode: monitor`).
fn strip_protections(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let mut value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let map = value.as_object_mut().unwrap();
    map.remove("authorization");
    map.remove("rate_limits");
    map.insert("mode".into(), serde_json::json!("monitor"));
    std::fs::write(config, serde_saphyr::to_string(&value).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patch_alone_closes_what_the_scan_found() {
    // Behind a gateway that only watches, the flaws are all still there...
    let dir = tempfile::tempdir().unwrap();
    let upstream = leaky_api().await;
    let (cfg_path, listener, tokens) = bundle(dir.path(), &upstream).await;
    strip_protections(&cfg_path);
    let spec = cfg_path.with_file_name("riders.openapi.yaml");
    let target = gateway(&cfg_path, listener).await;
    let cfg = config(&spec, &target, &tokens);
    let found = scan(cfg.clone()).await;
    for check in [
        Check::BolaRead,
        Check::Bfla,
        Check::DataExposure,
        Check::MassAssignment,
        Check::RateLimit,
    ] {
        assert!(
            found.findings.iter().any(|f| f.check == check),
            "{check:?} through a monitoring gateway:\n{}",
            report::render(&found, Format::Text)
        );
    }
    // ... and the scan's patch, applied to that config, closes every one.
    let patch = rampart_scan::cli::patch_for(&found, &cfg, "riders").unwrap();
    let upstream = leaky_api().await;
    let (cfg_path, listener, tokens) = bundle(&dir.path().join("patched"), &upstream).await;
    strip_protections(&cfg_path);
    rampart_scan::patch::apply(&cfg_path, &patch).unwrap();
    let target = gateway(&cfg_path, listener).await;
    let report = scan(config(&spec, &target, &tokens)).await;
    assert!(
        report.findings.is_empty(),
        "with the patch alone:\n{}\npatch:\n{}\n{}",
        report::render(&report, Format::Text),
        patch.yaml("virtual-patch.cedar"),
        patch.cedar
    );
    assert_serves_its_users(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_scan_sends_nothing_but_get_and_stays_in_budget() {
    // Through the gateway, whose security log records every exchange.
    let dir = tempfile::tempdir().unwrap();
    let upstream = leaky_api().await;
    let (cfg_path, listener, tokens) = bundle(dir.path(), &upstream).await;
    let target = gateway(&cfg_path, listener).await;
    let spec = cfg_path.with_file_name("riders.openapi.yaml");
    let mut cfg = config(&spec, &target, &tokens);
    cfg.allow_writes = false;
    let report = scan(cfg.clone()).await;
    assert!(!report.checks_run.contains(&Check::MassAssignment));
    let mut log = String::new();
    for _ in 0..50 {
        log = std::fs::read_to_string(dir.path().join("security.log")).unwrap_or_default();
        if log.lines().count() >= report.requests {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        log.lines().count(),
        report.requests,
        "one logged exchange per request"
    );
    for line in log.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let method = event["method"].as_str().unwrap_or_default();
        assert!(
            method == "GET" || method == "HEAD",
            "a read-only scan sent {line}"
        );
    }

    // A tiny budget is a hard limit, and the report says it ran out.
    cfg.max_requests = 10;
    let small = scan(cfg).await;
    assert_eq!(small.requests, 10);
    assert!(small.budget_spent);
    assert!(report::render(&small, Format::Text).contains("request budget ran out"));
}
