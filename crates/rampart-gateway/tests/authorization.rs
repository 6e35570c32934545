//! Cedar authorization in the pipeline, end to end over real sockets, with
//! a generic contract of our own (a workspace of accounts, notes and
//! documents), not the demo's:
//!
//! - function level (BFLA): a denied operation is 403 before the upstream;
//! - object level in the request phase (`x-rampart-resource`): 404 before
//!   the upstream, identical whether the object exists or not;
//! - object level in the response phase (`x-rampart-owner`,
//!   `x-rampart-private`): the full view, the restricted view
//!   (`x-rampart-visibility: owner` properties removed) or 404;
//! - lists and nested objects decided item by item;
//! - per-role writable fields (`x-rampart-writable-by`);
//! - privileged roles (`context.privileged`), the deciding policies in the
//!   security log, monitor mode, load errors with file and line, and hot
//!   reload of the policy file.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::identity::{IdentityFiles, bearer};
use support::{Answer, Gateway, Reply, Seen, Upstream, send};

/// The workspace API. Every operation needs a bearer token.
///
/// - `GET /accounts` and `GET /accounts/{accountId}`: `Account` objects,
///   owned by their `id`, private by their `private` flag, with `email` and
///   `phone` visible to the owner only. Ownership is only known from the
///   upstream's answer (response phase).
/// - `PATCH /accounts/{accountId}`: the path names the owner
///   (`x-rampart-resource`); `plan` may be set by admins only, `credits` by
///   admins and billing.
/// - `GET /accounts/{accountId}/notes/{noteId}`: the path names the owner
///   (request phase); notes carry no annotations.
/// - `GET /documents/{docId}`: an annotated `Document` with nested annotated
///   accounts (an author, a last editor, a list of reviewers).
/// - `GET /admin/export`: function level only.
const WORKSPACE: &str = r##"
openapi: 3.1.0
info: {title: Workspace, version: 1.0.0}
servers:
  - url: /api
security:
  - bearer: []
paths:
  /accounts:
    get:
      operationId: searchAccounts
      responses:
        "200":
          description: Matching accounts.
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Account"}
  /accounts/{accountId}:
    parameters:
      - {name: accountId, in: path, required: true, schema: {type: string, pattern: "^[a-z]{1,16}$"}}
    get:
      operationId: getAccount
      responses:
        "200":
          description: The account.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Account"}
        "404": {$ref: "#/components/responses/NotFound"}
    patch:
      operationId: updateAccount
      x-rampart-resource: {id: path.accountId, owner: path.accountId}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/AccountPatch"}
      responses:
        "200":
          description: The updated account.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Account"}
        "404": {$ref: "#/components/responses/NotFound"}
  /accounts/{accountId}/notes/{noteId}:
    parameters:
      - {name: accountId, in: path, required: true, schema: {type: string, pattern: "^[a-z]{1,16}$"}}
      - {name: noteId, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getNote
      x-rampart-resource: {id: path.noteId, owner: path.accountId}
      responses:
        "200":
          description: The note.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
        "404": {$ref: "#/components/responses/NotFound"}
  /documents/{docId}:
    get:
      operationId: getDocument
      parameters:
        - {name: docId, in: path, required: true, schema: {type: string, pattern: "^d[0-9]+$"}}
      responses:
        "200":
          description: The document.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Document"}
        "404": {$ref: "#/components/responses/NotFound"}
  /admin/export:
    get:
      operationId: exportAccounts
      responses:
        "200":
          description: The export.
          content:
            application/json:
              schema:
                type: object
                required: [count]
                properties:
                  count: {type: integer}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
  responses:
    NotFound:
      description: No such object.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
  schemas:
    Account:
      type: object
      additionalProperties: false
      x-rampart-owner: /id
      x-rampart-private: /private
      required: [id, name, private]
      properties:
        id: {type: string}
        name: {type: string}
        private: {type: boolean}
        plan: {type: string, enum: [free, pro]}
        email: {type: string, x-rampart-visibility: owner}
        phone: {type: string, x-rampart-visibility: owner}
    AccountPatch:
      type: object
      additionalProperties: false
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
        plan: {type: string, enum: [free, pro], x-rampart-writable-by: [admin]}
        credits: {type: integer, minimum: 0, x-rampart-writable-by: [admin, billing]}
    Note:
      type: object
      additionalProperties: false
      required: [id, text]
      properties:
        id: {type: integer}
        text: {type: string}
    Document:
      type: object
      additionalProperties: false
      x-rampart-id: /id
      x-rampart-owner: /owner
      x-rampart-private: /private
      required: [id, owner, private, title]
      properties:
        id: {type: string}
        owner: {type: string}
        private: {type: boolean}
        title: {type: string}
        body: {type: string, x-rampart-visibility: owner}
        author: {$ref: "#/components/schemas/Account"}
        lastEditor: {$ref: "#/components/schemas/Account"}
        reviewers:
          type: array
          items: {$ref: "#/components/schemas/Account"}
    Error:
      type: object
      required: [message]
      properties:
        message: {type: string}
"##;

/// The policies. The export permit has no `@id`: it is named
/// `workspace.cedar#4` (the fifth policy of the file).
const POLICIES: &str = r#"// Function level: who may call the read operations at all.
@id("members-read")
permit(principal, action in [Action::"getAccount", Action::"searchAccounts", Action::"getDocument"], resource)
  when { ["member", "admin", "support", "billing"].contains(principal.role) };

// Object level, response phase: other people's private objects do not exist for you.
@id("private-is-private")
forbid(principal, action in [Action::"getAccount", Action::"searchAccounts", Action::"getDocument"], resource)
  when { context.phase == "response" && resource.is_private && resource.owner != principal && !context.privileged };

// Object level, request phase: notes are their owner's (and privileged staff's).
@id("own-notes")
permit(principal, action == Action::"getNote", resource)
  when { resource.owner == principal || context.privileged };

@id("own-account-writes")
permit(principal, action == Action::"updateAccount", resource)
  when { resource.owner == principal || principal.role == "admin" };

// Function level: exporting is for admins (not for every privileged role).
permit(principal, action == Action::"exportAccounts", resource)
  when { principal.role == "admin" };

// Full view: the owner, and privileged roles.
@id("full-view")
permit(principal, action == Action::"fullView", resource)
  when { resource.owner == principal || context.privileged };
"#;

const EXPORT_POLICY_ID: &str = "workspace.cedar#4";

fn account(id: &str) -> Option<Value> {
    Some(match id {
        "alice" => json!({"id": "alice", "name": "Alice", "private": true, "plan": "pro",
                          "email": "alice@example.com", "phone": "+1-555-0101"}),
        "bob" => json!({"id": "bob", "name": "Bob", "private": false, "plan": "free",
                        "email": "bob@example.com", "phone": "+1-555-0102"}),
        "carol" => json!({"id": "carol", "name": "Carol", "private": true, "plan": "free",
                          "email": "carol@example.com"}),
        "dave" => json!({"id": "dave", "name": "Dave", "private": false}),
        "billy" => json!({"id": "billy", "name": "Billy", "private": false, "plan": "free",
                          "email": "billy@example.com"}),
        _ => return None,
    })
}

fn all_accounts() -> Value {
    json!(
        ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|id| account(id).unwrap())
            .collect::<Vec<_>>()
    )
}

