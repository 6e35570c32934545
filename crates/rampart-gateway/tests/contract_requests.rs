//! Requests are held to the contract: routes, parameters and bodies, each
//! rule proven in `enforce` (refused, the upstream never reached) and in
//! `monitor` (passed on unchanged, logged as flagged).

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use serde_json::json;
use support::{Answer, BothModes, Gateway, RIDERS, Reply, Upstream, enforced_and_monitored, send};

// --- routes -----------------------------------------------------------------

#[tokio::test]
async fn undeclared_path_is_404_and_recorded_as_a_shadow_api_probe() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for path in [
        "/api/admin/export",
        "/api/riders/7/debug",
        "/internal/health",
    ] {
        both.check(
            async |gw: &Gateway| gw.get(path).await,
            404,
            "contract.route.unknown",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn known_path_with_another_method_is_405_with_allow() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = send(gateway.request("DELETE", "/api/riders/7")).await;
    answer.assert_problem(405, "contract.route.method");
    let mut allow: Vec<&str> = answer
        .header("allow")
        .expect("a 405 names the allowed methods")
        .split(',')
        .map(str::trim)
        .collect();
    allow.sort_unstable();
    assert_eq!(allow, ["GET", "PATCH"]);
    upstream.assert_untouched();
    gateway
        .finish()
        .await
        .assert(&answer, "blocked", Some("contract.route.method"));

    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| send(gw.request("PUT", "/api/riders")).await,
        405,
        "contract.route.method",
    )
    .await;
}

// --- query parameters ---------------------------------------------------------

#[tokio::test]
async fn undeclared_query_parameter_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| gw.get("/api/riders?q=ann&debug=true").await,
        400,
        "contract.param.undeclared",
    )
    .await;
}

#[tokio::test]
async fn query_parameter_of_the_wrong_type_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for query in ["limit=ten", "limit=1.5", "limit=", "limit=0x10"] {
        both.check(
            async |gw: &Gateway| gw.get(&format!("/api/riders?{query}")).await,
            400,
            "contract.param.type",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn query_parameter_out_of_bounds_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for query in ["limit=0", "limit=51", "q=abcdefghijklmnopq"] {
        both.check(
            async |gw: &Gateway| gw.get(&format!("/api/riders?{query}")).await,
            400,
            "contract.param.schema",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn repeated_single_valued_query_parameter_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| gw.get("/api/riders?limit=1&limit=50").await,
        400,
        "contract.param.repeated",
    )
    .await;
}

#[tokio::test]
async fn declared_query_parameters_within_bounds_pass() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = gateway.get("/api/riders?q=ann&limit=50").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().target, "/api/riders?q=ann&limit=50");
    gateway.finish().await.assert(&answer, "allowed", None);
}

// --- headers ----------------------------------------------------------------

#[tokio::test]
async fn undeclared_header_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for name in ["x-debug", "x-original-url", "x-admin"] {
        both.check(
            async |gw: &Gateway| send(gw.request("GET", "/api/riders").header(name, "1")).await,
            400,
            "contract.param.undeclared",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn header_of_the_wrong_type_or_out_of_its_enum_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for (value, rule) in [
        ("two", "contract.param.type"),
        ("3", "contract.param.schema"),
    ] {
        both.check(
            async |gw: &Gateway| {
                send(
                    gw.request("GET", "/api/riders")
                        .header("x-api-version", value),
                )
                .await
            },
            400,
            rule,
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn standard_headers_are_always_allowed() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = send(
        gateway
            .request("GET", "/api/riders")
            .header("user-agent", "curl/8.5")
            .header("accept", "application/json")
            .header("accept-language", "en")
            .header("authorization", "Bearer abc.def.ghi")
            .header("cache-control", "no-cache")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .header("x-forwarded-for", "203.0.113.9")
            .header("x-requested-with", "XMLHttpRequest")
            .header("sec-fetch-mode", "cors")
            .header("X-Api-Version", "2"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = upstream.only_request();
    assert_eq!(seen.header("authorization"), Some("Bearer abc.def.ghi"));
    assert_eq!(seen.header("x-api-version"), Some("2"));
    gateway.finish().await.assert(&answer, "allowed", None);
}

#[tokio::test]
async fn configured_header_allowances_let_undeclared_headers_through() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"contract": {"allowed_headers": ["X-Tenant"]}}))
        .start()
        .await;
    let tenant = send(
        gateway
            .request("GET", "/api/riders")
            .header("x-tenant", "acme"),
    )
    .await;
    assert_eq!(tenant.status, 200, "{}", tenant.text());
    let other = send(gateway.request("GET", "/api/riders").header("x-debug", "1")).await;
    other.assert_problem(400, "contract.param.undeclared");
    gateway.finish().await;

    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"contract": {"undeclared_headers": "allow"}}))
        .start()
        .await;
    let answer = send(gateway.request("GET", "/api/riders").header("x-debug", "1")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().header("x-debug"), Some("1"));
    gateway.finish().await.assert(&answer, "allowed", None);
}

