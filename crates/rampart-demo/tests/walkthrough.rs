//! The printed tour is true: run in order against the sample API, every
//! step's direct call gets the promised status and shows the promised leak,
//! and the printed curl commands survive the shell byte for byte.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod common;

use common::{client, spawn};
use rampart_demo::sample_api;
use rampart_demo::tokens::{Tokens, new_secret};
use rampart_demo::walkthrough::{Call, render, steps};

async fn send(base: &str, call: &Call) -> (u16, String) {
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).unwrap();
    let mut request = client().request(method, format!("{base}{}", call.path));
    if call.auth.is_some() {
        // The leaky API accepts any token; the gateway tests send real ones.
        request = request.header("authorization", "Bearer any");
    }
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn every_step_leaks_directly_as_printed() {
    let base = spawn(sample_api::run).await;
    for (number, step) in (1..).zip(steps()) {
        let (status, body) = send(&base, &step.call).await;
        assert_eq!(status, step.direct_status, "step {number}: {body}");
        if let Some(shows) = step.direct_shows {
            assert!(
                body.contains(shows),
                "step {number} should show {shows}: {body}"
            );
        }
    }
}

#[test]
fn steps_promise_a_block_or_a_strip_for_every_leak() {
    let steps = steps();
    assert!(steps.len() >= 14);
    for step in &steps {
        assert!(step.direct_shows.is_some(), "{}", step.title);
        let stopped = step.through_status >= 400;
        let hidden = step.through_status == 200 && step.through_hides.is_some();
        assert!(stopped || hidden, "{}", step.title);
    }
}

/// Run the printed command in `sh` with `curl` replaced by a function that
/// prints its arguments, one per NUL-terminated record.
fn shell_args(command: &str) -> Vec<String> {
    let script = format!("curl() {{ printf '%s\\0' \"$@\"; }}\n{command}\n");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout.split_terminator('\0').map(str::to_owned).collect()
}

#[test]
fn curl_quoting_survives_quotes_dollars_backticks_and_newlines() {
    let body =
        "{\"name\":\"it's \\\"me\\\"\",\"cmd\":\"$(touch /tmp/pwned) `id` $HOME\",\"nl\":\"a\nb\"}";
    let call = Call {
        method: "PATCH",
        path: "/api/riders/3?x=1&y='2'".to_owned(),
        auth: None,
        headers: vec![("x-note", "semi; colon's $x".to_owned())],
        body: Some(body.to_owned()),
    };
    let args = shell_args(&call.to_curl("http://127.0.0.1:3000"));
    assert_eq!(
        args,
        [
            "-si",
            "-X",
            "PATCH",
            "http://127.0.0.1:3000/api/riders/3?x=1&y='2'",
            "-H",
            "x-note: semi; colon's $x",
            "--data-raw",
            body,
        ]
    );
}

#[test]
fn every_printed_command_parses_in_the_shell() {
    for step in steps() {
        let args = shell_args(&step.call.to_curl("http://127.0.0.1:8080"));
        assert!(
            args.contains(&format!("http://127.0.0.1:8080{}", step.call.path)),
            "{args:?}"
        );
        if let Some(body) = &step.call.body {
            assert_eq!(args.last(), Some(body));
        }
    }
    let tokens = Tokens::mint_all(&new_secret().unwrap()).unwrap();
    let text = render("http://127.0.0.1:8080", "http://127.0.0.1:3000", &tokens);
    assert!(
        text.contains("curl -si http://127.0.0.1:3000/api/riders/2\n"),
        "{text}"
    );
    let authed = steps().into_iter().find(|s| s.call.auth.is_some()).unwrap();
    let script = format!(
        "MEMBER=tok123 OWNER=o ADMIN=a; {}",
        authed.call.to_curl("http://h")
    );
    assert!(shell_args(&script).contains(&"Authorization: Bearer tok123".to_string()));
}
