//! Hostile input above the framing layer: path confusion, JSON parser
//! differentials, header abuse, parameter pollution, method override and
//! the JWT attacks `identity.rs` does not already cover. (Smuggling and
//! HTTP/2 downgrade are in `hostile_smuggling.rs`, slow clients in
//! `hostile_slow.rs`.)
//!
//! Each case checks the whole promise: a precise 4xx carried by an
//! RFC 9457 problem with the request id, the rule in the security log,
//! an upstream that never saw the request, and a gateway still serving.
//! Cases already in `normalization.rs`, `contract_requests.rs` and
//! `identity.rs` are not repeated here; these are the spellings those
//! suites leave out.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use support::identity::{HS_KID, IdentityFiles, RSA_KID, b64, bearer, claims, header, sign};
use support::{Answer, Gateway, RIDERS, Reply, Upstream, send};

/// A refusal expected from one request.
struct Refusal {
    answer: Answer,
    rule: &'static str,
    what: String,
}

/// Run `cases` against one enforcing gateway, then check every refusal's
/// problem document and security event, the untouched upstream, and that
/// the gateway still serves.
async fn refused_all(
    gateway: Gateway,
    upstream: &Upstream,
    cases: Vec<(String, Answer, u16, &'static str)>,
) {
    let mut refusals = Vec::new();
    for (what, answer, status, rule) in cases {
        assert_eq!(answer.status, status, "{what}: {}", answer.text());
        answer.assert_problem(status, rule);
        refusals.push(Refusal { answer, rule, what });
    }
    upstream.assert_untouched();
    let alive = gateway.get("/api/riders/7").await;
    assert_eq!(alive.status, 200, "the gateway stopped serving");
    let log = gateway.finish().await;
    for r in &refusals {
        let event = log.assert(&r.answer, "blocked", Some(r.rule));
        assert!(
            event["reason"].as_str().is_some_and(|s| !s.is_empty()),
            "{}: no reason logged: {event}",
            r.what
        );
    }
}

async fn riders_gateway() -> (Upstream, Gateway) {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    (upstream, gateway)
}

// --- path confusion -----------------------------------------------------------

#[tokio::test]
async fn path_confusion_spellings_are_400_before_routing() {
    let (upstream, gateway) = riders_gateway().await;
    let targets = [
        // lowercase hex and mixed case of what normalization.rs checks uppercase
        ("/api/riders/%2E%2e/admin", "normalize.dot-segment"),
        ("/api/files/%2fetc%2fpasswd", "normalize.encoded-slash"),
        ("/api/files/%252f", "normalize.double-encoding"),
        ("/api/files/%25%32%66", "normalize.double-encoding"),
        // overlong UTF-8 for `.` and `/`, two and three bytes
        ("/api/files/%c0%ae%c0%ae", "normalize.invalid-utf8"),
        ("/api/files/%e0%80%af", "normalize.invalid-utf8"),
        ("/api/files/%c0%af..%c0%afetc", "normalize.invalid-utf8"),
        // UTF-16 surrogate encoded as UTF-8 (CESU) and a bare continuation byte
        ("/api/files/%ed%a0%80", "normalize.invalid-utf8"),
        ("/api/files/%80", "normalize.invalid-utf8"),
        // Tomcat's `..;/`, an encoded `;`, and matrix params on the last segment
        ("/api/riders/..;/admin", "normalize.matrix-parameter"),
        ("/api/files/a%3bjsessionid=1", "normalize.matrix-parameter"),
        ("/api/riders/7;x=1", "normalize.matrix-parameter"),
        // backslash, encoded in lowercase
        ("/api/files/..%5c..%5cwindows", "normalize.backslash"),
        // CRLF and NEL, encoded: header or log injection upstream
        (
            "/api/files/a%0d%0aX-Admin:%201",
            "normalize.control-character",
        ),
        ("/api/files/a%c2%85b", "normalize.control-character"),
        (
            "/api/riders?q=a%0d%0aX-Admin:%201",
            "normalize.control-character",
        ),
        ("/api/riders?q=%00", "normalize.control-character"),
        // Unicode look-alikes of `.` and `/`: an upstream that applies NFKC
        // (or any compatibility folding) would read `..` and `/`.
        (
            "/api/files/%ef%bc%8e%ef%bc%8e",
            "normalize.unicode-confusable",
        ),
        ("/api/files/a%ef%bc%8fb", "normalize.unicode-confusable"),
        ("/api/files/a%ef%bc%bcb", "normalize.unicode-confusable"),
        ("/api/files/%e2%80%a5", "normalize.unicode-confusable"),
        ("/api/files/%ef%b9%92", "normalize.unicode-confusable"),
        // an encoded `#` is data, so this rider id is not an integer
        ("/api/riders/7%23", "contract.param.type"),
    ];
    let mut cases = Vec::new();
    for (target, rule) in targets {
        let answer = gateway.raw_get(target).await;
        cases.push((target.to_string(), answer, 400, rule));
    }
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn a_raw_backslash_never_reaches_the_upstream() {
    // hyper may refuse a raw `\` in the request line itself (400 without a
    // problem document); otherwise the normalizer does. Nothing is forwarded.
    let (upstream, gateway) = riders_gateway().await;
    for target in ["/api/files/a\\b", "/api/files/..\\..\\x"] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let outcome = support::raw::exchange(
            gateway.addr,
            raw.as_bytes(),
            std::time::Duration::from_secs(5),
        )
        .await;
        let answer = outcome.only();
        assert_eq!(answer.status, 400, "{target}: {outcome:#?}");
        if answer.header("content-type") == Some("application/problem+json") {
            answer.assert_problem(400, "normalize.backslash");
        }
    }
    upstream.assert_untouched();
    assert_eq!(gateway.get("/api/riders/7").await.status, 200);
}

#[tokio::test]
async fn a_raw_fragment_is_dropped_and_never_forwarded() {
    // hyper's URI parser drops a raw `#...` from the request target before
    // the gateway sees it, so `normalize.fragment` cannot fire for it; what
    // matters is that the upstream gets exactly the path that was checked.
    let (upstream, gateway) = riders_gateway().await;
    let answer = gateway.raw_get("/api/riders/7#/../../admin").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().target, "/api/riders/7");
}

