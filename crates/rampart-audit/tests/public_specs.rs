//! The audit on the public specs in `shared/specs`: specific findings at
//! specific pointers and lines, located in the files people edit.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::PathBuf;

use rampart_audit::{Settings, SpecReport, audit_file};

fn spec(name: &str) -> PathBuf {
    let dir = std::env::var("RAMPART_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs")
        });
    dir.join(name)
}

fn audit(name: &str) -> SpecReport {
    match audit_file(&spec(name), &Settings::default()) {
        Ok(r) => r,
        Err(e) => panic!("{name} failed to audit:\n{e}"),
    }
}

/// The finding of `rule` at `pointer`, with its line and column.
fn at(r: &SpecReport, rule: &str, pointer: &str) -> (u32, u32, String) {
    let f = r
        .findings
        .iter()
        .find(|f| f.rule.id() == rule && f.pointer == pointer)
        .unwrap_or_else(|| panic!("no {rule} at {pointer}"));
    let l = f.location.as_ref().unwrap();
    (l.line, l.column, f.message.clone())
}

fn count(r: &SpecReport, rule: &str) -> usize {
    r.findings.iter().filter(|f| f.rule.id() == rule).count()
}

#[test]
fn petstore_findings_point_at_yaml_lines() {
    let r = audit("swagger-petstore-openapi.yaml");
    assert_eq!(r.operations, 19);
    let (line, col, msg) = at(
        &r,
        "audit.auth.credentials-in-url",
        "/paths/~1user~1login/get/parameters/1/name",
    );
    assert_eq!((line, col), (537, 11));
    assert!(msg.contains("\"password\""), "{msg}");
    assert_eq!(
        at(
            &r,
            "audit.id.numeric",
            "/paths/~1pet~1{petId}/get/parameters/0/schema"
        )
        .0,
        213
    );
    assert_eq!(
        at(
            &r,
            "audit.id.sequential-object-route",
            "/paths/~1pet~1{petId}/get"
        )
        .0,
        202
    );
    // Shared components are reported once, at the component.
    let (line, _, msg) = at(
        &r,
        "audit.pii.unannotated-response",
        "/components/schemas/User/properties/email",
    );
    assert_eq!(line, 731);
    assert!(msg.contains("getUserByName"), "{msg}");
    assert_eq!(
        at(
            &r,
            "audit.property.server-owned-writable",
            "/components/schemas/Pet/properties/id"
        )
        .0,
        765
    );
    assert_eq!(
        at(
            &r,
            "audit.property.secret-in-response",
            "/components/schemas/User/properties/password"
        )
        .0,
        734
    );
    assert_eq!(
        at(
            &r,
            "audit.auth.no-refresh-token",
            "/components/securitySchemes/petstore_auth/flows/implicit"
        )
        .0,
        831
    );
    // No security anywhere: every write is reported, once per operation.
    assert_eq!(count(&r, "audit.auth.write-unprotected"), 6);
    assert_eq!(count(&r, "audit.response.401"), 19);
}

#[test]
fn crapi_findings_include_bola_bfla_and_peloton_patterns() {
    let r = audit("crapi-openapi-spec.json");
    assert_eq!(r.operations, 44);
    let (line, col, _) = at(
        &r,
        "audit.function.admin-security",
        "/paths/~1identity~1api~1v2~1admin~1videos~1{video_id}/delete/security/0",
    );
    assert_eq!((line, col), (860, 24));
    assert_eq!(
        at(
            &r,
            "audit.function.admin-like-shared",
            "/paths/~1workshop~1api~1management~1users~1all/get"
        )
        .0,
        2201
    );
    assert_eq!(
        at(
            &r,
            "audit.id.sequential-object-route",
            "/paths/~1workshop~1api~1shop~1orders~1{order_id}/get"
        )
        .0,
        1882
    );
    assert_eq!(
        at(
            &r,
            "audit.pii.unannotated-response",
            "/components/schemas/User/properties/email"
        ),
        (
            2942,
            11,
            at(
                &r,
                "audit.pii.unannotated-response",
                "/components/schemas/User/properties/email"
            )
            .2
        )
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule.id() == "audit.pii.unannotated-response"
                && f.pointer.ends_with("/vehicleLocation/properties/latitude")),
        "GPS coordinates of vehicles are personal data"
    );
    assert_eq!(
        at(
            &r,
            "audit.property.server-owned-writable",
            "/components/schemas/VideoForm/properties/id"
        )
        .0,
        3107
    );
    assert_eq!(
        at(
            &r,
            "audit.ssrf.url-input",
            "/components/schemas/NewProduct/properties/image_url"
        )
        .0,
        2963
    );
    assert_eq!(
        at(
            &r,
            "audit.auth.jwt-rfc8725",
            "/components/securitySchemes/bearerAuth"
        )
        .0,
        3404
    );
    assert_eq!(
        at(
            &r,
            "audit.limit.page-size",
            "/paths/~1workshop~1api~1shop~1orders~1all/get/parameters/0/schema"
        )
        .0,
        1951
    );
    // Login and sign-up are public on purpose; the audit still says so.
    assert_eq!(
        at(
            &r,
            "audit.auth.write-unprotected",
            "/paths/~1identity~1api~1auth~1login/post/security"
        )
        .0,
        90
    );
}

#[test]
fn twilio_with_surrogate_pair_escapes_audits_with_positions() {
    let r = audit("twilio_api_v2010.json");
    assert_eq!(r.operations, 197);
    let (line, col, _) = at(
        &r,
        "audit.auth.http-basic",
        "/components/securitySchemes/accountSid_authToken/scheme",
    );
    assert_eq!((line, col), (5, 9));
    // Past the emoji escapes (line 24352), positions are still exact.
    assert_eq!(at(&r, "audit.server.audience", "/servers/0").0, 45435);
    assert_eq!(
        at(
            &r,
            "audit.property.secret-in-response",
            "/components/schemas/api.v2010.account.new_key/properties/secret"
        )
        .0,
        3976
    );
    assert!(r.findings.iter().all(|f| f.location.is_some()));
    // `/Calls/{Sid}.json` is an object route, not a list.
    assert!(
        r.findings
            .iter()
            .all(|f| !(f.rule.id() == "audit.limit.page-size"
                && f.pointer.contains("{ConnectAppSid}.json")))
    );
}

#[test]
fn output_is_deterministic_and_sorted() {
    let a = audit("crapi-openapi-spec.json");
    let b = audit("crapi-openapi-spec.json");
    let json = |r: &SpecReport| rampart_audit::report::json::render(std::slice::from_ref(r));
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.score, b.score);
    let keys: Vec<_> = a.findings.iter().map(|f| f.sort_key()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}