fn document(id: &str) -> Option<Value> {
    let private = match id {
        "d1" => false,
        "d2" => true,
        _ => return None,
    };
    Some(json!({
        "id": id,
        "owner": "alice",
        "private": private,
        "title": format!("Quarterly plan {id}"),
        "body": "the numbers nobody else should see",
        "author": account("alice").unwrap(),
        "lastEditor": account("carol").unwrap(),
        "reviewers": [account("bob").unwrap(), account("carol").unwrap(), account("dave").unwrap()],
    }))
}

/// The upstream's genuine "no such object".
fn not_found(what: &str) -> Reply {
    Reply::json(404, json!({"message": format!("no such {what}")}))
}

/// The workspace service: answers from the data above, and never checks who
/// is asking (that is the gateway's job).
fn workspace_reply(seen: &Seen) -> Reply {
    let segments: Vec<&str> = seen.path().split('/').filter(|s| !s.is_empty()).collect();
    // HEAD is answered as GET is (hyper leaves the body out).
    let method = if seen.method == "HEAD" {
        "GET"
    } else {
        seen.method.as_str()
    };
    match (method, segments.as_slice()) {
        ("GET", ["api", "accounts"]) => Reply::json(200, all_accounts()),
        ("GET", ["api", "accounts", id]) => match account(id) {
            Some(a) => Reply::json(200, a),
            None => not_found("account"),
        },
        ("PATCH", ["api", "accounts", id]) => match account(id) {
            Some(mut a) => {
                let patch: Value = serde_json::from_slice(&seen.body).unwrap_or(json!({}));
                for k in ["name", "email", "plan"] {
                    if let Some(v) = patch.get(k) {
                        a[k] = v.clone();
                    }
                }
                Reply::json(200, a)
            }
            None => not_found("account"),
        },
        ("GET", ["api", "accounts", owner, "notes", "1"]) if account(owner).is_some() => {
            Reply::json(
                200,
                json!({"id": 1, "text": format!("{owner}'s first note")}),
            )
        }
        ("GET", ["api", "accounts", _, "notes", _]) => not_found("note"),
        ("GET", ["api", "documents", id]) => match document(id) {
            Some(d) => Reply::json(200, d),
            None => not_found("document"),
        },
        ("GET", ["api", "admin", "export"]) => Reply::json(200, json!({"count": 5})),
        _ => Reply::empty(500),
    }
}

