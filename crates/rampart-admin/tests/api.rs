//! The admin API end to end: a real gateway in front of the demo's leaky
//! API, real sockets, the real audit store (SQLite).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use rampart_demo::tokens::Persona;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Stack};

async fn json_of(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_the_token_and_none_is_on_the_public_listener() {
    let stack = Stack::start("").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/api/v1/status",
        "/api/v1/config",
        "/api/v1/events",
        "/api/v1/blocks",
        "/api/v1/operations",
        "/metrics",
    ] {
        let url = format!("{}{path}", stack.admin);
        let none = client.get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path} without a token");
        assert_eq!(
            none.headers()["www-authenticate"],
            "Bearer realm=\"rampart-admin\""
        );
        assert_eq!(none.headers()["content-type"], "application/problem+json");
        let wrong = client
            .get(&url)
            .bearer_auth("test-admin-token-0123456789abcdef012345678X")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
        let short = client.get(&url).bearer_auth("x").send().await.unwrap();
        assert_eq!(short.status(), 401, "{path} with a short token");
        let cookie = client
            .get(&url)
            .header("cookie", "rampart_session=guessed")
            .send()
            .await
            .unwrap();
        assert_eq!(cookie.status(), 401, "{path} with a made-up session");
        let ok = client
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{path} with the token");
        assert!(
            ok.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        // The public listener knows nothing of the admin routes.
        let public = client
            .get(format!("{}{path}", stack.gateway))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(public.status(), 404, "{path} on the public listener");
    }
    // The dashboard sends a browser without a session to the login page.
    let page = client
        .get(format!("{}/", stack.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_config_and_the_openapi_document() {
    // The demo config ends with the disclosure section: this is its webhook.
    let stack = Stack::start(
        "  webhook:\n    url: http://127.0.0.1:9/services/T0/B0/not-a-real-hook-secret\n",
    )
    .await;
    let (s, status) = json_of(stack.admin_get("/api/v1/status")).await;
    assert_eq!(s, 200);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["apis"][0]["name"], "riders");
    assert_eq!(status["detection"], true);
    assert_eq!(status["store"], "sqlite");
    let (s, config) = json_of(stack.admin_get("/api/v1/config")).await;
    assert_eq!(s, 200);
    let text = config.to_string();
    assert!(!text.contains("not-a-real-hook-secret"), "{text}");
    assert!(!text.contains(ADMIN_TOKEN));
    assert_eq!(
        config["config"]["disclosure"]["webhook"]["url"],
        "http://127.0.0.1:9/[redacted]"
    );
    assert_eq!(config["config"]["apis"][0]["name"], "riders");
    let doc = stack
        .admin_get("/api/v1/openapi.yaml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(doc, rampart_admin::OPENAPI);
}

#[test]
fn the_admin_openapi_document_passes_the_audit_cleanly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/openapi.yaml");
    let report = rampart_audit::audit_file(&path, &rampart_audit::Settings::default()).unwrap();
    let open: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} at {}: {}", f.rule.id(), f.pointer, f.message))
        .collect();
    assert!(open.is_empty(), "{open:#?}");
    assert_eq!(report.score.overall, 100);
    // Every waiver says why.
    assert!(
        report
            .suppressed
            .iter()
            .all(|f| f.suppressed.as_deref().is_some_and(|r| r.len() > 20))
    );
    assert!(report.operations >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_queried_with_the_cli_filters_and_streamed_live() {
    let stack = Stack::start("").await;
    // Open the live stream first, filtered to blocked exchanges.
    let mut live = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/events/stream?decision=blocked",
            stack.admin
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        200
    );
    assert_eq!(
        stack
            .get_as("/api/riders/2/workouts", Some(Persona::Member))
            .await,
        404
    );
    // The stream carries the blocked exchange, and not the allowed one.
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = live.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: exchange") && seen.contains("\n\n") {
                break;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "no live event: {seen}");
    assert!(seen.contains("/api/riders/2/workouts"), "{seen}");
    assert!(!seen.contains("\"/api/riders/4\""), "{seen}");
    // The store has both; the filters of `rampart events` apply.
    let mut events = Value::Null;
    for _ in 0..50 {
        let (s, v) = json_of(stack.admin_get("/api/v1/events?since=5m")).await;
        assert_eq!(s, 200);
        if v["events"].as_array().unwrap().len() >= 2 {
            events = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(events["events"].as_array().unwrap().len(), 2, "{events}");
    let (_, blocked) =
        json_of(stack.admin_get("/api/v1/events?decision=blocked&principal=4")).await;
    let blocked = blocked["events"].as_array().unwrap();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["operation"], "listWorkouts");
    let (_, none) = json_of(stack.admin_get("/api/v1/events?principal=nobody")).await;
    assert!(none["events"].as_array().unwrap().is_empty());
    let (s, bad) = json_of(stack.admin_get("/api/v1/events?decision=maybe")).await;
    assert_eq!(s, 400);
    assert!(bad["detail"].as_str().unwrap().contains("unknown decision"));
    let (s, _) = json_of(stack.admin_get("/api/v1/events?since=yesterday")).await;
    assert_eq!(s, 400);
    let (s, _) = json_of(stack.admin_get("/api/v1/events?colour=red")).await;
    assert_eq!(s, 400, "unknown filters are refused, not ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_block_stops_the_offender_until_it_is_lifted() {
    let stack = Stack::start("").await;
    let client = reqwest::Client::new();
    // Member probes someone else's workouts: an offender.
    for _ in 0..3 {
        assert_eq!(
            stack
                .get_as("/api/riders/2/workouts", Some(Persona::Member))
                .await,
            404
        );
    }
    // The statistics follow the live feed: wait until all three are in.
    let mut member = Value::Null;
    for _ in 0..100 {
        let (_, v) = json_of(stack.admin_get("/api/v1/offenders")).await;
        if let Some(m) = v["offenders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["subject"] == "principal:4")
            && m["blocked"] == 3
        {
            member = m.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(member["blocked"], 3);
    assert_eq!(member["denied_objects"], 3);
    assert_eq!(member["blocked_now"], false);
    // Block the principal for an hour.
    let (s, b) = json_of(
        client
            .post(format!("{}/api/v1/blocks", stack.admin))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "subject": "principal:4", "ttl": "1h", "reason": "probing rider 2" })),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["block"]["subject"], "principal:4");
    // Its own profile is refused now; other riders are not affected.
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        403
    );
    assert_eq!(
        stack.get_as("/api/riders/2", Some(Persona::Owner)).await,
        200
    );
    let (_, blocks) = json_of(stack.admin_get("/api/v1/blocks")).await;
    assert_eq!(blocks["blocks"].as_array().unwrap().len(), 1);
    // Lift it.
    let (s, _) = json_of(
        client
            .delete(format!("{}/api/v1/blocks/principal:4", stack.admin))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        200
    );
    let (s, _) = json_of(
        client
            .delete(format!("{}/api/v1/blocks/principal:4", stack.admin))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(s, 404, "nothing left to lift");
    // Hostile blocks are refused with a reason.
    for bad in [
        json!({ "subject": "nobody", "ttl": "1h" }),
        json!({ "subject": "ip:10.0.0.0/8", "ttl": "1h" }),
        json!({ "subject": "ip:10.0.0.1", "ttl": "forever" }),
        json!({ "subject": "ip:10.0.0.1", "ttl": "400d" }),
        json!({ "subject": "ip:10.0.0.1", "ttl": "1h", "reason": "a\nb" }),
        json!({ "subject": "ip:10.0.0.1", "ttl": "1h", "extra": true }),
    ] {
        let (s, p) = json_of(
            client
                .post(format!("{}/api/v1/blocks", stack.admin))
                .bearer_auth(ADMIN_TOKEN)
                .json(&bad),
        )
        .await;
        assert_eq!(s, 400, "{bad} -> {p}");
        assert!(p["detail"].as_str().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_switched_to_monitor_lets_violations_through_flagged() {
    let stack = Stack::start("").await;
    let client = reqwest::Client::new();
    let path = "/api/riders/2/workouts";
    assert_eq!(stack.get_as(path, Some(Persona::Member)).await, 404);
    let put = |mode: Value| {
        client
            .put(format!(
                "{}/api/v1/operations/riders/listWorkouts/mode",
                stack.admin
            ))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "mode": mode }))
    };
    let (s, v) = json_of(put(json!("monitor"))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(stack.get_as(path, Some(Persona::Member)).await, 200);
    let (_, ops) = json_of(stack.admin_get("/api/v1/operations")).await;
    let op = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "listWorkouts")
        .unwrap();
    assert_eq!(op["mode"], "monitor");
    assert_eq!(op["configured_mode"], "enforce");
    // The switch survives a reload of the config.
    let (s, _) = json_of(
        client
            .post(format!("{}/api/v1/reload", stack.admin))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(stack.get_as(path, Some(Persona::Member)).await, 200);
    // Cleared, the config's mode is back.
    let (s, _) = json_of(put(Value::Null)).await;
    assert_eq!(s, 200);
    assert_eq!(stack.get_as(path, Some(Persona::Member)).await, 404);
    // Unknown operations and modes are refused.
    let (s, _) = json_of(
        client
            .put(format!(
                "{}/api/v1/operations/riders/nope/mode",
                stack.admin
            ))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({ "mode": "off" })),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = json_of(put(json!("lenient"))).await;
    assert_eq!(s, 400);
    // The traffic shows per operation.
    let mut flagged = 0;
    for _ in 0..50 {
        let (_, ops) = json_of(stack.admin_get("/api/v1/operations")).await;
        let op = ops["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["operation"] == "listWorkouts")
            .unwrap()
            .clone();
        flagged = op["traffic"]["flagged"].as_u64().unwrap();
        if op["traffic"]["requests"] == 4 {
            assert_eq!(op["traffic"]["blocked"], 2);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(flagged, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_broken_config_is_refused_and_the_old_one_serves() {
    let stack = Stack::start("").await;
    let good = std::fs::read_to_string(&stack.config).unwrap();
    std::fs::write(
        &stack.config,
        good.replace("mode: enforce", "mode: sometimes"),
    )
    .unwrap();
    let (s, p) = json_of(
        reqwest::Client::new()
            .post(format!("{}/api/v1/reload", stack.admin))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("mode"), "{p}");
    assert_eq!(
        stack
            .get_as("/api/riders/2/workouts", Some(Persona::Member))
            .await,
        404,
        "the last good config still enforces"
    );
}

/// A browser session: the token traded for a cookie, and the CSRF token.
async fn login(stack: &Stack) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{}/login", stack.admin))
        .header("origin", &stack.admin)
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let (_, s) = json_of(client.get(format!("{}/api/v1/session", stack.admin))).await;
    let csrf = s["csrf"].as_str().unwrap().to_owned();
    (client, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_and_writes_without_the_csrf_token_are_refused() {
    let stack = Stack::start("").await;
    let (client, csrf) = login(&stack).await;
    let block = json!({ "subject": "ip:203.0.113.9", "ttl": "10m" });
    let url = format!("{}/api/v1/blocks", stack.admin);
    // Reads work with the cookie alone.
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A write without the CSRF token: what a forged form would send.
    let r = client.post(&url).json(&block).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // A wrong CSRF token.
    let r = client
        .post(&url)
        .header("x-csrf-token", "forged")
        .json(&block)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The right token, but the browser says another site sent it.
    let r = client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .header("origin", "https://evil.example")
        .json(&block)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .header("sec-fetch-site", "cross-site")
        .json(&block)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // None of those landed.
    let (_, blocks) = json_of(stack.admin_get("/api/v1/blocks")).await;
    assert!(blocks["blocks"].as_array().unwrap().is_empty());
    // A same-origin write with the token lands.
    let r = client
        .post(&url)
        .header("x-csrf-token", &csrf)
        .header("origin", &stack.admin)
        .header("sec-fetch-site", "same-origin")
        .json(&block)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A cross-site login is refused too (login CSRF).
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/login", stack.admin))
        .header("origin", "https://evil.example")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A wrong token at login opens no session.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/login", stack.admin))
        .form(&[("token", "test-admin-token-0123456789abcdef01234567XX")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?failed");
    assert!(r.headers().get("set-cookie").is_none());
    // Logging out ends the session server-side.
    let r = client
        .post(format!("{}/logout", stack.admin))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_run_in_place_or_uploaded() {
    let stack = Stack::start("").await;
    let (s, audit) = json_of(stack.admin_get("/api/v1/reports/audit")).await;
    assert_eq!(s, 200);
    assert_eq!(audit["specs"][0]["title"], "Riders API (Rampart demo)");
    assert!(audit["specs"][0]["score"]["overall"].as_u64().is_some());
    let client = reqwest::Client::new();
    let (s, _) = json_of(stack.admin_get("/api/v1/reports/scan")).await;
    assert_eq!(s, 404);
    let report = json!({ "target": "http://x", "findings": [ { "check": "bola.read", "severity": "high" } ] });
    let r = client
        .put(format!("{}/api/v1/reports/scan", stack.admin))
        .bearer_auth(ADMIN_TOKEN)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, got) = json_of(stack.admin_get("/api/v1/reports/scan")).await;
    assert_eq!(s, 200);
    assert_eq!(got, report);
    let r = client
        .put(format!("{}/api/v1/reports/scan", stack.admin))
        .bearer_auth(ADMIN_TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .put(format!("{}/api/v1/reports/scan", stack.admin))
        .bearer_auth(ADMIN_TOKEN)
        .body(vec![b' '; rampart_admin::api::MAX_REPORT_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

/// The value of a metric line `name{labels} value` in an exposition.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_store_lag_limiter_and_upstream_health() {
    let stack = Stack::start("").await;
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        200
    );
    let text = stack
        .admin_get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&text, "rampart_upstream_up{api=\"riders\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "rampart_upstream_consecutive_failures{api=\"riders\"}"
        ),
        Some(0.0)
    );
    assert!(
        metric(
            &text,
            "rampart_upstream_last_success_timestamp_seconds{api=\"riders\"}"
        )
        .unwrap()
            > 1.7e9
    );
    assert!(
        metric(&text, "rampart_store_lag_seconds").is_some(),
        "{text}"
    );
    assert!(metric(&text, "rampart_store_queue_depth").is_some());
    assert!(
        metric(&text, "rampart_limiter_checks_total").is_some(),
        "{text}"
    );
    assert!(metric(&text, "rampart_detector_tracked_subjects").unwrap() >= 1.0);
    // Point the API at a closed port: the upstream goes down, and the
    // health survives the reload that did it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let text = std::fs::read_to_string(&stack.config).unwrap();
    std::fs::write(
        &stack.config,
        text.replace(&stack.upstream, &format!("http://{closed}")),
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/reload", stack.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        assert_eq!(
            stack.get_as("/api/riders/4", Some(Persona::Member)).await,
            502
        );
    }
    let text = stack
        .admin_get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&text, "rampart_upstream_up{api=\"riders\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "rampart_upstream_consecutive_failures{api=\"riders\"}"
        ),
        Some(2.0)
    );
    assert!(
        metric(
            &text,
            "rampart_upstream_last_success_timestamp_seconds{api=\"riders\"}"
        )
        .unwrap()
            > 1.7e9
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_filed_on_the_public_listener_reach_the_disclosure_queue() {
    let stack = Stack::start("").await;
    let client = reqwest::Client::new();
    // security.txt and the report form are the gateway's own pages.
    let txt = client
        .get(format!("{}/.well-known/security.txt", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(txt.status(), 200);
    assert!(
        txt.text()
            .await
            .unwrap()
            .contains("Contact: mailto:security@riders.example")
    );
    let filed = client
        .post(format!("{}/disclosures/report", stack.gateway))
        .json(&json!({
            "title": "Any member can read private profiles",
            "description": "GET /api/riders/2 with rider 4's token returns rider 2's private profile.",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let filed: Value = filed.json().await.unwrap();
    let status_url = filed["status_url"].as_str().unwrap().to_owned();
    let token = filed["token"].as_str().unwrap().to_owned();
    let page = client
        .get(format!("{}{status_url}", stack.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // The queue shows it, with its SLA clock.
    let (s, q) = json_of(stack.admin_get("/api/v1/disclosures")).await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["sla_days"], 90);
    assert_eq!(q["overdue"], 0);
    let r = &q["reports"][0];
    assert_eq!(r["report"]["title"], "Any member can read private profiles");
    assert_eq!(r["report"]["state"], "received");
    let left = r["sla"]["days_left"].as_i64().unwrap();
    assert!((89..=90).contains(&left), "{left}");
    assert!(
        !q.to_string().contains(&token),
        "the status token never leaves the tracker"
    );
    let id = r["report"]["id"].as_i64().unwrap();
    let (s, one) = json_of(stack.admin_get(&format!("/api/v1/disclosures/{id}"))).await;
    assert_eq!(s, 200);
    assert_eq!(one["history"][0]["to"], "received");
    let (s, _) = json_of(stack.admin_get("/api/v1/disclosures/999")).await;
    assert_eq!(s, 404);
    // The status token is a secret: the audit trail keeps the path without it.
    let mut events = Value::Null;
    for _ in 0..50 {
        let (_, v) = json_of(stack.admin_get("/api/v1/events?since=5m")).await;
        if v["events"].as_array().unwrap().len() >= 3 {
            events = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = events.to_string();
    assert!(text.contains("/disclosures/status/[token]"), "{text}");
    assert!(!text.contains(&token), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_shows_shadow_routes_zombies_and_sensitive_fields() {
    let stack = Stack::start("store:\n  field_sample_every: 1\n  batch_max_delay_ms: 5\n").await;
    assert_eq!(
        stack.get_as("/api/riders/2", Some(Persona::Owner)).await,
        200
    );
    for id in [3, 5, 7] {
        assert_eq!(
            stack
                .get_as(&format!("/api/v1/riders/{id}"), Some(Persona::Member))
                .await,
            404
        );
    }
    // The field sampler flushes every 10 s, and the store batches: poll.
    let mut inv = Value::Null;
    for _ in 0..150 {
        let (s, v) = json_of(stack.admin_get("/api/v1/inventory?since=1h")).await;
        assert_eq!(s, 200, "{v}");
        let api = &v["apis"][0];
        let has_shadow = api["shadow"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["template"] == "/api/v1/riders/{id}" && s["calls"] == 3);
        let has_email = api["operations"].as_array().unwrap().iter().any(|o| {
            o["operation"] == "getRider"
                && o["sensitive_fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["pointer"] == "/email" && f["class"] == "email")
        });
        if has_shadow && has_email {
            inv = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !inv.is_null(),
        "the inventory never showed the shadow route and the email field"
    );
    let zombies = &inv["apis"][0]["zombies"]["never_called"];
    assert!(
        zombies
            .as_array()
            .unwrap()
            .iter()
            .any(|z| z == "exportRiders"),
        "{zombies}"
    );
    let (s, _) = json_of(stack.admin_get("/api/v1/inventory?since=soon")).await;
    assert_eq!(s, 400);
}
