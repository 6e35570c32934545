//! The whole Peloton story, end to end, with the real binary: a private
//! profile leaks through a gateway whose profile read was left in monitor
//! mode (the "login required" half-fix); a researcher reports it through
//! the public form; the operator triages it to the rider-profile
//! operation, applies a virtual patch that hot reload picks up, and the
//! leak is measurably closed through the gateway; a targeted `rampart
//! scan` run is the verification evidence; the researcher's status page
//! shows every step and the operator's webhook gets every notification.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_demo::tokens::{Persona, Tokens};
use serde_json::Value;
use support::{Proc, client};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_CONFIG")
        .env("RAMPART_ACTOR", "oncall")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// A webhook receiver: every POST body, in order.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sink = sink.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let sink = sink.clone();
                        async move {
                            use http_body_util::BodyExt;
                            let signed = req
                                .headers()
                                .keys()
                                .any(|k| k.as_str().contains("signature"));
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let mut v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            v["_signed"] = Value::Bool(signed);
                            sink.lock().unwrap().push(v);
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::new()),
                            ))
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
            });
        }
    });
    (url, got)
}

/// Rider 2's profile as the member (rider 4) sees it through the gateway.
async fn members_view_of_rider_2(gw: &str, tokens: &Tokens) -> Value {
    let r = client()
        .get(format!("{gw}/api/riders/2"))
        .bearer_auth(tokens.get(Persona::Member))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn scan(dir: &std::path::Path, gw: &str, tokens: &Tokens, evidence: &str) -> Value {
    let spec = dir.join("riders.openapi.yaml");
    let alice = format!("alice=bearer:{}", tokens.get(Persona::Owner));
    let bob = format!("bob=bearer:{}", tokens.get(Persona::Member));
    let ev = dir.join(evidence);
    let out = rampart(&[
        "scan",
        "--spec",
        spec.to_str().unwrap(),
        "--target",
        gw,
        "--identity",
        &alice,
        "--identity",
        &bob,
        "--quiet",
        "--format",
        "json",
        "--output",
        dir.join("scan.json").to_str().unwrap(),
        "--evidence-out",
        ev.to_str().unwrap(),
        "--verify-check",
        "bola-read",
        "--verify-operation",
        "getRider",
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&ev).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_goes_from_the_public_form_to_a_verified_fix() {
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    tokio::spawn(rampart_demo::sample_api::run(upstream));
    let (hook, notifications) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = rampart_demo::tokens::new_secret().unwrap();
    let tokens = Tokens::mint_all(&secret).unwrap();
    let config = rampart_demo::write_bundle(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        &upstream_url,
        dir.path().join("security.log").to_str().unwrap(),
        &secret,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hook.secret"),
        "0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let fixed = std::fs::read_to_string(&config).unwrap()
        + &format!("  webhook:\n    url: \"{hook}\"\n    secret_file: ./hook.secret\n");
    // The half-fix: login required, but the profile read only monitored.
    let leaky = fixed.replacen(
        &format!("    upstream: \"{upstream_url}\"\n"),
        &format!(
            "    upstream: \"{upstream_url}\"\n    operations:\n      getRider: {{mode: monitor}}\n"
        ),
        1,
    );
    assert_ne!(leaky, fixed);
    std::fs::write(&config, &leaky).unwrap();
    let cfg = config.to_str().unwrap();
    let proc = Proc::start(&["serve", "--config", cfg]);
    let line = proc.stderr_line("rampart is serving");
    let gw = format!("http://{}", line.split("listen=").nth(1).unwrap().trim());

    // The leak: a member reads rider 2's private details.
    let before = members_view_of_rider_2(&gw, &tokens).await;
    assert!(before.get("age").is_some(), "the leak is there: {before}");
    let failing = scan(dir.path(), &gw, &tokens, "evidence-before.json");
    assert_eq!(
        failing["passed"], false,
        "the scan sees the leak: {failing}"
    );

    // 1. The researcher reports it through the public form.
    let filed: Value = client()
        .post(format!("{gw}/disclosures/report"))
        .json(&serde_json::json!({
            "title": "Any member can read any private rider profile",
            "description": "GET /api/riders/2 with a member's token returns age, gender and city of a private profile.",
            "endpoint": "GET /api/riders/{riderId}",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status_url = format!("{gw}{}", filed["status_url"].as_str().unwrap());
    let id = filed["id"].to_string();

    // 2. Triage to the rider-profile operation.
    ok(&rampart(&[
        "disclosures",
        "-c",
        cfg,
        "triage",
        &id,
        "--severity",
        "high",
        "--operation",
        "getRider",
        "--check",
        "bola-read",
        "--note",
        "Confirmed: object-level authorization missing on profile reads.",
    ]));
    // A verification before the fix is refused: the scan still fails.
    let refused = rampart(&[
        "disclosures",
        "-c",
        cfg,
        "verify",
        &id,
        "--evidence",
        dir.path().join("evidence-before.json").to_str().unwrap(),
    ]);
    assert!(!refused.status.success());

    // 3. The virtual patch: the profile read back in enforce mode, applied
    // through hot reload; the leak is closed through the gateway.
    let patch = dir.path().join("patch.yaml");
    std::fs::write(&patch, &fixed).unwrap();
    ok(&rampart(&[
        "disclosures",
        "-c",
        cfg,
        "mitigate",
        &id,
        "--patch",
        patch.to_str().unwrap(),
        "--description",
        "Profile reads enforce object-level authorization at the gateway.",
        "--apply",
    ]));
    let mut closed = Value::Null;
    for _ in 0..100 {
        let v = members_view_of_rider_2(&gw, &tokens).await;
        if v.get("age").is_none() {
            closed = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!closed.is_null(), "hot reload never closed the leak");
    assert_eq!(
        closed["username"], before["username"],
        "the public part still shows"
    );

    // 4. Fixed upstream (recorded), 5. verified by a targeted scan.
    ok(&rampart(&[
        "disclosures",
        "-c",
        cfg,
        "fix",
        &id,
        "--note",
        "Upstream authorization shipped.",
    ]));
    let passing = scan(dir.path(), &gw, &tokens, "evidence-after.json");
    assert_eq!(passing["passed"], true, "{passing}");
    assert!(passing["details"]["baseline_reads"].as_u64().unwrap() > 0);
    ok(&rampart(&[
        "disclosures",
        "-c",
        cfg,
        "verify",
        &id,
        "--evidence",
        dir.path().join("evidence-after.json").to_str().unwrap(),
    ]));
    ok(&rampart(&[
        "disclosures",
        "-c",
        cfg,
        "disclose",
        &id,
        "--note",
        "Advisory RIDERS-2026-01.",
    ]));

    // The tracker kept the evidence, and the history has every step.
    let shown: Value = serde_json::from_str(
        &ok(&rampart(&["disclosures", "-c", cfg, "show", &id, "--json"]))
            .lines()
            .filter(|l| !l.starts_with("verification"))
            .collect::<String>(),
    )
    .unwrap_or(Value::Null);
    let text = shown.to_string();
    for state in [
        "received",
        "triaged",
        "mitigated",
        "fixed",
        "verified",
        "disclosed",
    ] {
        assert!(
            text.contains(&format!("\"{state}\"")),
            "{state} missing: {text}"
        );
    }
    assert!(text.contains("bola-read"), "the evidence is stored: {text}");

    // The researcher's status page shows each step.
    let page: Value = client()
        .get(&status_url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page_text = page.to_string();
    for state in [
        "received",
        "triaged",
        "mitigated",
        "fixed",
        "verified",
        "disclosed",
    ] {
        assert!(
            page_text.contains(state),
            "status page lacks {state}: {page_text}"
        );
    }
    assert!(
        !page_text.contains("oncall"),
        "operators' names stay private"
    );

    // The operator's webhook got every change, signed.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = notifications.lock().unwrap().clone();
        if got.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(got.iter().all(|n| n["_signed"] == true), "{got:?}");
    drop(proc);
}
