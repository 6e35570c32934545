//! Report shapes: SARIF validates against the published 2.1.0 schema, JUnit
//! is well-formed with one failure per finding, JSON round-trips the
//! evidence, and text ends with the summary table.

#![allow(clippy::unwrap_used)]

use rampart_scan::exchange::{Auth, Exchange};
use rampart_scan::report::{self, Format};
use rampart_scan::{Check, Evidence, Finding, Report, Severity};

fn exchange(method: &str, url: &str, auth: Auth, status: u16) -> Exchange {
    Exchange {
        method: method.into(),
        url: url.into(),
        auth,
        headers: vec![],
        body: None,
        status,
        response_headers: vec![],
        response_body: r#"{"id":2,"email":"a<b>&\"c\"@example.com"}"#.into(),
        json: None,
        elapsed_ms: 3,
    }
}

fn sample() -> Report {
    let alice = Auth::Identity {
        name: "alice".into(),
        header: "authorization".into(),
        prefix: "Bearer ".into(),
    };
    let bob = Auth::Identity {
        name: "bob".into(),
        header: "authorization".into(),
        prefix: "Bearer ".into(),
    };
    let url = "http://127.0.0.1:1/api/riders/2";
    let mut findings = vec![
        Finding::new(
            Check::BolaRead,
            Severity::Critical,
            "getRider",
            "bob reads alice's data through getRider",
            Evidence {
                probe: exchange("GET", url, bob, 200),
                control: exchange("GET", url, alice.clone(), 200),
                steps: vec![],
                fields: vec!["email".into()],
                why: "owner-only <email> & more".into(),
            },
        ),
        Finding::new(
            Check::MissingAuthentication,
            Severity::Critical,
            "getRider",
            "getRider answers without credentials",
            Evidence {
                probe: exchange("GET", url, Auth::None, 200),
                control: exchange("GET", url, alice, 200),
                steps: vec![],
                fields: vec!["id".into()],
                why: "no credentials".into(),
            },
        ),
    ];
    rampart_scan::finding::normalize(&mut findings);
    Report {
        api: "Riders".into(),
        target: "http://127.0.0.1:1".into(),
        requests: 12,
        budget_spent: false,
        elapsed_ms: 40,
        allow_writes: false,
        baseline_reads: 2,
        checks_run: vec![Check::BolaRead, Check::MissingAuthentication, Check::Bfla],
        findings,
    }
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let mut schema: serde_json::Value = serde_json::from_str(include_str!(
        "../../rampart-audit/tests/data/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    // The official file's `language` pattern has a stray `]` that the
    // meta-schema rejects (see rampart-audit's SARIF test); we never set
    // `language`, so use the intended pattern and check the rest.
    for at in [
        "/definitions/run/properties/language/pattern",
        "/definitions/toolComponent/properties/language/pattern",
    ] {
        *schema.pointer_mut(at).unwrap() = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into();
    }
    let validator = jsonschema::validator_for(&schema).unwrap();
    let sarif: serde_json::Value =
        serde_json::from_str(&report::render(&sample(), Format::Sarif)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "scan.bola.read");
    assert_eq!(results[0]["properties"]["owasp"], "API1:2023");
    assert_eq!(results[0]["level"], "error");
}

#[test]
fn junit_has_one_failure_per_finding_and_escapes_text() {
    let xml = report::render(&sample(), Format::Junit);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert_eq!(
        xml.matches("<testsuite ").count(),
        3,
        "one suite per check run"
    );
    assert!(xml.contains("<testcase classname=\"scan.bfla\" name=\"no findings\"/>"));
    assert!(xml.contains("owner-only &lt;email&gt; &amp; more"), "{xml}");
    assert!(xml.contains("$BOB"), "the reproduction names the identity");
    // Balanced tags.
    for tag in ["testsuites", "testsuite", "testcase", "failure"] {
        let open =
            xml.matches(&format!("<{tag} ")).count() + xml.matches(&format!("<{tag}>")).count();
        let self_closed = xml
            .split(&format!("<{tag} "))
            .skip(1)
            .filter(|rest| rest.split('>').next().is_some_and(|t| t.ends_with('/')))
            .count();
        let close = xml.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close + self_closed, "{tag}:\n{xml}");
    }
}

#[test]
fn json_keeps_the_evidence_and_text_ends_with_the_summary() {
    let r = sample();
    let json: serde_json::Value = serde_json::from_str(&report::render(&r, Format::Json)).unwrap();
    let f = &json["findings"][0];
    assert_eq!(f["check"], "bola-read");
    assert_eq!(f["owasp"], "API1:2023");
    assert_eq!(f["evidence"]["probe"]["auth"]["name"], "bob");
    assert_eq!(f["evidence"]["control"]["status"], 200);
    assert!(f["curl"].as_str().unwrap().contains("$BOB"));
    let text = report::render(&r, Format::Text);
    assert!(
        text.contains("bola.read              API1:2023         1"),
        "{text}"
    );
    assert!(
        text.contains("jwt                    API2:2023   not run"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("2 findings, 12 requests, 0.0s"),
        "{text}"
    );
}
