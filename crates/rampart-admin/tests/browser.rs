//! The dashboard in a real headless Chromium (Debian's `chromium`, driven
//! through `chromedriver` over WebDriver): log in, watch live events arrive,
//! block an offender and see the gateway refuse it, switch an operation to
//! monitor mode; and attacker-controlled event contents render inert.
//!
//! `.ci/run` installs `chromium` and `chromium-driver`. Without them these
//! tests fail and say so; set `RAMPART_SKIP_BROWSER_TESTS=1` to skip them
//! knowingly on a machine that cannot have a browser.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use rampart_demo::tokens::Persona;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Stack};

struct Browser {
    client: Client,
    driver: tokio::process::Child,
}

fn skip() -> bool {
    if std::env::var_os("RAMPART_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("SKIPPED: RAMPART_SKIP_BROWSER_TESTS is set");
        return true;
    }
    false
}

async fn browser() -> Browser {
    let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let driver = tokio::process::Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {driver_bin} ({e}): install Debian's chromium and chromium-driver \
                 (.ci/run does), or set RAMPART_SKIP_BROWSER_TESTS=1"
            )
        });
    let caps: serde_json::Map<String, Value> = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"]
        }
    })
    .as_object()
    .unwrap()
    .clone();
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Browser { client, driver },
            Err(e) => last = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start a session: {last:?}");
}