/// What the upstream would answer for `GET path` (to compare with what the
/// client got).
fn upstream_json(path: &str) -> Value {
    let reply = workspace_reply(&Seen {
        method: "GET".into(),
        target: path.into(),
        version: http::Version::HTTP_11,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
        body_failed: false,
    });
    serde_json::from_slice(&reply.body).unwrap()
}

/// A workspace gateway: identity (HS256 tokens from `ids`), the policies in
/// `ids`'s directory, `admin` and `support` privileged, and `extra` config.
struct Workspace {
    ids: IdentityFiles,
    upstream: Upstream,
    gateway: Gateway,
}

impl Workspace {
    async fn start(extra: Value) -> Workspace {
        Workspace::start_with(POLICIES, extra).await
    }

    async fn start_with(policies: &str, extra: Value) -> Workspace {
        let ids = IdentityFiles::new();
        let policy_file = ids.write("workspace.cedar", policies);
        let upstream = Upstream::start(workspace_reply).await;
        let gateway = Gateway::builder(WORKSPACE, &upstream)
            .config(ids.config())
            .config(json!({"authorization": {
                "policies": policy_file,
                "privileged_roles": ["admin", "support"],
            }}))
            .config(extra)
            .start()
            .await;
        Workspace {
            ids,
            upstream,
            gateway,
        }
    }

    /// `GET path` as `sub` with `role`.
    async fn get(&self, who: (&str, &str), path: &str) -> Answer {
        let token = self.ids.token_for(who.0, who.1);
        send(bearer(self.gateway.request("GET", path), &token)).await
    }