// --- cookies ----------------------------------------------------------------

#[tokio::test]
async fn undeclared_cookie_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| {
            send(
                gw.request("GET", "/api/riders")
                    .header("cookie", "theme=dark; is_admin=1"),
            )
            .await
        },
        400,
        "contract.param.undeclared",
    )
    .await;
}

#[tokio::test]
async fn cookie_out_of_its_enum_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| {
            send(
                gw.request("GET", "/api/riders")
                    .header("cookie", "theme=neon"),
            )
            .await
        },
        400,
        "contract.param.schema",
    )
    .await;
}

#[tokio::test]
async fn declared_cookie_passes_and_undeclared_ones_pass_when_allowed() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = send(
        gateway
            .request("GET", "/api/riders")
            .header("cookie", "theme=dark"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    gateway.finish().await.assert(&answer, "allowed", None);

    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"contract": {"undeclared_cookies": "allow"}}))
        .start()
        .await;
    let answer = send(
        gateway
            .request("GET", "/api/riders")
            .header("cookie", "theme=dark; tracking=abc"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        upstream.only_request().header("cookie"),
        Some("theme=dark; tracking=abc")
    );
}

// --- path parameters --------------------------------------------------------

#[tokio::test]
async fn path_parameter_of_the_wrong_type_or_out_of_bounds_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for (path, rule) in [
        ("/api/riders/abc", "contract.param.type"),
        ("/api/riders/1e3", "contract.param.type"),
        ("/api/riders/0", "contract.param.schema"),
        ("/api/riders/-4", "contract.param.schema"),
    ] {
        both.check(async |gw: &Gateway| gw.get(path).await, 400, rule)
            .await;
    }
    both.finish().await;
}

// --- request bodies ---------------------------------------------------------

#[tokio::test]
async fn valid_body_reaches_the_upstream_byte_for_byte() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    // writeOnly properties may be sent; odd spacing must survive untouched.
    let body = r#"{ "name":"ann",  "age": 30, "password":"correct horse" }"#;
    let answer = gateway.send_json("POST", "/api/riders", body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.json(), json!({"id": 2, "name": "ann"}));
    let seen = upstream.only_request();
    assert_eq!(seen.body, body.as_bytes());
    assert_eq!(seen.header("content-type"), Some("application/json"));
    gateway.finish().await.assert(&answer, "allowed", None);
}

#[tokio::test]
async fn read_only_property_in_a_body_is_422() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for body in [
        r#"{"name":"ann","role":"admin"}"#,
        r#"{"name":"ann","id":1}"#,
    ] {
        let seen = both
            .check(
                async |gw: &Gateway| gw.send_json("POST", "/api/riders", body).await,
                422,
                "contract.body.read-only",
            )
            .await;
        assert_eq!(
            seen.body,
            body.as_bytes(),
            "monitor forwards the body as sent"
        );
    }
    // Also where the schema leaves additionalProperties open.
    both.check(
        async |gw: &Gateway| {
            gw.send_json("PATCH", "/api/riders/7", r#"{"role":"admin"}"#)
                .await
        },
        422,
        "contract.body.read-only",
    )
    .await;
    both.finish().await;
}

#[tokio::test]
async fn undeclared_body_property_is_422_by_default() {
    let body = r#"{"name":"ann","is_admin":true}"#;
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for (method, path) in [("PATCH", "/api/riders/7"), ("POST", "/api/riders")] {
        let seen = both
            .check(
                async |gw: &Gateway| gw.send_json(method, path, body).await,
                422,
                "contract.body.undeclared",
            )
            .await;
        assert_eq!(seen.body, body.as_bytes());
    }
    both.finish().await;
}

