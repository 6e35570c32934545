//! The checks the riders demo cannot exercise (it ignores credentials, has
//! no string query to inject and fetches no URL), against a small lab API
//! built here on a real socket with those flaws on purpose: a JWT whose
//! signature is never checked and whose secret is in the wordlist, a
//! search that pastes `q` into SQL, a preview and an avatar that fetch any
//! URL, and
//! CORS that reflects any origin with credentials.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rampart_scan::report::{self, Format};
use rampart_scan::{Check, Identity, Report, ScanConfig};
use serde_json::{Value, json};

const LAB_SPEC: &str = r#"
openapi: 3.0.3
info: {title: lab, version: "2.0"}
servers: [{url: /api}]
security: [{bearer: []}]
paths:
  /me:
    get:
      operationId: me
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
  /search:
    get:
      operationId: search
      parameters: [{name: q, in: query, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
  /preview:
    get:
      operationId: preview
      parameters: [{name: url, in: query, required: true, schema: {type: string, format: uri}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
  /profile:
    get:
      operationId: getProfile
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
    patch:
      operationId: updateProfile
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                avatar_url: {type: string, format: uri}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
"#;

fn json_response(status: StatusCode, body: Value, origin: Option<&str>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(o) = origin.and_then(|o| o.parse().ok()) {
        r.headers_mut().insert("access-control-allow-origin", o);
        r.headers_mut()
            .insert("access-control-allow-credentials", "true".parse().unwrap());
    }
    r
}

fn query(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(Ok(b)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Fetch `url` the way a careless server does; the status, or 0.
async fn fetch(url: &str) -> u16 {
    if !url.starts_with("http://") {
        return 0;
    }
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    match client.get(url).timeout(Duration::from_secs(2)).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn lab(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let origin = req
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let origin = origin.as_deref();
    // FLAW: the token's payload is trusted without checking its signature.
    let claims = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(claims) = claims else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "unauthorized"}),
            origin,
        );
    };
    match req.uri().path() {
        "/api/me" => json_response(
            StatusCode::OK,
            json!({"sub": claims["sub"], "plan": "free"}),
            origin,
        ),
        "/api/search" => {
            let q = query(&req, "q").unwrap_or_default();
            // FLAW: q is pasted into SQL; a quote breaks the statement.
            if q.contains('\'') {
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": format!("You have an error in your SQL syntax near '{q}'")}),
                    origin,
                )
            } else {
                json_response(StatusCode::OK, json!({"results": [], "q": q}), origin)
            }
        }
        "/api/preview" => {
            let url = query(&req, "url").unwrap_or_default();
            // FLAW: any URL is fetched, loopback included.
            let status = fetch(&url).await;
            json_response(StatusCode::OK, json!({"status": status}), origin)
        }
        "/api/profile" if req.method() == http::Method::PATCH => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            // FLAW: the new avatar is fetched from wherever it points.
            let url = value["avatar_url"].as_str().unwrap_or_default().to_string();
            let status = fetch(&url).await;
            json_response(
                StatusCode::OK,
                json!({"avatar_url": url, "fetched": status}),
                origin,
            )
        }
        "/api/profile" => json_response(
            StatusCode::OK,
            json!({"avatar_url": "https://cdn.example/a.png"}),
            origin,
        ),
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": "not found"}), origin),
    }
}

async fn start_lab() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(|req| async move { Ok::<_, Infallible>(lab(req).await) });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn token(secret: &[u8], sub: &str) -> String {
    rampart_scan::checks::jwt::sign_hs(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"sub": sub, "role": "member", "exp": 4_000_000_000u64}),
        secret,
    )
    .unwrap()
}

async fn scan_lab() -> (Report, Vec<String>) {
    let target = start_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("lab.yaml");
    std::fs::write(&spec, LAB_SPEC).unwrap();
    let weak = token(b"secret", "alice");
    let strong = token(b"7f3c1e9a0b2d4c6e8f0a1b3c5d7e9f10", "bob");
    let config = ScanConfig {
        spec,
        target,
        identities: vec![
            Identity::parse(&format!("alice=bearer:{weak}")).unwrap(),
            Identity::parse(&format!("bob=bearer:{strong}")).unwrap(),
        ],
        principals: BTreeMap::new(),
        seeds: BTreeMap::new(),
        allowed_operations: Vec::new(),
        max_requests: 500,
        rps: 0.0,
        allow_writes: true,
        burst: 0,
        timeout: Duration::from_secs(10),
        progress: false,
    };
    (
        rampart_scan::scan(config).await.unwrap(),
        vec![weak, strong],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_jwt_injection_ssrf_and_cors_flaws_of_the_lab() {
    let (report, tokens) = scan_lab().await;
    let text = report::render(&report, Format::Text);
    println!("{text}");
    let has = |check: Check, title: &str| {
        report
            .findings
            .iter()
            .find(|f| f.check == check && f.title.contains(title))
            .unwrap_or_else(|| panic!("no {check:?} finding {title:?}:\n{text}"))
    };
    for kind in ["alg-none", "wrong-key", "claim-tampering", "expired"] {
        let f = has(Check::Jwt, kind);
        assert_eq!(
            f.evidence.control.status, 401,
            "the control is the refused anonymous read"
        );
    }
    let f = has(Check::Jwt, "alice's JWT is signed with a guessable secret");
    assert!(
        f.curl.contains("<signature with the guessed secret>"),
        "{}",
        f.curl
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.title.contains("bob's JWT is signed")),
        "{text}"
    );
    let f = has(Check::Injection, "SQL injection in q of search");
    assert_eq!(
        f.evidence.control.status, 200,
        "the harmless value draws no SQL error"
    );
    let f = has(
        Check::Ssrf,
        "updateProfile fetches the URL given in avatar_url",
    );
    assert_eq!(f.evidence.probe.method, "PATCH");
    let f = has(Check::Ssrf, "preview fetches the URL given in url");
    assert!(
        f.evidence.steps[0]
            .response_body
            .contains("rampart-canary-"),
        "{:?}",
        f.evidence.steps
    );
    has(Check::Headers, "CORS trusts any origin");
    // Nothing the lab does not have.
    for check in [
        Check::MissingAuthentication,
        Check::ShadowEndpoint,
        Check::VerboseError,
        Check::BolaRead,
    ] {
        assert!(
            !report.findings.iter().any(|f| f.check == check),
            "{check:?}\n{text}"
        );
    }
    // Real tokens never appear; forged ones are evidence and may.
    let all = serde_json::to_string(&report).unwrap() + &text;
    for t in &tokens {
        assert!(
            !all.contains(t.as_str()),
            "a real token leaked into the report"
        );
        let signature = t.rsplit('.').next().unwrap();
        assert!(
            !all.contains(signature),
            "a real token's signature leaked into the report"
        );
    }
}