#[tokio::test]
async fn paths_are_case_sensitive_so_a_case_variant_is_an_unknown_route() {
    let (upstream, gateway) = riders_gateway().await;
    let mut cases = Vec::new();
    for target in [
        "/API/riders/7",
        "/api/Riders/7",
        "/api/RIDERS",
        "/Api/files/x",
    ] {
        cases.push((
            target.to_string(),
            gateway.raw_get(target).await,
            404,
            "contract.route.unknown",
        ));
    }
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn nfc_and_nfd_are_different_paths_forwarded_exactly_as_validated() {
    // No Unicode normalization: the upstream receives the code points the
    // gateway validated, so it cannot resolve a different file than the one
    // the gateway checked.
    let (upstream, gateway) = riders_gateway().await;
    for (raw, canonical) in [
        ("/api/files/caf%c3%a9", "/api/files/caf%C3%A9"),
        ("/api/files/cafe%cc%81", "/api/files/cafe%CC%81"),
        // U+2215 DIVISION SLASH has no compatibility mapping to `/`
        ("/api/files/a%e2%88%95b", "/api/files/a%E2%88%95b"),
    ] {
        let answer = gateway.raw_get(raw).await;
        assert_eq!(answer.status, 200, "{raw}: {}", answer.text());
        assert_eq!(upstream.requests().pop().unwrap().target, canonical);
    }
}

// --- JSON ---------------------------------------------------------------------

/// `PATCH /api/riders/7` (an open schema: undeclared keys would pass the
/// schema, so only the parser stands between them and the upstream).
async fn patch(gateway: &Gateway, body: impl Into<reqwest::Body>) -> Answer {
    send(
        gateway
            .request("PATCH", "/api/riders/7")
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

#[tokio::test]
async fn json_parser_differentials_are_400_and_past_the_caps_413() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"contract": {"undeclared_body_properties": "allow"}}))
        .start()
        .await;
    let deep = |n: usize| {
        format!(
            "{{\"name\":\"a\",\"x\":{}{}}}",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        // a duplicate inside a nested object, and one spelled with an escape
        (
            "nested duplicate",
            br#"{"name":"a","x":{"k":1,"k":2}}"#.to_vec(),
        ),
        (
            "escaped duplicate",
            br#"{"role":"member","r\u006fle":"admin"}"#.to_vec(),
        ),
        (
            "duplicate in an array item",
            br#"{"x":[{"a":1},{"a":1,"a":2}]}"#.to_vec(),
        ),
        // just past the default depth of 64, and far past it
        ("depth 65", deep(64).into_bytes()),
        ("depth 100k", deep(100_000).into_bytes()),
        // numbers no double holds
        ("huge exponent", br#"{"age":1e999999}"#.to_vec()),
        (
            "huge negative exponent overflow",
            br#"{"age":-1e400}"#.to_vec(),
        ),
        // invalid UTF-8: a lone byte, an overlong `/`, a CESU surrogate
        ("invalid UTF-8", b"{\"name\":\"\xff\xfe\"}".to_vec()),
        ("overlong UTF-8", b"{\"name\":\"\xc0\xaf\"}".to_vec()),
        ("CESU surrogate", b"{\"name\":\"\xed\xa0\x80\"}".to_vec()),
        // a lone surrogate escape
        ("lone surrogate", br#"{"name":"\ud800"}"#.to_vec()),
        // raw NUL inside a string, and after the document
        ("NUL in a string", b"{\"name\":\"a\0b\"}".to_vec()),
        ("NUL after the document", b"{\"name\":\"ann\"}\0".to_vec()),
        // byte order marks: UTF-16 LE, and UTF-8 after leading space
        ("UTF-16 BOM", b"\xff\xfe{\0}\0".to_vec()),
        ("UTF-8 BOM after space", b" \xef\xbb\xbf{}".to_vec()),
        // unterminated in every way
        ("open object", br#"{"name":"ann""#.to_vec()),
        ("open string", br#"{"name":"ann"#.to_vec()),
        ("open array", br#"{"x":[1,2"#.to_vec()),
        ("dangling escape", br#"{"name":"a\"#.to_vec()),
        ("trailing comma", br#"{"name":"ann",}"#.to_vec()),
        // JavaScript-isms some lenient parsers accept
        ("comment", br#"{"name":"ann"/*x*/}"#.to_vec()),
        ("single quotes", br#"{'name':'ann'}"#.to_vec()),
        ("NaN", br#"{"age":NaN}"#.to_vec()),
        ("leading zero", br#"{"age":020}"#.to_vec()),
    ];
    let mut cases = Vec::new();
    for (what, body) in bodies {
        let answer = patch(&gateway, body).await;
        // Too deep is a resource cap (limits.max_json_depth), not malformed JSON.
        let (status, rule) = if what.starts_with("depth") {
            (413, "limit.json")
        } else {
            (400, "contract.body.malformed")
        };
        cases.push((what.to_string(), answer, status, rule));
    }
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn out_of_range_and_escaped_values_are_judged_on_their_decoded_value() {
    let (upstream, gateway) = riders_gateway().await;
    let mut cases = Vec::new();
    for (what, body, rule) in [
        // a 30-digit integer: parsed, then out of the schema's range
        (
            "30-digit age",
            r#"{"age":123456789012345678901234567890}"#,
            "contract.body.schema",
        ),
        ("age 1e3", r#"{"age":1e3}"#, "contract.body.schema"),
        // the read-only `role`, spelled with escapes
        (
            "escaped read-only key",
            r#"{"r\u006fle":"admin"}"#,
            "contract.body.read-only",
        ),
    ] {
        cases.push((what.to_string(), patch(&gateway, body).await, 422, rule));
    }
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn an_escaped_nul_is_valid_json_and_is_forwarded_byte_for_byte() {
    let (upstream, gateway) = riders_gateway().await;
    let body = r#"{"name":"a\u0000b"}"#;
    let answer = patch(&gateway, body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().body, body.as_bytes());
}

#[tokio::test]
async fn two_content_types_are_415() {
    // The gateway reads one content type and the upstream may read the
    // other: validated as JSON, parsed upstream as a form, or the reverse.
    let (upstream, gateway) = riders_gateway().await;
    let mut cases = Vec::new();
    for (first, second) in [
        ("application/json", "application/x-www-form-urlencoded"),
        ("application/json", "application/json"),
        ("text/plain", "application/json"),
    ] {
        let answer = send(
            gateway
                .request("PATCH", "/api/riders/7")
                .header("content-type", first)
                .header("content-type", second)
                .body(r#"{"name":"ann"}"#),
        )
        .await;
        cases.push((
            format!("{first} + {second}"),
            answer,
            415,
            "contract.body.media-type",
        ));
    }
    refused_all(gateway, &upstream, cases).await;
}

// --- headers --------------------------------------------------------------------

#[tokio::test]
async fn oversize_and_too_many_headers_are_431_with_a_problem() {
    let (upstream, gateway) = riders_gateway().await;
    let mut cases = Vec::new();
    // One header just over the 16 KiB default (but under hyper's hard stop).
    let big = send(
        gateway
            .request("GET", "/api/riders/7")
            .header("x-api-version", "1".repeat(17 * 1024)),
    )
    .await;
    cases.push(("one 17 KiB header".into(), big, 431, "limit.headers"));
    // 65 headers: over the default of 64 (hyper stops at 128).
    let mut many = gateway.request("GET", "/api/riders/7");
    for i in 0..65 {
        many = many.header(format!("x-filler-{i}"), "1");
    }
    cases.push(("65 headers".into(), send(many).await, 431, "limit.headers"));
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn headers_past_the_hard_limit_close_the_connection() {
    // Far past the configured caps, hyper refuses the head before the
    // gateway sees it (431, connection closed); the gateway keeps serving.
    let (upstream, gateway) = riders_gateway().await;
    let huge = format!(
        "GET /api/riders/7 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let mut many = String::from("GET /api/riders/7 HTTP/1.1\r\nHost: x\r\n");
    for i in 0..500 {
        many.push_str(&format!("X-F{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    for raw in [huge, many] {
        let outcome = support::raw::exchange(
            gateway.addr,
            raw.as_bytes(),
            std::time::Duration::from_secs(5),
        )
        .await;
        let answer = outcome.only();
        assert_eq!(answer.status, 431, "{outcome:#?}");
        assert!(outcome.closed, "{outcome:#?}");
    }
    upstream.assert_untouched();
    assert_eq!(gateway.get("/api/riders/7").await.status, 200);
}

// --- parameter pollution --------------------------------------------------------

#[tokio::test]
async fn repeated_query_keys_in_any_spelling_are_400() {
    let (upstream, gateway) = riders_gateway().await;
    let mut cases = Vec::new();
    for (target, rule) in [
        // the second key spelled with an escape decodes to the same key
        ("/api/riders?limit=5&%6cimit=50", "contract.param.repeated"),
        ("/api/riders?q=ann&q=", "contract.param.repeated"),
        ("/api/riders?q=ann&q", "contract.param.repeated"),
        ("/api/riders?q=a&limit=1&q=b", "contract.param.repeated"),
        // array and object syntax some frameworks expand
        (
            "/api/riders?limit[]=1&limit[]=50",
            "contract.param.undeclared",
        ),
        ("/api/riders?limit[x]=1", "contract.param.undeclared"),
        // names are case-sensitive: `LIMIT` is another (undeclared) parameter
        ("/api/riders?LIMIT=500", "contract.param.undeclared"),
        // `;` is data, not a separator, so this is one out-of-range value
        ("/api/riders?limit=5;limit=500", "contract.param.type"),
    ] {
        cases.push((target.to_string(), gateway.raw_get(target).await, 400, rule));
    }
    refused_all(gateway, &upstream, cases).await;
}

#[tokio::test]
async fn repeated_declared_headers_are_400() {
    let (upstream, gateway) = riders_gateway().await;
    let answer = send(
        gateway
            .request("GET", "/api/riders")
            .header("x-api-version", "1")
            .header("x-api-version", "2"),
    )
    .await;
    let cookies = send(
        gateway
            .request("GET", "/api/riders")
            .header("cookie", "theme=light; theme=dark"),
    )
    .await;
    refused_all(
        gateway,
        &upstream,
        vec![
            (
                "x-api-version twice".into(),
                answer,
                400,
                "contract.param.repeated",
            ),
            (
                "theme cookie twice".into(),
                cookies,
                400,
                "contract.param.repeated",
            ),
        ],
    )
    .await;
}

// --- method override --------------------------------------------------------------

/// A contract with a `POST` on an item the leaky demo API would turn into a
/// `DELETE` if it saw an override header.
const OVERRIDE_SPEC: &str = r##"
openapi: 3.1.0
info: {title: Riders, version: 1.0.0}
security: []
servers:
  - url: /api
paths:
  /riders/{riderId}:
    parameters:
      - {name: riderId, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getRider
      responses:
        "200": {description: The rider.}
    post:
      operationId: pokeRider
      responses:
        "200": {description: Poked.}
"##;

#[tokio::test]
async fn the_leaky_demo_api_never_sees_a_method_override() {
    // The real leaky API from `rampart demo`: it deletes a rider when a
    // POST carries X-HTTP-Method-Override: DELETE.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let leaky = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(rampart_demo::sample_api::run(listener));
    let direct = support::client();
    let exists = async || {
        direct
            .get(format!("{leaky}/api/riders/1"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(exists().await, 200, "the demo seeds rider 1");

    let gateway = Gateway::builder_for(OVERRIDE_SPEC, &leaky).start().await;
    let mut refused = Vec::new();
    for (name, value) in [
        ("X-HTTP-Method-Override", "DELETE"),
        ("x-http-method", "delete"),
        ("X-Method-Override", " DELETE "),
    ] {
        let answer = send(gateway.request("POST", "/api/riders/1").header(name, value)).await;
        answer.assert_problem(400, "normalize.method-override");
        refused.push(answer);
    }
    // The same over raw HTTP/1.1 with the header name in odd case, and in
    // the query and a form body.
    let raw = gateway
        .raw("POST /api/riders/1 HTTP/1.1\r\nHost: x\r\nx-HtTp-MeThOd-OvErRiDe: DELETE\r\nContent-Length: 0\r\n\r\n")
        .await;
    raw.assert_problem(400, "normalize.method-override");
    refused.push(raw);
    let query = gateway.raw_get("/api/riders/1?_method=DELETE").await;
    query.assert_problem(400, "normalize.method-override");
    let form = send(
        gateway
            .request("POST", "/api/riders/1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("_method=DELETE"),
    )
    .await;
    form.assert_problem(400, "contract.body.unexpected");
    assert_eq!(
        exists().await,
        200,
        "rider 1 was deleted through the gateway"
    );
    let log = gateway.finish().await;
    for answer in &refused {
        log.assert(answer, "blocked", Some("normalize.method-override"));
    }
    server.abort();
}

#[tokio::test]
async fn a_method_override_field_in_a_json_body_is_an_undeclared_property() {
    let (upstream, gateway) = riders_gateway().await;
    let answer = gateway
        .send_json(
            "PATCH",
            "/api/riders/7",
            r#"{"name":"a","_method":"DELETE"}"#,
        )
        .await;
    refused_all(
        gateway,
        &upstream,
        vec![(
            "_method in body".into(),
            answer,
            422,
            "contract.body.undeclared",
        )],
    )
    .await;
}

// --- JWT (what identity.rs leaves out) ---------------------------------------------

/// A contract with one operation that needs a bearer token.
const BEARER_SPEC: &str = r##"
openapi: 3.1.0
info: {title: Notes, version: 1.0.0}
servers:
  - url: /api
paths:
  /notes:
    get:
      operationId: listNotes
      security: [{bearer: []}]
      responses:
        "200":
          description: OK.
          content:
            application/json:
              schema: {type: object, properties: {ok: {type: boolean}}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
"##;

/// Sign a hand-written header and payload (exact JSON text) with HS256.
fn hs256_raw(header: &str, payload: &str, secret: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{signing_input}.{sig}")
}

#[tokio::test]
async fn jwt_attacks_beyond_the_identity_suite_are_401() {
    let ids = IdentityFiles::new();
    let upstream = Upstream::always(Reply::json(200, json!({"ok": true}))).await;
    let gateway = Gateway::builder(BEARER_SPEC, &upstream)
        .config(ids.config())
        .start()
        .await;
    let c = claims("alice");
    let exp = c["exp"].as_u64().unwrap();
    let iat = c["iat"].as_u64().unwrap();
    let hs_header = format!(r#"{{"alg":"HS256","kid":"{HS_KID}","typ":"JWT"}}"#);
    let payload = |extra: &str| {
        format!(
            r#"{{"iss":"https://idp.test","aud":"rampart-tests","iat":{iat},"exp":{exp}{extra}}}"#
        )
    };
    let genuine = ids.hs256(&c);
    let mut attacks: Vec<(&str, String)> = vec![
        // The HS secret's signature under the RSA key's kid: the kid picks
        // the key, and its algorithm is RS256, not what the token says.
        (
            "HS256 under the RSA kid",
            sign(
                &header(Algorithm::HS256, RSA_KID),
                &claims("alice"),
                &EncodingKey::from_secret(ids.secret.as_bytes()),
            ),
        ),
        // A parser differential inside the token: first-wins says alice,
        // last-wins says admin.
        (
            "duplicate sub",
            hs256_raw(
                &hs_header,
                &payload(r#","sub":"alice","sub":"admin""#),
                &ids.secret,
            ),
        ),
        (
            "duplicate alg in the header",
            hs256_raw(
                &format!(r#"{{"alg":"HS256","kid":"{HS_KID}","alg":"none"}}"#),
                &payload(r#","sub":"alice""#),
                &ids.secret,
            ),
        ),
        // kid with control characters and a kid the size of a file
        (
            "kid with CRLF",
            hs256_raw(
                r#"{"alg":"HS256","kid":"hs-1\r\nX-Admin: 1"}"#,
                &payload(r#","sub":"alice""#),
                &ids.secret,
            ),
        ),
        (
            "kid with NUL",
            hs256_raw(
                r#"{"alg":"HS256","kid":"hs-1\u0000"}"#,
                &payload(r#","sub":"alice""#),
                &ids.secret,
            ),
        ),
        // non-canonical encodings of a genuine token
        ("padded signature", format!("{genuine}==")),
        (
            "standard base64 alphabet",
            genuine.replace('-', "+").replace('_', "/") + "+/",
        ),
        ("whitespace inside", genuine.replacen('.', ". ", 1)),
        ("four segments", format!("{genuine}.x")),
        (
            "empty signature",
            genuine.rsplit_once('.').unwrap().0.to_string() + ".",
        ),
        // claims of the wrong type
        (
            "exp as a string",
            hs256_raw(
                &hs_header,
                &format!(
                    r#"{{"iss":"https://idp.test","aud":"rampart-tests","sub":"alice","exp":"{exp}"}}"#
                ),
                &ids.secret,
            ),
        ),
        (
            "sub as an object",
            hs256_raw(
                &hs_header,
                &payload(r#","sub":{"id":"admin"}"#),
                &ids.secret,
            ),
        ),
        (
            "payload not an object",
            hs256_raw(&hs_header, "[1,2,3]", &ids.secret),
        ),
    ];
    // Another issuer's name on a token signed with this issuer's key.
    attacks.push((
        "wrong iss, right key",
        hs256_raw(
            &hs_header,
            &format!(
                r#"{{"iss":"https://evil.test","aud":"rampart-tests","sub":"alice","iat":{iat},"exp":{exp}}}"#
            ),
            &ids.secret,
        ),
    ));
    let mut answers = Vec::new();
    for (what, token) in &attacks {
        let answer = send(bearer(gateway.request("GET", "/api/notes"), token)).await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.text());
        let p = answer.assert_problem(401, answer.json()["rule"].as_str().unwrap());
        assert!(
            p["rule"].as_str().unwrap().starts_with("identity."),
            "{what}: {p}"
        );
        assert!(answer.header("www-authenticate").is_some(), "{what}");
        answers.push(answer);
    }
    upstream.assert_untouched();
    // The genuine token still works: the refusals were about the attacks.
    let ok = send(bearer(gateway.request("GET", "/api/notes"), &genuine)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let log = gateway.finish().await;
    for answer in &answers {
        let rule = answer.json()["rule"].as_str().unwrap().to_string();
        log.assert(answer, "blocked", Some(&rule));
    }
}