impl Browser {
    async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }

    /// Evaluate `expr` in the page until it is truthy (10 s at most).
    async fn until(&self, what: &str, expr: &str) -> Value {
        let script = format!("return ({expr});");
        for _ in 0..100 {
            if let Ok(v) = self.client.execute(&script, vec![]).await
                && !matches!(v, Value::Null | Value::Bool(false))
                && v != json!(0)
                && v != json!("")
            {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let html = self.client.source().await.unwrap_or_default();
        panic!("timed out waiting for {what} ({expr}); page: {html}");
    }

    async fn login(&self, admin: &str) {
        self.client.goto(&format!("{admin}/")).await.unwrap();
        // No session: the dashboard sends the browser to the login page.
        self.until("the login page", "document.body.id === 'login-page'")
            .await;
        let token = self.client.find(Locator::Id("token")).await.unwrap();
        token.send_keys(ADMIN_TOKEN).await.unwrap();
        self.client
            .find(Locator::Id("login-submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.until("the dashboard", "document.body.dataset.ready === 'true'")
            .await;
    }

    async fn view(&self, admin: &str, name: &str) {
        self.client.goto(&format!("{admin}/#{name}")).await.unwrap();
        self.until(
            "the view",
            &format!(
                "document.body.dataset.ready === 'true' && !document.getElementById('view-{name}').hidden"
            ),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_watches_blocks_and_switches_modes_from_the_dashboard() {
    if skip() {
        return;
    }
    let stack = Stack::start("").await;
    let b = browser().await;
    b.login(&stack.admin).await;
    // A wrong token would not have got here; the session cookie is HttpOnly.
    assert_eq!(
        b.client
            .execute("return document.cookie", vec![])
            .await
            .unwrap(),
        json!(""),
        "scripts cannot read the session cookie"
    );

    // Live events: traffic made after the page opened appears without a reload.
    b.view(&stack.admin, "events").await;
    b.until(
        "the live stream",
        "document.getElementById('stream-state').textContent === 'live'",
    )
    .await;
    assert_eq!(
        stack
            .get_as("/api/riders/2/workouts", Some(Persona::Member))
            .await,
        404
    );
    b.until(
        "the live event",
        "[...document.querySelectorAll('#events-table tbody tr')].some(r => r.textContent.includes('/api/riders/2/workouts') && r.textContent.includes('blocked'))",
    )
    .await;

    // The offender shows; one click blocks it, and the gateway refuses it.
    b.view(&stack.admin, "offenders").await;
    b.until(
        "the offender",
        "document.querySelector('button.block[data-subject=\"principal:4\"]') !== null",
    )
    .await;
    b.click("button.block[data-subject=\"principal:4\"]").await;
    b.until(
        "the block in force",
        "[...document.querySelectorAll('#blocks-table tbody tr')].some(r => r.textContent.includes('principal:4'))",
    )
    .await;
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        403
    );
    assert_eq!(
        stack.get_as("/api/riders/2", Some(Persona::Owner)).await,
        200
    );

    // Unblock from the block list.
    b.click("#blocks-table button.unblock[data-subject=\"principal:4\"]")
        .await;
    b.until(
        "the block lifted",
        "document.querySelectorAll('#blocks-table tbody tr').length === 0",
    )
    .await;
    assert_eq!(
        stack.get_as("/api/riders/4", Some(Persona::Member)).await,
        200
    );

    // Switch listWorkouts to monitor: the member's read of rider 2's
    // workouts is let through (and flagged) instead of refused.
    b.view(&stack.admin, "operations").await;
    b.until(
        "the operations",
        "document.querySelector('select.mode[data-operation=\"listWorkouts\"]') !== null",
    )
    .await;
    b.client
        .execute(
            "const s = document.querySelector('select.mode[data-operation=\"listWorkouts\"]'); \
             s.value = 'monitor'; s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    b.until(
        "the switch confirmed",
        "document.getElementById('flash').textContent.includes('listWorkouts: monitor')",
    )
    .await;
    assert_eq!(
        stack
            .get_as("/api/riders/2/workouts", Some(Persona::Member))
            .await,
        200
    );
    let ops: Value = stack
        .admin_get("/api/v1/operations")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "listWorkouts")
        .unwrap();
    assert_eq!(op["override"], "monitor");

    // The overview charts what happened.
    b.view(&stack.admin, "overview").await;
    let total = b
        .until(
            "the overview",
            "Number(document.getElementById('card-total').textContent) >= 5 && document.getElementById('card-total').textContent",
        )
        .await;
    assert!(total.as_str().unwrap().parse::<u64>().unwrap() >= 5);
    assert!(
        b.until(
            "the chart",
            "document.querySelectorAll('#chart-requests svg rect').length"
        )
        .await
        .as_u64()
        .unwrap()
            >= 60
    );
    b.close().await;
}

/// Attacker-controlled text in events: a principal (a token's `sub`), a
/// path and a property name carrying markup. The dashboard must show it as
/// text and run none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_payloads_in_events_render_inert() {
    if skip() {
        return;
    }
    let stack = Stack::start("").await;
    let payload = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";
    // A validly signed token whose subject is the payload.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(rampart_demo::tokens::KID.into());
    let token = jsonwebtoken::encode(
        &header,
        &json!({ "iss": "rampart-demo", "aud": "riders", "sub": payload, "role": "member",
                 "iat": now, "exp": now + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(stack.secret.as_bytes()),
    )
    .unwrap();
    let client = reqwest::Client::new();
    // Refused requests, so the payload lands in events and offenders.
    let r = client
        .get(format!("{}/api/admin/export", stack.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = client
        .get(format!(
            "{}/api/riders/%3Cscript%3Ewindow.__xss%3D3%3C%2Fscript%3E",
            stack.gateway
        ))
        .bearer_auth(stack.token(Persona::Member))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = client
        .patch(format!("{}/api/riders/4", stack.gateway))
        .bearer_auth(stack.token(Persona::Member))
        .header("content-type", "application/json")
        .body(format!(
            "{{{}: 1}}",
            serde_json::to_string(payload).unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());

    // A disclosure report whose title and description are markup.
    let r = client
        .post(format!("{}/disclosures/report", stack.gateway))
        .json(&json!({ "title": payload, "description": payload }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let b = browser().await;
    b.login(&stack.admin).await;
    b.view(&stack.admin, "disclosures").await;
    b.until(
        "the hostile report",
        "[...document.querySelectorAll('#disclosures-table tbody tr')].some(r => r.textContent.includes('onerror'))",
    )
    .await;
    b.click("#disclosures-table tbody tr.disclosure td").await;
    b.until(
        "the hostile report's page",
        "document.getElementById('disclosure-description').textContent.includes('<script>')",
    )
    .await;
    b.view(&stack.admin, "events").await;
    b.until(
        "the hostile events",
        "document.querySelectorAll('#events-table tbody tr').length >= 3",
    )
    .await;
    b.view(&stack.admin, "offenders").await;
    b.until(
        "the hostile offender",
        "[...document.querySelectorAll('#offenders-table tbody tr')].some(r => r.textContent.includes('onerror'))",
    )
    .await;
    b.view(&stack.admin, "events").await;
    b.until(
        "the hostile events again",
        "document.querySelectorAll('#events-table tbody tr').length >= 3",
    )
    .await;
    // Give an injected image a moment to fail and fire its handler.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = b
        .client
        .execute(
            "return { xss: window.__xss === undefined ? null : window.__xss, \
                      imgs: document.querySelectorAll('main img').length, \
                      scripts: document.querySelectorAll('main script').length, \
                      shown: document.querySelector('main').textContent.includes('<img src=x onerror') };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state["xss"], Value::Null, "a payload ran: {state}");
    assert_eq!(state["imgs"], 0, "{state}");
    assert_eq!(state["scripts"], 0, "{state}");
    assert_eq!(state["shown"], true, "the payload shows as text: {state}");
    b.close().await;
}
