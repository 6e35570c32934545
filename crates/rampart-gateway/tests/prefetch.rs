//! Writes to objects whose owner is not in the request: with
//! `operations.<id>.prefetch`, Rampart first GETs the object (same path
//! parameters, same credentials), reads its owner from the answer and asks the
//! policies about the write before it reaches the upstream.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Gateway, Reply, Upstream};

const SPEC: &str = r##"
openapi: 3.1.0
info: {title: Notes, version: "1"}
servers: [{url: /api}]
security: [{bearer: []}]
paths:
  /notes/{noteId}:
    parameters:
      - {name: noteId, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getNote
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
    patch:
      operationId: updateNote
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Note"}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Note:
      type: object
      additionalProperties: false
      x-rampart-owner: /author
      x-rampart-id: /id
      properties:
        id: {type: integer, readOnly: true}
        author: {type: string, readOnly: true}
        text: {type: string}
"##;

const POLICIES: &str = r#"
@id("read-notes") permit(principal, action == Action::"getNote", resource);
@id("edit-own-notes") permit(principal, action == Action::"updateNote", resource)
  when { resource.owner == principal };
"#;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn token(sub: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": "notes", "aud": "notes", "sub": sub, "exp": now + 600});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

async fn gateway(upstream: &Upstream, dir: &std::path::Path) -> Gateway {
    std::fs::write(dir.join("notes.cedar"), POLICIES).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    Gateway::builder(SPEC, upstream)
        .config(json!({
            "identity": {"issuers": [{
                "issuer": "notes", "audiences": ["notes"], "algorithms": ["HS256"],
                "keys": [{"kid": "k", "alg": "HS256", "secret_file": dir.join("secret")}]
            }]},
            "authorization": {"policies": dir.join("notes.cedar")}
        }))
        .api(json!({"operations": {"updateNote": {"prefetch": "getNote"}}}))
        .start()
        .await
}

fn note_owned_by_alice(seen: &support::Seen) -> Reply {
    let body = json!({"id": 7, "author": "alice", "text": "hi"});
    if seen.method == "GET" || seen.method == "PATCH" {
        Reply::json(200, body)
    } else {
        Reply::empty(405)
    }
}

#[tokio::test]
async fn the_owner_may_write_after_the_prefetch() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start(note_owned_by_alice).await;
    let gw = gateway(&upstream, dir.path()).await;
    let answer = support::send(
        gw.request("PATCH", "/api/notes/7")
            .header("authorization", format!("Bearer {}", token("alice")))
            .header("content-type", "application/json")
            .body(r#"{"text":"edited"}"#),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2, "one pre-fetch, then the write");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path()),
        ("GET", "/api/notes/7")
    );
    assert_eq!(
        seen[0].header("authorization"),
        seen[1].header("authorization")
    );
    assert!(seen[0].body.is_empty());
    assert_eq!(seen[1].method, "PATCH");
    let log = gw.finish().await;
    let line = log.assert(&answer, "allowed", None);
    assert_eq!(line["policies"], json!(["edit-own-notes"]));
    assert_eq!(line["objects"], json!(["7"]));
}

#[tokio::test]
async fn someone_else_gets_404_and_the_write_never_reaches_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start(note_owned_by_alice).await;
    let gw = gateway(&upstream, dir.path()).await;
    let answer = support::send(
        gw.request("PATCH", "/api/notes/7")
            .header("authorization", format!("Bearer {}", token("mallory")))
            .header("content-type", "application/json")
            .body(r#"{"text":"defaced"}"#),
    )
    .await;
    answer.assert_problem(404, "authz.object");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "only the pre-fetch");
    assert_eq!(seen[0].method, "GET");
    gw.finish()
        .await
        .assert(&answer, "blocked", Some("authz.object"));
}

#[tokio::test]
async fn a_missing_object_refuses_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start(|_| Reply::json(404, json!({"error": "no"}))).await;
    let gw = gateway(&upstream, dir.path()).await;
    let answer = support::send(
        gw.request("PATCH", "/api/notes/8")
            .header("authorization", format!("Bearer {}", token("alice")))
            .header("content-type", "application/json")
            .body(r#"{"text":"x"}"#),
    )
    .await;
    answer.assert_problem(404, "authz.object");
    assert_eq!(upstream.requests().len(), 1);
}