#[tokio::test]
async fn undeclared_body_property_passes_an_open_schema_when_allowed() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"contract": {"undeclared_body_properties": "allow"}}))
        .start()
        .await;
    let body = r#"{"name":"ann","nickname":"a"}"#;
    let answer = gateway.send_json("PATCH", "/api/riders/7", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(upstream.only_request().body, body.as_bytes());
    gateway.finish().await.assert(&answer, "allowed", None);
}

#[tokio::test]
async fn additional_properties_false_defeats_mass_assignment_even_when_undeclared_properties_are_allowed()
 {
    enforced_and_monitored(
        RIDERS,
        json!({"contract": {"undeclared_body_properties": "allow"}}),
        async |gw: &Gateway| {
            gw.send_json("POST", "/api/riders", r#"{"name":"ann","is_admin":true}"#)
                .await
        },
        422,
        "contract.body.schema",
    )
    .await;
}

#[tokio::test]
async fn body_breaking_its_schema_is_422() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for body in [
        r#"{"name":"ann","age":7}"#,
        r#"{"name":""}"#,
        r#"{"name":42}"#,
        r#"{"age":30}"#,
        r#"[]"#,
    ] {
        both.check(
            async |gw: &Gateway| gw.send_json("POST", "/api/riders", body).await,
            422,
            "contract.body.schema",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let body = r#"{"name":"ann"}"#;
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        both.check(
            async |gw: &Gateway| {
                let mut request = gw.request("POST", "/api/riders").body(body);
                if let Some(ct) = content_type {
                    request = request.header("content-type", ct);
                }
                send(request).await
            },
            415,
            "contract.body.media-type",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn json_content_type_with_parameters_is_the_declared_type() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = send(
        gateway
            .request("POST", "/api/riders")
            .header("content-type", "Application/JSON; charset=utf-8")
            .body(r#"{"name":"ann"}"#),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
}

#[tokio::test]
async fn malformed_json_is_400() {
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for body in [
        r#"{"name":"#,
        "name=ann",
        r#"{"name":"ann"} {}"#,
        "\u{feff}{}",
    ] {
        both.check(
            async |gw: &Gateway| gw.send_json("POST", "/api/riders", body).await,
            400,
            "contract.body.malformed",
        )
        .await;
    }
    both.finish().await;
}

#[tokio::test]
async fn duplicate_keys_are_400() {
    // First-wins here and last-wins upstream is how "role" would slip past.
    let mut both = BothModes::start(RIDERS, json!({})).await;
    for body in [
        r#"{"name":"ann","name":"bob"}"#,
        r#"{"name":"ann","age":20,"age":30}"#,
    ] {
        let seen = both
            .check(
                async |gw: &Gateway| gw.send_json("POST", "/api/riders", body).await,
                400,
                "contract.body.malformed",
            )
            .await;
        assert_eq!(seen.body, body.as_bytes());
    }
    both.finish().await;
}

#[tokio::test]
async fn missing_required_body_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| send(gw.request("POST", "/api/riders")).await,
        400,
        "contract.body.missing",
    )
    .await;
}

#[tokio::test]
async fn body_sent_to_an_operation_without_one_is_400() {
    enforced_and_monitored(
        RIDERS,
        json!({}),
        async |gw: &Gateway| gw.send_json("GET", "/api/riders/7", r#"{"x":1}"#).await,
        400,
        "contract.body.unexpected",
    )
    .await;
}

#[tokio::test]
async fn json_body_over_the_limit_is_413() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"limits": {"max_request_body_bytes": 64}}))
        .start()
        .await;
    let fits = format!(r#"{{"name":"{}"}}"#, "a".repeat(20));
    let answer = gateway.send_json("POST", "/api/riders", &fits).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(100));
    let refused = gateway.send_json("POST", "/api/riders", &big).await;
    refused.assert_problem(413, "contract.body.too-large");
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the small body went through"
    );
    gateway
        .finish()
        .await
        .assert(&refused, "blocked", Some("contract.body.too-large"));
}

#[tokio::test]
async fn json_body_over_the_limit_is_413_in_monitor_mode_too() {
    // A limit bounds every exchange (see `Limits`): monitor does not lift it.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"mode": "monitor", "limits": {"max_request_body_bytes": 64}}))
        .start()
        .await;
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(100));
    let refused = gateway.send_json("POST", "/api/riders", &big).await;
    refused.assert_problem(413, "contract.body.too-large");
    upstream.assert_untouched();
    gateway
        .finish()
        .await
        .assert(&refused, "blocked", Some("contract.body.too-large"));
}