    /// `PATCH path` with a JSON body as `sub` with `role`.
    async fn patch(&self, who: (&str, &str), path: &str, body: Value) -> Answer {
        let token = self.ids.token_for(who.0, who.1);
        send(
            bearer(self.gateway.request("PATCH", path), &token)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    fn upstream_calls(&self) -> usize {
        self.upstream.requests().len()
    }
}

const ALICE: (&str, &str) = ("alice", "member");
const BOB: (&str, &str) = ("bob", "member");
const BILLY: (&str, &str) = ("billy", "billing");
const ADMIN: (&str, &str) = ("root", "admin");
const SUPPORT: (&str, &str) = ("sam", "support");
const GUEST: (&str, &str) = ("gus", "guest");

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn policies(e: &Value) -> Vec<&str> {
    e["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

fn objects(e: &Value) -> Vec<&str> {
    e["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

// --- function level -----------------------------------------------------------

#[tokio::test]
async fn function_level_denial_is_403_before_the_upstream() {
    let w = Workspace::start(json!({})).await;
    let member = w.get(ALICE, "/api/admin/export").await;
    // Privileged for views, but not an admin: the export policy says admin.
    let support = w.get(SUPPORT, "/api/admin/export").await;
    // A role no policy mentions gets nothing, not even reads.
    let guest = w.get(GUEST, "/api/accounts/bob").await;
    for a in [&member, &support, &guest] {
        let p = a.assert_problem(403, "authz.function");
        assert_eq!(p["type"], "https://rampart.dev/problems/forbidden");
        assert_eq!(a.header("www-authenticate"), None);
    }
    assert_eq!(w.upstream_calls(), 0, "{:#?}", w.upstream.requests());
    let admin = w.get(ADMIN, "/api/admin/export").await;
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert_eq!(admin.json(), json!({"count": 5}));
    let anonymous = w.gateway.get("/api/admin/export").await;
    anonymous.assert_problem(401, "identity.missing");
    assert_eq!(w.upstream_calls(), 1);

    let log = w.gateway.finish().await;
    for (a, who) in [(&member, "alice"), (&support, "sam"), (&guest, "gus")] {
        let e = log.assert(a, "blocked", Some("authz.function"));
        assert_eq!(e["principal"], who, "{e}");
        // Denied by default: no policy decided.
        assert!(policies(e).is_empty(), "{e}");
        assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
    }
    let e = log.assert(&admin, "allowed", None);
    assert_eq!(policies(e), [EXPORT_POLICY_ID], "{e}");
    assert_eq!(e["principal"], "root");
}

// --- object level, request phase ------------------------------------------------

#[tokio::test]
async fn request_phase_object_denial_is_404_and_no_existence_oracle() {
    let w = Workspace::start(json!({})).await;
    // Alice asks for Bob's notes: one exists, one does not. Neither reaches
    // the upstream, and the two answers are the same.
    let existing = w.get(ALICE, "/api/accounts/bob/notes/1").await;
    let missing = w.get(ALICE, "/api/accounts/bob/notes/999").await;
    let nobody = w.get(ALICE, "/api/accounts/zed/notes/1").await;
    for a in [&existing, &missing, &nobody] {
        a.assert_problem(404, "authz.object");
    }
    assert_eq!(w.upstream_calls(), 0, "{:#?}", w.upstream.requests());
    let strip = |a: &Answer| {
        let mut v = a.json();
        let o = v.as_object_mut().unwrap();
        o.remove("request_id");
        o.remove("instance");
        v
    };
    assert_eq!(strip(&existing), strip(&missing));
    assert_eq!(strip(&existing), strip(&nobody));
    for h in ["content-type", "cache-control", "content-length"] {
        assert_eq!(existing.header(h), missing.header(h), "{h}");
    }
    // A real 404 from the upstream (Alice's own note that does not exist)
    // has the same status as the denial: a caller can never tell "not
    // yours" from "not there" by status.
    let real = w.get(ALICE, "/api/accounts/alice/notes/999").await;
    assert_eq!(real.status, existing.status);
    assert_eq!(real.json(), json!({"message": "no such note"}));
    // The owner, and a privileged role, reach the upstream.
    let own = w.get(ALICE, "/api/accounts/alice/notes/1").await;
    let support = w.get(SUPPORT, "/api/accounts/bob/notes/1").await;
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(support.json(), json!({"id": 1, "text": "bob's first note"}));
    assert_eq!(w.upstream_calls(), 3);

    let log = w.gateway.finish().await;
    for a in [&existing, &missing, &nobody] {
        let e = log.assert(a, "blocked", Some("authz.object"));
        assert_eq!(e["operation"], "getNote", "{e}");
        assert_eq!(e["upstream_status"], Value::Null, "{e}");
        assert!(!objects(e).is_empty(), "the object is named: {e}");
    }
    let e = log.assert(&existing, "blocked", Some("authz.object"));
    assert!(objects(e).contains(&"1"), "the note is named: {e}");
    assert_eq!(policies(log.assert(&own, "allowed", None)), ["own-notes"]);
    assert_eq!(
        policies(log.assert(&support, "allowed", None)),
        ["own-notes"]
    );
    let e = log.assert(&real, "allowed", None);
    assert_eq!(e["upstream_status"], 404, "{e}");
}

// --- object level, response phase -----------------------------------------------

#[tokio::test]
async fn response_phase_full_and_restricted_views() {
    let w = Workspace::start(json!({})).await;
    // The owner: everything.
    let own = w.get(ALICE, "/api/accounts/alice").await;
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(own.json(), account("alice").unwrap());
    // Someone else's public account: the restricted view.
    let public = w.get(ALICE, "/api/accounts/bob").await;
    assert_eq!(public.status, 200, "{}", public.text());
    let mut expected = account("bob").unwrap();
    let o = expected.as_object_mut().unwrap();
    o.remove("email");
    o.remove("phone");
    assert_eq!(public.json(), expected);
    assert_eq!(
        public.header("content-length"),
        Some(public.body.len().to_string().as_str())
    );
    // Someone else's private account: it does not exist for Alice.
    let private = w.get(ALICE, "/api/accounts/carol").await;
    let p = private.assert_problem(404, "authz.object");
    assert!(!private.text().contains("carol@"), "{p}");
    // An admin sees it all.
    let admin = w.get(ADMIN, "/api/accounts/carol").await;
    assert_eq!(admin.json(), account("carol").unwrap());
    assert_eq!(
        w.upstream_calls(),
        4,
        "the response phase runs after the upstream"
    );

    let log = w.gateway.finish().await;
    let e = log.assert(&own, "allowed", None);
    assert_eq!(policies(e), ["members-read", "full-view"], "{e}");
    assert_eq!(objects(e), ["alice"], "{e}");
    let e = log.assert(&public, "modified", Some("authz.view.restricted"));
    // Full view denied by default: only the permit of the action is named.
    assert_eq!(policies(e), ["members-read"], "{e}");
    assert_eq!(objects(e), ["bob"], "{e}");
    let e = log.assert(&private, "blocked", Some("authz.object"));
    assert_eq!(e["upstream_status"], 200, "{e}");
    assert!(
        policies(e).contains(&"private-is-private"),
        "the forbid is named: {e}"
    );
    assert_eq!(objects(e), ["carol"], "{e}");
    let e = log.assert(&admin, "allowed", None);
    assert_eq!(policies(e), ["members-read", "full-view"], "{e}");
}

#[tokio::test]
async fn response_phase_denial_is_indistinguishable_from_a_missing_object() {
    let w = Workspace::start(json!({})).await;
    // Carol's account exists and is private; Zed's does not exist.
    let denied = w.get(ALICE, "/api/accounts/carol").await;
    let missing = w.get(ALICE, "/api/accounts/zed").await;
    assert_eq!(denied.status, 404, "{}", denied.text());
    assert_eq!(missing.status, denied.status, "{}", missing.text());
    assert_eq!(
        missing.header("content-type"),
        denied.header("content-type"),
        "denied: {} / missing: {}",
        denied.text(),
        missing.text()
    );
    let strip = |a: &Answer| {
        let mut v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("request_id");
            o.remove("instance");
        }
        v
    };
    assert_eq!(strip(&denied), strip(&missing));
}

#[tokio::test]
async fn lists_are_filtered_and_redacted_item_by_item() {
    let w = Workspace::start(json!({})).await;
    let alice = w.get(ALICE, "/api/accounts").await;
    assert_eq!(alice.status, 200, "{}", alice.text());
    let list = alice.json();
    // Alice (hers, private): full. Bob (public): restricted. Carol (private,
    // not hers): dropped. Dave (public, nothing owner-only): unchanged.
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alice", "bob", "dave"]);
    assert_eq!(list[0], account("alice").unwrap());
    assert_eq!(keys(&list[1]), ["id", "name", "plan", "private"]);
    assert_eq!(list[2], account("dave").unwrap());
    assert!(!alice.text().contains("carol"), "{}", alice.text());
    // Bob sees himself in full, Alice dropped, Carol dropped.
    let bob = w.get(BOB, "/api/accounts").await;
    let list = bob.json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[0], account("bob").unwrap());
    assert_eq!(list[1], account("dave").unwrap());
    // Privileged: the whole list, untouched.
    let admin = w.get(ADMIN, "/api/accounts").await;
    assert_eq!(admin.json(), all_accounts());
    assert_eq!(admin.body, upstream_body_bytes("/api/accounts"));

    let log = w.gateway.finish().await;
    let e = log.assert(&alice, "modified", Some("authz.list.filtered"));
    assert!(
        e["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("authz.view.restricted")),
        "{e}"
    );
    assert_eq!(objects(e), ["alice", "bob", "carol", "dave"], "{e}");
    let ps = policies(e);
    for id in ["members-read", "full-view", "private-is-private"] {
        assert!(ps.contains(&id), "{id} in {e}");
    }
    let reason = e["reason"].as_str().unwrap();
    assert!(!reason.contains("carol@"), "{e}");
    log.assert(&bob, "modified", Some("authz.list.filtered"));
    log.assert(&admin, "allowed", None);
}

#[tokio::test]
async fn head_is_decided_like_get() {
    let w = Workspace::start(json!({})).await;
    let head = |path: &'static str| {
        let token = w.ids.token_for(ALICE.0, ALICE.1);
        send(bearer(w.gateway.request("HEAD", path), &token))
    };
    let get_denied = w.get(ALICE, "/api/accounts/carol").await;
    assert_eq!(get_denied.status, 404);
    let missing = head("/api/accounts/zed").await;
    assert_eq!(missing.status, 404);
    let denied = head("/api/accounts/carol").await;
    assert_eq!(
        denied.status, 404,
        "HEAD of an object GET denies must be denied too: {:?}",
        denied.headers
    );
    w.gateway.finish().await;
}

fn upstream_body_bytes(path: &str) -> bytes::Bytes {
    workspace_reply(&Seen {
        method: "GET".into(),
        target: path.into(),
        version: http::Version::HTTP_11,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
        body_failed: false,
    })
    .body
}

#[tokio::test]
async fn nested_annotated_objects_are_decided_on_their_own() {
    let w = Workspace::start(json!({})).await;
    // Alice owns d1: she sees the document in full, herself in full, Bob
    // (public) restricted; Carol (private) is dropped from the reviewers and
    // nulled as the last editor; Dave has nothing to hide.
    let owner = w.get(ALICE, "/api/documents/d1").await;
    assert_eq!(owner.status, 200, "{}", owner.text());
    let d = owner.json();
    assert_eq!(d["body"], "the numbers nobody else should see");
    assert_eq!(d["author"], account("alice").unwrap());
    assert_eq!(d["lastEditor"], Value::Null);
    let reviewers = d["reviewers"].as_array().unwrap();
    assert_eq!(reviewers.len(), 2, "{d}");
    assert_eq!(keys(&reviewers[0]), ["id", "name", "plan", "private"]);
    assert_eq!(reviewers[1], account("dave").unwrap());

    // Bob reads Alice's public document: restricted (no body); Alice's
    // private account as author is withheld; Bob sees himself in full.
    let reader = w.get(BOB, "/api/documents/d1").await;
    assert_eq!(reader.status, 200, "{}", reader.text());
    let d = reader.json();
    assert_eq!(
        keys(&d),
        [
            "author",
            "id",
            "lastEditor",
            "owner",
            "private",
            "reviewers",
            "title"
        ]
    );
    assert_eq!(d["author"], Value::Null);
    assert_eq!(d["lastEditor"], Value::Null);
    assert_eq!(
        d["reviewers"],
        json!([account("bob").unwrap(), account("dave").unwrap()])
    );
    assert!(!reader.text().contains("alice@"), "{}", reader.text());
    assert!(!reader.text().contains("carol@"), "{}", reader.text());

    // Alice's private document does not exist for Bob; it does for support.
    let private = w.get(BOB, "/api/documents/d2").await;
    private.assert_problem(404, "authz.object");
    let support = w.get(SUPPORT, "/api/documents/d2").await;
    assert_eq!(support.json(), upstream_json("/api/documents/d2"));

    let log = w.gateway.finish().await;
    let e = log.assert(&owner, "modified", Some("authz.list.filtered"));
    assert!(
        e["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("authz.view.restricted")),
        "{e}"
    );
    let objs = objects(e);
    for id in ["d1", "alice", "carol", "bob", "dave"] {
        assert!(objs.contains(&id), "{id} in {e}");
    }
    log.assert(&reader, "modified", Some("authz.view.restricted"));
    log.assert(&private, "blocked", Some("authz.object"));
    log.assert(&support, "allowed", None);
}

// --- writes ------------------------------------------------------------------------

#[tokio::test]
async fn writable_by_fields_refuse_members_and_allow_the_listed_roles() {
    let w = Workspace::start(json!({})).await;
    // A member may rename herself...
    let rename = w
        .patch(ALICE, "/api/accounts/alice", json!({"name": "Al"}))
        .await;
    assert_eq!(rename.status, 200, "{}", rename.text());
    assert_eq!(rename.json()["name"], "Al");
    // ...but not upgrade her own plan, nor grant herself credits.
    let plan = w
        .patch(
            ALICE,
            "/api/accounts/alice",
            json!({"name": "Al", "plan": "pro"}),
        )
        .await;
    let p = plan.assert_problem(403, "authz.write-field");
    assert_eq!(p["errors"][0]["location"], "body/plan", "{p}");
    let credits = w
        .patch(ALICE, "/api/accounts/alice", json!({"credits": 100}))
        .await;
    credits.assert_problem(403, "authz.write-field");
    assert_eq!(
        w.upstream_calls(),
        1,
        "refused writes never reach the upstream"
    );
    // Billing may set credits, not the plan.
    let billing = w
        .patch(BILLY, "/api/accounts/billy", json!({"credits": 100}))
        .await;
    assert_eq!(billing.status, 200, "{}", billing.text());
    let billing_plan = w
        .patch(BILLY, "/api/accounts/billy", json!({"plan": "pro"}))
        .await;
    billing_plan.assert_problem(403, "authz.write-field");
    // An admin may set both, on anyone's account.
    let admin = w
        .patch(
            ADMIN,
            "/api/accounts/alice",
            json!({"plan": "free", "credits": 5}),
        )
        .await;
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert_eq!(admin.json()["plan"], "free");
    let seen = w.upstream.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].json(), json!({"plan": "free", "credits": 5}));
    // A member patching someone else: no such object (request phase).
    let other = w
        .patch(ALICE, "/api/accounts/bob", json!({"name": "Bobby"}))
        .await;
    other.assert_problem(404, "authz.object");
    assert_eq!(w.upstream_calls(), 3);

    let log = w.gateway.finish().await;
    log.assert(&rename, "allowed", None);
    for a in [&plan, &credits, &billing_plan] {
        let e = log.assert(a, "blocked", Some("authz.write-field"));
        assert!(e["reason"].as_str().unwrap().contains("body/"), "{e}");
    }
    assert_eq!(log.assert(&billing, "allowed", None)["principal"], "billy");
    let e = log.assert(&admin, "allowed", None);
    assert!(policies(e).contains(&"own-account-writes"), "{e}");
    let e = log.assert(&other, "blocked", Some("authz.object"));
    assert!(objects(e).contains(&"bob"), "{e}");
}

// --- privileged roles -------------------------------------------------------------

#[tokio::test]
async fn privileged_roles_come_from_the_config_not_the_policy() {
    // `support` is privileged here...
    let w = Workspace::start(json!({})).await;
    let full = w.get(SUPPORT, "/api/accounts/carol").await;
    assert_eq!(full.json(), account("carol").unwrap());
    let list = w.get(SUPPORT, "/api/accounts").await;
    assert_eq!(list.json(), all_accounts());
    w.gateway.finish().await;
    // ...and with only `admin` privileged, the same token is an ordinary caller.
    let w = Workspace::start(json!({"authorization": {"privileged_roles": ["admin"]}})).await;
    let denied = w.get(SUPPORT, "/api/accounts/carol").await;
    denied.assert_problem(404, "authz.object");
    let restricted = w.get(SUPPORT, "/api/accounts/bob").await;
    assert_eq!(keys(&restricted.json()), ["id", "name", "plan", "private"]);
    let list = w.get(SUPPORT, "/api/accounts").await;
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    // A role claim is matched exactly: `Admin` is not `admin`.
    let spoof = w.get(("eve", "Admin"), "/api/accounts/carol").await;
    spoof.assert_problem(403, "authz.function");
    w.gateway.finish().await;
}

// --- the security log ----------------------------------------------------------------

#[tokio::test]
async fn every_decision_names_its_policies_principal_and_objects() {
    let w = Workspace::start(json!({})).await;
    let calls = [
        (
            w.get(ALICE, "/api/accounts/alice").await,
            "allowed",
            None,
            vec!["members-read", "full-view"],
        ),
        (
            w.get(ALICE, "/api/accounts/carol").await,
            "blocked",
            Some("authz.object"),
            vec!["members-read", "private-is-private"],
        ),
        (
            w.get(ADMIN, "/api/admin/export").await,
            "allowed",
            None,
            vec![EXPORT_POLICY_ID],
        ),
        (
            w.get(ALICE, "/api/admin/export").await,
            "blocked",
            Some("authz.function"),
            vec![],
        ),
        (
            w.get(ALICE, "/api/accounts/alice/notes/1").await,
            "allowed",
            None,
            vec!["own-notes"],
        ),
    ];
    let log = w.gateway.finish().await;
    for (answer, decision, rule, expected) in &calls {
        let e = log.assert(answer, decision, *rule);
        let mut got = policies(e);
        got.sort_unstable();
        let mut want = expected.clone();
        want.sort_unstable();
        assert_eq!(got, want, "{e}");
        assert!(e["principal"].is_string(), "{e}");
        assert!(e["objects"].is_array(), "{e}");
    }
    // No token text, no owner-only values, in the whole log.
    for event in &log.0 {
        let line = event.to_string();
        assert!(!line.contains("eyJ"), "{line}");
        assert!(!line.contains("@example.com"), "{line}");
    }
}

// --- monitor mode ------------------------------------------------------------------------

#[tokio::test]
async fn monitor_mode_decides_and_logs_but_never_blocks_or_modifies() {
    let w = Workspace::start(json!({"mode": "monitor"})).await;
    let private = w.get(ALICE, "/api/accounts/carol").await;
    let restricted = w.get(ALICE, "/api/accounts/bob").await;
    let list = w.get(ALICE, "/api/accounts").await;
    let nested = w.get(BOB, "/api/documents/d1").await;
    let export = w.get(ALICE, "/api/admin/export").await;
    let note = w.get(ALICE, "/api/accounts/bob/notes/1").await;
    for (a, path) in [
        (&private, "/api/accounts/carol"),
        (&restricted, "/api/accounts/bob"),
        (&list, "/api/accounts"),
        (&nested, "/api/documents/d1"),
        (&export, "/api/admin/export"),
        (&note, "/api/accounts/bob/notes/1"),
    ] {
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.body, upstream_body_bytes(path), "{path}: unchanged");
    }
    let write = w
        .patch(ALICE, "/api/accounts/alice", json!({"plan": "pro"}))
        .await;
    assert_eq!(write.status, 200, "{}", write.text());
    assert_eq!(
        w.upstream.requests().last().unwrap().json(),
        json!({"plan": "pro"})
    );
    assert_eq!(w.upstream_calls(), 7);

    let log = w.gateway.finish().await;
    for (a, rule, who) in [
        (&private, "authz.object", "alice"),
        (&restricted, "authz.view.restricted", "alice"),
        (&list, "authz.list.filtered", "alice"),
        (&nested, "authz.view.restricted", "bob"),
        (&export, "authz.function", "alice"),
        (&note, "authz.object", "alice"),
        (&write, "authz.write-field", "alice"),
    ] {
        let e = log.assert(a, "flagged", Some(rule));
        assert_eq!(e["mode"], "monitor", "{e}");
        assert_eq!(e["principal"], who, "{e}");
    }
    let e = log.assert(&private, "flagged", Some("authz.object"));
    assert!(policies(e).contains(&"private-is-private"), "{e}");
}

// --- load errors and hot reload ------------------------------------------------------

/// Write a config for the workspace with `policies` and load it.
fn load_with_policies(dir: &Path, policies: &str) -> Result<rampart_gateway::Runtime, String> {
    let spec = dir.join("workspace.yaml");
    std::fs::write(&spec, WORKSPACE).unwrap();
    let policy_file = dir.join("workspace.cedar");
    std::fs::write(&policy_file, policies).unwrap();
    let config: PathBuf = dir.join("rampart.yaml");
    let ids = IdentityFiles::new();
    let mut cfg = json!({
        "listen": "127.0.0.1:0",
        "apis": [{"name": "workspace", "spec": spec, "upstream": "http://127.0.0.1:9"}],
        "authorization": {"policies": policy_file},
        "log": {"security": dir.join("security.log")},
    });
    cfg["identity"] = ids.config()["identity"].clone();
    std::fs::write(&config, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    rampart_gateway::Runtime::load(&config).map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_policy_naming_an_unknown_action_is_refused_at_load_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_with_policies(dir.path(), POLICIES).is_ok());
    // Line 4: a typo in an operationId.
    let typo = "@id(\"ok\")\npermit(principal, action == Action::\"getAccount\", resource);\n\npermit(principal, action == Action::\"getAcount\", resource);\n";
    let err = load_with_policies(dir.path(), typo).unwrap_err();
    let file = dir.path().join("workspace.cedar");
    assert!(
        err.contains(&format!("{}:4:", file.display())),
        "names the file and line: {err}"
    );
    assert!(err.contains("getAcount"), "names the action: {err}");
    // An attribute the generated schema does not have.
    let attr = "permit(principal, action == Action::\"getAccount\", resource)\n  when { resource.ownr == principal };\n";
    let err = load_with_policies(dir.path(), attr).unwrap_err();
    assert!(err.contains(&format!("{}:2:", file.display())), "{err}");
    // A syntax error.
    let syntax = "permit(principal, action, resource);\n\n\npermit(principal action resource);\n";
    let err = load_with_policies(dir.path(), syntax).unwrap_err();
    assert!(err.contains(&format!("{}:4:", file.display())), "{err}");
}

/// Ask until `check` holds or `within` has passed.
async fn eventually<F: AsyncFn() -> bool>(within: Duration, check: F) -> bool {
    let until = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn editing_the_policy_file_changes_decisions_without_a_restart() {
    let w = Workspace::start(json!({})).await;
    let before = w.get(ALICE, "/api/admin/export").await;
    before.assert_problem(403, "authz.function");

    // Members may now export too.
    let policy_file = w.ids.path("workspace.cedar");
    let widened = POLICIES.replace(
        "when { principal.role == \"admin\" };",
        "when { principal.role == \"admin\" || principal.role == \"member\" };",
    );
    assert_ne!(widened, POLICIES);
    std::fs::write(&policy_file, &widened).unwrap();
    let reloaded = eventually(Duration::from_secs(15), async || {
        w.get(ALICE, "/api/admin/export").await.status == 200
    })
    .await;
    assert!(reloaded, "the new policy took effect without a restart");
    let after = w.get(ALICE, "/api/admin/export").await;
    assert_eq!(after.json(), json!({"count": 5}));

    // A broken edit is refused; the last good policies keep deciding.
    std::fs::write(
        &policy_file,
        format!("{widened}\npermit(principal, action == Action::\"exportAcounts\", resource);\n"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let still = w.get(ALICE, "/api/admin/export").await;
    assert_eq!(still.status, 200, "{}", still.text());
    let denied = w.get(ALICE, "/api/accounts/carol").await;
    denied.assert_problem(404, "authz.object");

    // Narrowed again: the decision flips back.
    std::fs::write(&policy_file, POLICIES).unwrap();
    let narrowed = eventually(Duration::from_secs(15), async || {
        w.get(ALICE, "/api/admin/export").await.status == 403
    })
    .await;
    assert!(narrowed, "the restored policy took effect");

    let log = w.gateway.finish().await;
    log.assert(&before, "blocked", Some("authz.function"));
    let e = log.assert(&after, "allowed", None);
    assert_eq!(policies(e), [EXPORT_POLICY_ID], "{e}");
}

#[tokio::test]
async fn without_policies_no_object_level_decision_is_made() {
    // Identity only: annotations are inert, every authenticated caller gets
    // the upstream's answer as it is.
    let ids = IdentityFiles::new();
    let upstream = Upstream::start(workspace_reply).await;
    let gateway = Gateway::builder(WORKSPACE, &upstream)
        .config(ids.config())
        .start()
        .await;
    let token = ids.token_for("alice", "member");
    let a = send(bearer(
        gateway.request("GET", "/api/accounts/carol"),
        &token,
    ))
    .await;
    assert_eq!(a.body, upstream_body_bytes("/api/accounts/carol"));
    let log = gateway.finish().await;
    let e = log.assert(&a, "allowed", None);
    assert!(policies(e).is_empty(), "{e}");
}
