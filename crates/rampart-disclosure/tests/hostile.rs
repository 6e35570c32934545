//! Hostile reports: oversize bodies, script payloads, floods from one
//! address, a flood against the open-report cap, broken encodings and
//! guessed status tokens. Each is rejected or stored inert.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use rampart_config::DisclosureConfig;
use rampart_disclosure::{Action, Disclosures, Intake, Tracker};

struct Harness {
    _dir: tempfile::TempDir,
    desk: Arc<Disclosures>,
    base: String,
    http: reqwest::Client,
}

async fn harness(per_ip_per_hour: u32, max_open_reports: u64) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DisclosureConfig::default();
    config.intake.enabled = true;
    config.intake.max_body_bytes = 4096;
    config.intake.per_ip_per_hour = per_ip_per_hour;
    config.intake.max_open_reports = max_open_reports;
    let tracker = Tracker::sqlite(&dir.path().join("disclosures.db"))
        .await
        .unwrap();
    let ops: BTreeSet<String> = ["getRider".to_owned()].into();
    let desk = Arc::new(Disclosures::new(tracker, &config, ops));
    let intake = Arc::new(Intake::new(&config, desk.clone()).unwrap());
    let addr: SocketAddr = support::serve_intake(intake).await;
    Harness {
        _dir: dir,
        desk,
        base: format!("http://{addr}/disclosures"),
        http: support::client(),
    }
}

impl Harness {
    async fn post(&self, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}/report", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn stored(&self) -> usize {
        self.desk.tracker().list(None).await.unwrap().len()
    }
}

async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

#[tokio::test]
async fn an_oversize_report_is_a_413_problem_and_nothing_is_stored() {
    let h = harness(100, 100).await;
    let huge = support::report_json("big", &"A".repeat(10 * 1024 * 1024));
    let body = problem(h.post("application/json", huge).await, 413).await;
    assert!(body["detail"].as_str().unwrap().contains("4096"));
    // Just over the limit is refused too, just under is accepted.
    let overhead = support::report_json("t", "").len();
    let over = support::report_json("t", &"x".repeat(4097 - overhead));
    assert_eq!(over.len(), 4097);
    problem(h.post("application/json", over).await, 413).await;
    let under = support::report_json("t", &"x".repeat(4000));
    assert_eq!(h.post("application/json", under).await.status(), 201);
    assert_eq!(h.stored().await, 1);
}