#[tokio::test]
async fn streamed_body_over_the_limit_is_413() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::builder(RIDERS, &upstream)
        .config(json!({"limits": {"max_request_body_bytes": 64}}))
        .start()
        .await;
    let small = send(
        gateway
            .request("PUT", "/api/uploads/a.bin")
            .header("content-type", "application/octet-stream")
            .body(vec![7u8; 64]),
    )
    .await;
    assert_eq!(small.status, 204, "{}", small.text());
    let big = send(
        gateway
            .request("PUT", "/api/uploads/b.bin")
            .header("content-type", "application/octet-stream")
            .body(vec![7u8; 4096]),
    )
    .await;
    big.assert_problem(413, "contract.body.too-large");
    let log = gateway.finish().await;
    log.assert(&big, "blocked", Some("contract.body.too-large"));
    // The upstream may have seen the head, but never a complete oversized body.
    assert!(
        upstream.requests().iter().all(|r| r.body.len() <= 64),
        "{:?}",
        upstream.requests()
    );
}

#[tokio::test]
async fn non_json_body_of_a_declared_type_is_streamed_through() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let bytes: Vec<u8> = (0..=255u8).collect();
    let answer = send(
        gateway
            .request("PUT", "/api/uploads/blob.bin")
            .header("content-type", "application/octet-stream")
            .body(bytes.clone()),
    )
    .await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert_eq!(upstream.only_request().body, bytes);
}

// --- OpenAPI 3.0: nullable and draft-4 semantics ------------------------------

const PETS_30: &str = r##"
openapi: 3.0.3
info: {title: Pets, version: "1.0"}
security: []
paths:
  /pets:
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
components:
  schemas:
    Pet:
      type: object
      additionalProperties: false
      required: [id, name]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
        tag: {type: string, nullable: true}
        weight: {type: number, minimum: 0, maximum: 100, exclusiveMaximum: true}
"##;

/// An upstream that stores the pet it is sent, as id 1.
async fn pet_store() -> Upstream {
    Upstream::start(|seen| {
        let mut pet = seen.json();
        pet["id"] = json!(1);
        Reply::json(201, pet)
    })
    .await
}

async fn post_pet(gateway: &Gateway, body: &str) -> Answer {
    gateway.send_json("POST", "/pets", body).await
}

#[tokio::test]
async fn oas30_nullable_admits_null_only_where_declared() {
    let upstream = pet_store().await;
    let gateway = Gateway::start(PETS_30, &upstream).await;
    let ok = post_pet(&gateway, r#"{"name":"rex","tag":null}"#).await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json(), json!({"id": 1, "name": "rex", "tag": null}));
    let refused = post_pet(&gateway, r#"{"name":null}"#).await;
    refused.assert_problem(422, "contract.body.schema");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn oas30_boolean_exclusive_maximum_is_draft4() {
    let upstream = pet_store().await;
    let gateway = Gateway::start(PETS_30, &upstream).await;
    let ok = post_pet(&gateway, r#"{"name":"rex","weight":99.5}"#).await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    let refused = post_pet(&gateway, r#"{"name":"rex","weight":100}"#).await;
    refused.assert_problem(422, "contract.body.schema");
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn oas30_read_only_and_closed_schemas_defeat_mass_assignment() {
    let upstream = pet_store().await;
    let gateway = Gateway::start(PETS_30, &upstream).await;
    post_pet(&gateway, r#"{"name":"rex","id":9}"#)
        .await
        .assert_problem(422, "contract.body.read-only");
    post_pet(&gateway, r#"{"name":"rex","owner":"me"}"#)
        .await
        .assert_problem(422, "contract.body.undeclared");
    upstream.assert_untouched();
}

#[tokio::test]
async fn oas30_response_nullable_is_honoured() {
    let upstream = Upstream::always(Reply::json(201, json!({"id": 1, "name": null}))).await;
    let gateway = Gateway::start(PETS_30, &upstream).await;
    post_pet(&gateway, r#"{"name":"rex"}"#)
        .await
        .assert_problem(502, "contract.response.schema");

    let upstream = Upstream::always(Reply::json(
        201,
        json!({"id": 1, "name": "rex", "tag": null}),
    ))
    .await;
    let gateway = Gateway::start(PETS_30, &upstream).await;
    let ok = post_pet(&gateway, r#"{"name":"rex"}"#).await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json(), json!({"id": 1, "name": "rex", "tag": null}));
}
