//! `rampart demo` starts, and every curl command it prints behaves as printed:
//! each leak shows directly, and the same request is stopped or stripped
//! through Rampart. The commands are run literally with `sh -c`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::process::Command;

use rampart_demo::walkthrough::steps;
use support::Proc;

fn url_after(line: &str, label: &str) -> String {
    line.split(label)
        .nth(1)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
}

/// Run a printed `curl -si ...` command after the printed `export` lines;
/// return (status, whole output).
fn run_curl(exports: &str, cmd: &str) -> (u16, String) {
    assert!(cmd.starts_with("curl -si "), "{cmd}");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{exports}\n{cmd}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line from {cmd}: {text}"));
    (status, text)
}

#[test]
fn every_printed_curl_command_behaves_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Proc::start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--upstream-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    let dashboard = url_after(&demo.stdout_line("dashboard:"), "dashboard:");
    let admin_token = url_after(&demo.stdout_line("dashboard token:"), "token:");
    let upstream = url_after(&demo.stdout_line("leaky sample API (direct):"), "(direct):");
    let gateway = url_after(&demo.stdout_line("through Rampart:"), "through Rampart:");
    let mut exports = String::new();
    loop {
        let line = demo.stdout_line("");
        if line.starts_with("export ") {
            exports.push_str(&line);
            exports.push('\n');
        }
        if line.contains("Press Ctrl-C to stop.") {
            break;
        }
    }
    assert_eq!(
        exports.lines().count(),
        3,
        "three tokens are printed:\n{exports}"
    );
    let all = steps();
    assert!(all.len() >= 8, "the tour shows every leak");
    for step in all {
        let (status, body) = run_curl(&exports, &step.call.to_curl(&upstream));
        assert_eq!(
            status, step.direct_status,
            "{} (direct)\n{body}",
            step.title
        );
        if let Some(shows) = step.direct_shows {
            assert!(
                body.contains(shows),
                "{} (direct) should show {shows}:\n{body}",
                step.title
            );
        }
        let (status, body) = run_curl(&exports, &step.call.to_curl(&gateway));
        assert_eq!(
            status, step.through_status,
            "{} (through Rampart)\n{body}",
            step.title
        );
        if let Some(shows) = step.through_shows {
            assert!(
                body.contains(shows),
                "{} (through Rampart) should show {shows}:\n{body}",
                step.title
            );
        }
        if let Some(hides) = step.through_hides {
            assert!(
                !body.contains(hides),
                "{} (through Rampart) leaked {hides}:\n{body}",
                step.title
            );
        }
        assert!(
            body.to_ascii_lowercase().contains("x-request-id:"),
            "{}: every answer through Rampart carries a request id",
            step.title
        );
    }
    // The demo opens onto the dashboard: the printed URL and token work, and
    // the tour's traffic shows there (the login page needs no token).
    let admin = |path: &str, token: Option<&str>| {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
        if let Some(t) = token {
            cmd.args(["-H", &format!("authorization: Bearer {t}")]);
        }
        let out = cmd.arg(format!("{dashboard}{path}")).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(admin("login", None), "200");
    assert_eq!(admin("api/v1/status", None), "401");
    assert_eq!(admin("api/v1/status", Some(&admin_token)), "200");
    let ops = Command::new("curl")
        .args(["-s", "-H", &format!("authorization: Bearer {admin_token}")])
        .arg(format!("{dashboard}api/v1/operations"))
        .output()
        .unwrap();
    let ops: serde_json::Value = serde_json::from_slice(&ops.stdout).unwrap();
    let seen: u64 = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["traffic"]["requests"].as_u64().unwrap())
        .sum();
    assert!(seen >= 8, "the tour's exchanges show per operation: {ops}");
    assert!(demo.stop().success());
    let log = std::fs::read_to_string(dir.path().join("security.log")).unwrap();
    assert!(
        log.lines().count() >= 8,
        "one security event per exchange:\n{log}"
    );
    assert!(log.contains("\"decision\":\"blocked\""), "{log}");
    assert!(log.contains("\"decision\":\"modified\""), "{log}");
}