#[tokio::test]
async fn script_payloads_are_stored_as_plain_text_and_render_inert() {
    let h = harness(100, 100).await;
    let title = "\"><svg onload=alert(1)>";
    let description =
        "<script>alert(document.cookie)</script>\n<img src=x onerror=alert(1)> & 'quotes'";
    let filed = h
        .post(
            "application/x-www-form-urlencoded",
            format!(
                "title={}&description={}",
                encode(title),
                encode(description)
            ),
        )
        .await;
    assert_eq!(filed.status(), 201);
    assert!(
        filed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let location = filed.headers()["location"].to_str().unwrap().to_owned();
    // Stored exactly as sent: plain text, not sanitized or interpreted.
    let stored = &h.desk.tracker().list(None).await.unwrap()[0];
    assert_eq!(stored.submitted.title, title);
    assert_eq!(stored.submitted.description, description);
    // Rendered escaped, under a CSP that forbids script anyway.
    let page = h
        .http
        .get(format!(
            "http://{}{location}",
            h.base
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    for live in ["<script", "<svg", "<img", "onerror=alert(1)>"] {
        assert!(!html.contains(live), "{live} rendered live:\n{html}");
    }
    assert!(
        html.contains("&lt;script&gt;alert(document.cookie)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&quot;&gt;&lt;svg onload=alert(1)&gt;"),
        "{html}"
    );
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_flood_from_one_address_is_rate_limited_with_retry_after() {
    let h = harness(3, 100).await;
    for i in 0..3 {
        let r = h
            .post(
                "application/json",
                support::report_json(&format!("r{i}"), "d"),
            )
            .await;
        assert_eq!(r.status(), 201, "report {i}");
    }
    for _ in 0..20 {
        let r = h
            .post("application/json", support::report_json("flood", "d"))
            .await;
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
        problem(r, 429).await;
    }
    // Junk counts too: the limiter runs before any parsing.
    problem(h.post("application/json", "not json").await, 429).await;
    assert_eq!(h.stored().await, 3);
}

#[tokio::test]
async fn the_open_report_cap_holds_under_a_concurrent_flood() {
    let h = Arc::new(harness(1000, 5).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.post(
                "application/json",
                support::report_json(&format!("r{i}"), "d"),
            )
            .await
            .status()
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        35,
        "{statuses:?}"
    );
    assert_eq!(h.stored().await, 5);
    assert_eq!(h.desk.tracker().open_count().await.unwrap(), 5);
    // Closing a report frees a slot.
    let first = h.desk.tracker().list(None).await.unwrap()[0].id;
    h.desk
        .apply(
            first,
            &Action::Reject {
                reason: "spam".into(),
            },
            "alice",
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    let r = h
        .post("application/json", support::report_json("after", "d"))
        .await;
    assert_eq!(r.status(), 201);
    let full = h
        .post("application/json", support::report_json("again", "d"))
        .await;
    assert!(full.headers().contains_key("retry-after"));
    problem(full, 503).await;
}

#[tokio::test]
async fn broken_encodings_and_control_characters_are_400() {
    let h = harness(100, 100).await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            b"{\"title\":\"t\",\"description\":\"\xff\xfe\"}".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"title=t&description=%FF%FE".to_vec(),
        ),
        (
            "application/json",
            support::report_json("t", "bell\u{7}").into_bytes(),
        ),
        (
            "application/json",
            support::report_json("t", "nul\u{0}").into_bytes(),
        ),
        (
            "application/json",
            support::report_json("t", "\u{1b}[2Jclear").into_bytes(),
        ),
        (
            "application/json",
            support::report_json("t", "bidi \u{202E}txt.exe").into_bytes(),
        ),
        (
            "application/json",
            support::report_json("two\nlines", "d").into_bytes(),
        ),
        (
            "application/json",
            support::report_json("", "d").into_bytes(),
        ),
        (
            "application/json",
            b"{\"title\":\"t\",\"description\":\"d\",\"webhook\":\"http://169.254.169.254/\"}"
                .to_vec(),
        ),
        ("application/json", b"[1,2,3]".to_vec()),
    ];
    for (content_type, body) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let r = h.post(content_type, body).await;
        assert_eq!(r.status(), 400, "{shown}");
        let problem: serde_json::Value = r.json().await.unwrap();
        // The detail names the fault without echoing the payload.
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            !detail.contains("\u{7}") && !detail.contains("\u{202E}"),
            "{detail}"
        );
    }
    let r = h.post("text/html", "<p>report</p>").await;
    assert_eq!(r.status(), 415);
    assert_eq!(h.stored().await, 0);
}

#[tokio::test]
async fn wrong_or_guessed_status_tokens_are_404_and_look_alike() {
    let h = harness(100, 100).await;
    let r = h
        .post("application/json", support::report_json("t", "d"))
        .await;
    let filed: serde_json::Value = r.json().await.unwrap();
    let token = filed["token"].as_str().unwrap().to_owned();
    let ok = h
        .http
        .get(format!("{}/status/{token}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // One character off, a fresh random token, garbage, and overlong: all
    // the same 404.
    let mut flipped = token.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let fresh = rampart_disclosure::secret::issue_token().unwrap().token;
    let guesses = [
        String::from_utf8(flipped).unwrap(),
        fresh,
        "1".to_owned(),
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "A".repeat(500),
    ];
    let mut bodies = BTreeSet::new();
    for guess in guesses {
        let r = h
            .http
            .get(format!("{}/status/{guess}", h.base))
            .send()
            .await
            .unwrap();
        bodies.insert(problem(r, 404).await.to_string());
    }
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    // The stored hash is not the token, and the hash does not open the page.
    let hash = rampart_disclosure::secret::token_hash(&token);
    let r = h
        .http
        .get(format!("{}/status/{hash}", h.base))
        .send()
        .await
        .unwrap();
    problem(r, 404).await;
    // Status pages are read-only.
    let r = h
        .http
        .post(format!("{}/status/{token}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    problem(r, 405).await;
}
