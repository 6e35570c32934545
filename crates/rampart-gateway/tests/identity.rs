//! Identity through the real gateway, over real sockets: the JWT attack
//! set, valid tokens (static keys, JWKS with rotation, OIDC discovery), API
//! keys, scopes, public and unsecured operations, revocation and monitor
//! mode.
//!
//! Every refusal is checked end to end: the status, the challenge, the
//! RFC 9457 problem with the deciding rule, an upstream that was never
//! reached, and a security event that names the rule and a reason but never
//! carries the credential.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::identity::{
    AUDIENCE, ApiKey, HS_KID, ISSUER, IdentityFiles, RSA_KID, bearer, claims, claims_with, header,
    now, other_rsa_key, payload, raw_token, rsa_key, sign, with_payload,
};
use support::{Answer, Gateway, Reply, SecurityLog, Upstream, send};

/// A contract whose operations each ask for one kind of credential. No
/// root `security`: `unsecured` declares none at all.
const NOTES: &str = r##"
openapi: 3.1.0
info: {title: Notes, version: 1.0.0}
servers:
  - url: /api
paths:
  /notes:
    get:
      operationId: listNotes
      security: [{bearer: []}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /oauth:
    get:
      operationId: viaOauth
      security: [{oauth: ["notes:write"]}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /oidc:
    get:
      operationId: viaOidc
      security: [{oidc: []}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /keyed/header:
    get:
      operationId: headerKey
      security: [{headerKey: []}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /keyed/query:
    get:
      operationId: queryKey
      security: [{queryKey: []}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /keyed/reports:
    get:
      operationId: reportsKey
      security: [{headerKey: ["reports:read"]}]
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /public:
    get:
      operationId: publicNotes
      security: []
      responses: {"200": {$ref: "#/components/responses/Ok"}}
  /unsecured:
    get:
      operationId: unsecured
      responses: {"200": {$ref: "#/components/responses/Ok"}}
components:
  responses:
    Ok:
      description: OK.
      content:
        application/json:
          schema: {type: object, properties: {ok: {type: boolean}}}
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://idp.test/token
          scopes: {"notes:read": Read notes., "notes:write": Write notes.}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://idp.test/.well-known/openid-configuration"}
    headerKey: {type: apiKey, in: header, name: X-Api-Key}
    queryKey: {type: apiKey, in: query, name: api_key}
"##;

async fn ok_upstream() -> Upstream {
    Upstream::always(Reply::json(200, json!({"ok": true}))).await
}

async fn get_with(gateway: &Gateway, path: &str, token: &str) -> Answer {
    send(bearer(gateway.request("GET", path), token)).await
}

/// Assert a 401 refusal of a credential: challenge, problem, rule, and no
/// trace of `secret` in the response.
#[track_caller]
fn assert_unauthorized(answer: &Answer, rule: &str, secret: &str) {
    answer.assert_problem(401, rule);
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer realm=\"rampart\""),
        "{answer:?}"
    );
    assert!(
        secret.is_empty() || !answer.text().contains(secret),
        "the credential is echoed: {}",
        answer.text()
    );
}

/// Pieces of a credential long enough to identify it: the whole text and,
/// for a JWT, each segment.
fn fragments(secret: &str) -> Vec<&str> {
    let mut out = vec![secret];
    out.extend(secret.split('.').filter(|s| s.len() >= 12));
    out
}

/// Assert no event of the log carries `secret` or any part of it.
#[track_caller]
fn assert_not_logged(log: &SecurityLog, secret: &str) {
    for event in &log.0 {
        let line = event.to_string();
        for f in fragments(secret) {
            assert!(!line.contains(f), "credential text in the log: {line}");
        }
    }
}

/// Assert the exchange is logged `blocked` by `rule`, with a reason, no
/// principal, and no credential text.
#[track_caller]
fn assert_blocked(log: &SecurityLog, answer: &Answer, rule: &str, secret: &str) {
    let e = log.assert(answer, "blocked", Some(rule));
    assert!(
        e["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "a reason is logged: {e}"
    );
    assert_eq!(e["principal"], Value::Null, "{e}");
    assert_eq!(e["operation"], "listNotes", "{e}");
    assert_not_logged(log, secret);
}

/// Send each `(token, rule)` attack to a gateway trusting `ids` (plus
/// `config`), and check every refusal end to end.
async fn attacks_refused_with(ids: &IdentityFiles, config: Value, attacks: &[(String, &str)]) {
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(config)
        .start()
        .await;
    let mut answers = Vec::new();
    for (token, rule) in attacks {
        let answer = get_with(&gateway, "/api/notes", token).await;
        assert_unauthorized(&answer, rule, token);
        answers.push(answer);
    }
    upstream.assert_untouched();
    let log = gateway.finish().await;
    for ((token, rule), answer) in attacks.iter().zip(&answers) {
        assert_blocked(&log, answer, rule, token);
    }
}

async fn attacks_refused(attacks: &[(String, &str)]) {
    attacks_refused_with(&IdentityFiles::new(), json!({}), attacks).await;
}

// --- the JWT attack set -------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let mut attacks = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        // Unsigned, as RFC 7519 section 6 writes it, and with a kid and some
        // signature bytes attached.
        attacks.push((
            raw_token(&json!({"alg": alg, "typ": "JWT"}), &claims("mallory"), b""),
            "identity.jwt.algorithm",
        ));
        attacks.push((
            raw_token(
                &json!({"alg": alg, "kid": RSA_KID}),
                &claims("mallory"),
                b"signature",
            ),
            "identity.jwt.algorithm",
        ));
    }
    attacks_refused(&attacks).await;
}

#[tokio::test]
async fn rs256_to_hs256_confusion_is_refused() {
    // The RSA public key is public: the attacker HMAC-signs with its PEM text
    // (and its DER-ish variants) and names the RSA key, hoping the verifier
    // feeds that key to HMAC. The issuer allows HS256 too, so only the key's
    // own type stands in the way.
    let pem = rsa_key().public_pem.clone();
    let mut attacks = Vec::new();
    for secret in [pem.as_str(), pem.trim_end()] {
        let forged = sign(
            &header(Algorithm::HS256, RSA_KID),
            &claims_with("mallory", json!({"role": "admin"})),
            &EncodingKey::from_secret(secret.as_bytes()),
        );
        attacks.push((forged, "identity.jwt.algorithm"));
    }
    // Without a kid, two keys could be meant: none is chosen.
    let no_kid = sign(
        &Header::new(Algorithm::HS256),
        &claims("mallory"),
        &EncodingKey::from_secret(pem.as_bytes()),
    );
    attacks.push((no_kid, "identity.jwt.unknown_key"));
    attacks_refused(&attacks).await;
}

#[tokio::test]
async fn rs256_to_hs256_confusion_against_an_rs256_only_issuer() {
    let ids = IdentityFiles::new();
    let rs_only = json!({"identity": {"issuers": [{
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "keys": [{"kid": RSA_KID, "alg": "RS256", "public_key_file": ids.path("rsa.pub.pem")}],
    }]}});
    let pem = rsa_key().public_pem.as_bytes();
    let attacks: Vec<(String, &str)> = [Some(RSA_KID), None]
        .into_iter()
        .map(|kid| {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = kid.map(str::to_string);
            let forged = sign(&h, &claims("mallory"), &EncodingKey::from_secret(pem));
            (forged, "identity.jwt.algorithm")
        })
        .collect();
    attacks_refused_with(&ids, rs_only, &attacks).await;
}

#[tokio::test]
async fn a_token_signed_with_the_wrong_key_is_refused() {
    let ids = IdentityFiles::new();
    // The attacker's RSA key, claiming to be the issuer's.
    let wrong_rsa = sign(
        &header(Algorithm::RS256, RSA_KID),
        &claims("mallory"),
        &other_rsa_key().encoding(),
    );
    // A guessed HMAC secret, long enough to be accepted as one.
    let wrong_hmac = sign(
        &header(Algorithm::HS256, HS_KID),
        &claims("mallory"),
        &EncodingKey::from_secret(b"not-the-secret-not-the-secret-not-the-secret"),
    );
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (wrong_rsa, "identity.jwt.bad_signature"),
            (wrong_hmac, "identity.jwt.bad_signature"),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let ids = IdentityFiles::new();
    // An hour past exp, well beyond the 30 s leeway.
    let expired = ids.rs256(&claims_with(
        "alice",
        json!({"iat": now() - 7200, "exp": now() - 3600}),
    ));
    // Just past exp plus the leeway.
    let barely = ids.hs256(&claims_with(
        "alice",
        json!({"iat": now() - 600, "exp": now() - 31}),
    ));
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (expired, "identity.jwt.expired"),
            (barely, "identity.jwt.expired"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let ids = IdentityFiles::new();
    let early = ids.rs256(&claims_with("alice", json!({"nbf": now() + 3600})));
    let future = ids.hs256(&claims_with("alice", json!({"iat": now() + 3600})));
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (early, "identity.jwt.not_yet_valid"),
            (future, "identity.jwt.issued_in_future"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let ids = IdentityFiles::new();
    let other = ids.rs256(&claims_with("alice", json!({"aud": "billing-api"})));
    let several = ids.hs256(&claims_with(
        "alice",
        json!({"aud": ["billing-api", "search-api"]}),
    ));
    let mut none = claims("alice");
    none.as_object_mut().unwrap().remove("aud");
    let missing = ids.hs256(&none);
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (other, "identity.jwt.audience"),
            (several, "identity.jwt.audience"),
            (missing, "identity.jwt.audience"),
        ],
    )
    .await;
}

#[tokio::test]
async fn tampered_claims_are_refused() {
    let ids = IdentityFiles::new();
    let mut attacks = Vec::new();
    for genuine in [
        ids.rs256(&claims_with("alice", json!({"role": "member"}))),
        ids.hs256(&claims_with("alice", json!({"role": "member"}))),
    ] {
        // Same header and signature; the payload now says admin, or someone else.
        let mut escalated = payload(&genuine);
        escalated["role"] = json!("admin");
        attacks.push((
            with_payload(&genuine, &escalated),
            "identity.jwt.bad_signature",
        ));
        let mut impersonated = payload(&genuine);
        impersonated["sub"] = json!("bob");
        attacks.push((
            with_payload(&genuine, &impersonated),
            "identity.jwt.bad_signature",
        ));
        let mut extended = payload(&genuine);
        extended["exp"] = json!(now() + 86_400 * 365);
        attacks.push((
            with_payload(&genuine, &extended),
            "identity.jwt.bad_signature",
        ));
    }
    attacks_refused_with(&ids, json!({}), &attacks).await;
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let ids = IdentityFiles::new();
    let unknown = sign(
        &header(Algorithm::RS256, "rsa-2"),
        &claims("alice"),
        &rsa_key().encoding(),
    );
    // `kid` is an opaque lookup key: path tricks and injection text match nothing.
    let traversal = sign(
        &header(Algorithm::HS256, "../../../../dev/null"),
        &claims("alice"),
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
    );
    let injection = sign(
        &header(Algorithm::RS256, "rsa-1' OR '1'='1"),
        &claims("alice"),
        &other_rsa_key().encoding(),
    );
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (unknown, "identity.jwt.unknown_key"),
            (traversal, "identity.jwt.unknown_key"),
            (injection, "identity.jwt.unknown_key"),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_oversized_token_is_refused_before_parsing() {
    let ids = IdentityFiles::new();
    // A correctly signed token, over the default 8 KiB limit (and under the
    // 16 KiB header limit, so the identity phase is what refuses it).
    let padded = ids.hs256(&claims_with("alice", json!({"pad": "x".repeat(9000)})));
    assert!(
        padded.len() > 8192 && padded.len() < 14_000,
        "{}",
        padded.len()
    );
    // Garbage of the same size: refused for its size, not its content.
    let garbage = "A".repeat(9000);
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (padded, "identity.too_large"),
            (garbage, "identity.too_large"),
        ],
    )
    .await;
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_are_never_followed() {
    // The attacker hosts a JWKS with their own key and points the token at it.
    let attacker = Upstream::always(Reply::json(
        200,
        json!({"keys": [other_rsa_key().jwk("evil")]}),
    ))
    .await;
    let jwks = format!("{}/jwks.json", attacker.url());
    let cert = format!("{}/cert.pem", attacker.url());
    let attacker_key = other_rsa_key().encoding();
    let evil_header = |kid: &str| {
        let mut h = header(Algorithm::RS256, kid);
        h.jku = Some(jwks.clone());
        h.x5u = Some(cert.clone());
        h
    };
    // A kid only the attacker's set has: unknown to the issuer.
    let foreign_kid = sign(&evil_header("evil"), &claims("mallory"), &attacker_key);
    // The issuer's own kid: the attacker's signature does not verify with it.
    let own_kid = sign(&evil_header(RSA_KID), &claims("mallory"), &attacker_key);
    // The key embedded in the header itself.
    let mut embedded = header(Algorithm::RS256, RSA_KID);
    embedded.jwk = Some(serde_json::from_value(other_rsa_key().jwk(RSA_KID)).unwrap());
    let embedded = sign(&embedded, &claims("mallory"), &attacker_key);
    // A hand-written header with x5c, in case a library were to trust it.
    let x5c = raw_token(
        &json!({"alg": "RS256", "kid": "evil", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"], "x5u": cert}),
        &claims("mallory"),
        b"signature",
    );
    attacks_refused(&[
        (foreign_kid, "identity.jwt.unknown_key"),
        (own_kid, "identity.jwt.bad_signature"),
        (embedded, "identity.jwt.bad_signature"),
        (x5c, "identity.jwt.unknown_key"),
    ])
    .await;
    assert!(
        attacker.requests().is_empty(),
        "the gateway fetched what the token pointed at: {:#?}",
        attacker.requests()
    );
}

#[tokio::test]
async fn malformed_and_foreign_tokens_are_refused() {
    let ids = IdentityFiles::new();
    let foreign = sign(
        &header(Algorithm::RS256, RSA_KID),
        &claims_with("alice", json!({"iss": "https://evil.test"})),
        &rsa_key().encoding(),
    );
    let mut no_iss = claims("alice");
    no_iss.as_object_mut().unwrap().remove("iss");
    let anonymous_iss = ids.hs256(&no_iss);
    let mut no_sub = claims("alice");
    no_sub.as_object_mut().unwrap().remove("sub");
    let no_sub = ids.hs256(&no_sub);
    let mut no_exp = claims("alice");
    no_exp.as_object_mut().unwrap().remove("exp");
    let no_exp = ids.hs256(&no_exp);
    attacks_refused_with(
        &ids,
        json!({}),
        &[
            (foreign, "identity.jwt.unknown_issuer"),
            (anonymous_iss, "identity.jwt.unknown_issuer"),
            (no_sub, "identity.jwt.missing_claim"),
            (no_exp, "identity.jwt.missing_claim"),
            ("not-a-jwt-at-all".to_string(), "identity.jwt.malformed"),
            ("a.b".to_string(), "identity.jwt.malformed"),
            (
                raw_token(
                    &json!({"alg": "HS256", "crit": ["exp"]}),
                    &claims("a"),
                    b"s",
                ),
                "identity.jwt.malformed",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn no_credentials_at_all_is_refused_with_a_challenge() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let missing = gateway.get("/api/notes").await;
    assert_unauthorized(&missing, "identity.missing", "");
    let wrong_scheme = send(
        gateway
            .request("GET", "/api/notes")
            .header("authorization", "Basic YWxpY2U6c2VjcmV0"),
    )
    .await;
    assert_unauthorized(&wrong_scheme, "identity.missing", "YWxpY2U6c2VjcmV0");
    let empty = send(
        gateway
            .request("GET", "/api/notes")
            .header("authorization", "Bearer "),
    )
    .await;
    assert_unauthorized(&empty, "identity.missing", "");
    upstream.assert_untouched();
    let log = gateway.finish().await;
    for a in [&missing, &wrong_scheme, &empty] {
        log.assert(a, "blocked", Some("identity.missing"));
    }
    assert_not_logged(&log, "YWxpY2U6c2VjcmV0");
}

// --- valid credentials -----------------------------------------------------------

#[tokio::test]
async fn valid_rs256_and_hs256_tokens_pass_and_name_the_principal() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let rs = ids.rs256(&claims("alice"));
    let hs = ids.hs256(&claims("bob"));
    let by_rs = get_with(&gateway, "/api/notes", &rs).await;
    let by_hs = get_with(&gateway, "/api/notes", &hs).await;
    // The same token again: the cached verification.
    let again = get_with(&gateway, "/api/notes", &rs).await;
    // Scheme names are case-insensitive.
    let lower = send(
        gateway
            .request("GET", "/api/notes")
            .header("authorization", format!("bearer {hs}")),
    )
    .await;
    for a in [&by_rs, &by_hs, &again, &lower] {
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json(), json!({"ok": true}));
    }
    assert_eq!(upstream.requests().len(), 4);
    let log = gateway.finish().await;
    for (a, who) in [
        (&by_rs, "alice"),
        (&by_hs, "bob"),
        (&again, "alice"),
        (&lower, "bob"),
    ] {
        let e = log.assert(a, "allowed", None);
        assert_eq!(e["principal"], who, "{e}");
    }
    assert_not_logged(&log, &rs);
    assert_not_logged(&log, &hs);
}

#[tokio::test]
async fn oauth2_and_openid_connect_schemes_read_the_bearer_token() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let writer = ids.rs256(&claims_with(
        "alice",
        json!({"scope": "notes:read notes:write"}),
    ));
    let oauth = get_with(&gateway, "/api/oauth", &writer).await;
    let oidc = get_with(&gateway, "/api/oidc", &writer).await;
    assert_eq!(oauth.status, 200, "{}", oauth.text());
    assert_eq!(oidc.status, 200, "{}", oidc.text());
    let none = gateway.get("/api/oidc").await;
    assert_unauthorized(&none, "identity.missing", "");
    let log = gateway.finish().await;
    assert_eq!(log.assert(&oauth, "allowed", None)["principal"], "alice");
    assert_eq!(log.assert(&oidc, "allowed", None)["principal"], "alice");
}

#[tokio::test]
async fn a_missing_scope_is_refused_with_403() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let reader = ids.rs256(&claims_with("alice", json!({"scope": "notes:read"})));
    let unscoped = ids.hs256(&claims("alice"));
    // A scope that merely contains the required one as a substring.
    let lookalike = ids.hs256(&claims_with("alice", json!({"scope": "notes:writer"})));
    let writer_array = ids.hs256(&claims_with("alice", json!({"scope": ["notes:write"]})));
    let mut refused = Vec::new();
    for t in [&reader, &unscoped, &lookalike] {
        let a = get_with(&gateway, "/api/oauth", t).await;
        a.assert_problem(403, "identity.insufficient_scope");
        assert_eq!(a.header("www-authenticate"), None, "403 is no challenge");
        refused.push(a);
    }
    upstream.assert_untouched();
    let allowed = get_with(&gateway, "/api/oauth", &writer_array).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    let log = gateway.finish().await;
    for a in &refused {
        log.assert(a, "blocked", Some("identity.insufficient_scope"));
    }
    log.assert(&allowed, "allowed", None);
}

// --- JWKS and OIDC discovery ---------------------------------------------------

fn jwks_issuer(url: &str, min_refresh: u64) -> Value {
    json!({"identity": {"issuers": [{
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "jwks_url": url,
        "jwks_min_refresh_seconds": min_refresh,
    }]}})
}

fn rs256_with(kid: &str, key: &EncodingKey, sub: &str) -> String {
    sign(&header(Algorithm::RS256, kid), &claims(sub), key)
}

#[tokio::test]
async fn jwks_keys_are_fetched_cached_and_rotated() {
    let (idp, script) = Upstream::scripted().await;
    script.answer(Reply::json(200, json!({"keys": [rsa_key().jwk("k1")]})));
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(jwks_issuer(&format!("{}/jwks.json", idp.url()), 0))
        .start()
        .await;
    let k1 = rsa_key().encoding();
    let k2 = other_rsa_key().encoding();

    // First token: the keys are fetched once.
    let first = rs256_with("k1", &k1, "alice");
    let a = get_with(&gateway, "/api/notes", &first).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(idp.requests().len(), 1);
    assert_eq!(idp.requests()[0].path(), "/jwks.json");
    // Another token with the same key, and the first one again: no fetch.
    let b = get_with(&gateway, "/api/notes", &rs256_with("k1", &k1, "bob")).await;
    let c = get_with(&gateway, "/api/notes", &first).await;
    assert_eq!((b.status, c.status), (200, 200));
    assert_eq!(idp.requests().len(), 1, "keys and tokens are cached");

    // The provider rotates to k2 and retires k1.
    script.answer(Reply::json(
        200,
        json!({"keys": [other_rsa_key().jwk("k2")]}),
    ));
    let rotated = get_with(&gateway, "/api/notes", &rs256_with("k2", &k2, "carol")).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    assert_eq!(idp.requests().len(), 2, "an unknown kid refetches the keys");
    // A new token signed with the retired key no longer verifies.
    let retired_token = rs256_with("k1", &k1, "dave");
    let retired = get_with(&gateway, "/api/notes", &retired_token).await;
    assert_unauthorized(&retired, "identity.jwt.unknown_key", &retired_token);

    let log = gateway.finish().await;
    assert_eq!(log.assert(&a, "allowed", None)["principal"], "alice");
    assert_eq!(log.assert(&rotated, "allowed", None)["principal"], "carol");
    assert_blocked(&log, &retired, "identity.jwt.unknown_key", &retired_token);
}

#[tokio::test]
async fn unknown_kids_do_not_hammer_the_identity_provider() {
    let idp = Upstream::always(Reply::json(200, json!({"keys": [rsa_key().jwk("k1")]}))).await;
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(jwks_issuer(&format!("{}/jwks.json", idp.url()), 3600))
        .start()
        .await;
    let good = get_with(
        &gateway,
        "/api/notes",
        &rs256_with("k1", &rsa_key().encoding(), "a"),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.text());
    let mut refused = Vec::new();
    for i in 0..5 {
        let t = rs256_with(
            &format!("random-{i}"),
            &other_rsa_key().encoding(),
            "mallory",
        );
        let a = get_with(&gateway, "/api/notes", &t).await;
        assert_unauthorized(&a, "identity.jwt.unknown_key", &t);
        refused.push(a);
    }
    assert_eq!(
        idp.requests().len(),
        1,
        "refetches are rate-limited: {:#?}",
        idp.requests()
    );
    let log = gateway.finish().await;
    for a in &refused {
        log.assert(a, "blocked", Some("identity.jwt.unknown_key"));
    }
}

#[tokio::test]
async fn an_unreachable_jwks_answers_503_not_401() {
    let idp = Upstream::always(Reply::empty(500)).await;
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(jwks_issuer(&format!("{}/jwks.json", idp.url()), 0))
        .start()
        .await;
    let token = rs256_with("k1", &rsa_key().encoding(), "alice");
    let a = get_with(&gateway, "/api/notes", &token).await;
    let p = a.assert_problem(503, "identity.jwt.key_unavailable");
    assert_eq!(
        p["type"],
        "https://rampart.dev/problems/identity-unavailable"
    );
    upstream.assert_untouched();
    assert!(!idp.requests().is_empty());
    let log = gateway.finish().await;
    log.assert(&a, "blocked", Some("identity.jwt.key_unavailable"));
    assert_not_logged(&log, &token);
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks() {
    // The provider's base URL is the issuer; discovery names the JWKS.
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let seen_base = base.clone();
    let idp = Upstream::start(move |seen| {
        let base = seen_base.get().cloned().unwrap_or_default();
        match seen.path() {
            "/.well-known/openid-configuration" => Reply::json(
                200,
                json!({"issuer": base, "jwks_uri": format!("{base}/keys")}),
            ),
            "/keys" => Reply::json(200, json!({"keys": [rsa_key().jwk("k1")]})),
            _ => Reply::empty(404),
        }
    })
    .await;
    base.set(idp.url()).unwrap();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(json!({"identity": {"issuers": [{
            "issuer": idp.url(),
            "audiences": [AUDIENCE],
            "algorithms": ["RS256"],
            "discovery": true,
        }]}}))
        .start()
        .await;
    let token = sign(
        &header(Algorithm::RS256, "k1"),
        &claims_with("alice", json!({"iss": idp.url()})),
        &rsa_key().encoding(),
    );
    let a = get_with(&gateway, "/api/notes", &token).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let paths: Vec<String> = idp
        .requests()
        .iter()
        .map(|s| s.path().to_string())
        .collect();
    assert_eq!(paths, ["/.well-known/openid-configuration", "/keys"]);
    let log = gateway.finish().await;
    assert_eq!(log.assert(&a, "allowed", None)["principal"], "alice");
}

// --- API keys ------------------------------------------------------------------------

#[tokio::test]
async fn api_keys_in_a_header_or_the_query() {
    let ids = IdentityFiles::new();
    let reports = ApiKey::new(
        "reports-bot",
        "svc-reports",
        Some("service"),
        &["reports:read"],
    );
    let plain = ApiKey::new("plain", "svc-plain", None, &[]);
    let file = ids.api_keys(&[&reports, &plain]);
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(json!({"identity": {"api_keys_file": file}}))
        .start()
        .await;
    let key_header = |key: &str| {
        gateway
            .request("GET", "/api/keyed/header")
            .header("x-api-key", key.to_string())
    };
    let in_header = send(key_header(&plain.key)).await;
    let in_query = gateway
        .get(&format!("/api/keyed/query?api_key={}", reports.key))
        .await;
    let scoped = send(
        gateway
            .request("GET", "/api/keyed/reports")
            .header("x-api-key", reports.key.clone()),
    )
    .await;
    for a in [&in_header, &in_query, &scoped] {
        assert_eq!(a.status, 200, "{}", a.text());
    }
    assert_eq!(upstream.requests().len(), 3);

    // A near miss (one character changed), another scheme's key, nothing.
    let mut near = reports.key.clone();
    near.pop();
    near.push(if reports.key.ends_with('A') { 'B' } else { 'A' });
    let wrong = send(key_header(&near)).await;
    assert_unauthorized(&wrong, "identity.api_key.unknown", &near);
    let wrong_query = gateway
        .get(&format!("/api/keyed/query?api_key={near}"))
        .await;
    assert_unauthorized(&wrong_query, "identity.api_key.unknown", &near);
    let missing = gateway.get("/api/keyed/header").await;
    assert_unauthorized(&missing, "identity.missing", &reports.key);
    // The key in the query does not satisfy the header scheme.
    let elsewhere = gateway
        .get(&format!("/api/keyed/header?api_key={}", plain.key))
        .await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text());
    // A JWT is not an API key.
    let jwt = send(bearer(
        gateway.request("GET", "/api/keyed/header"),
        &ids.hs256(&claims("alice")),
    ))
    .await;
    assert_unauthorized(&jwt, "identity.missing", "");
    // A valid key without the operation's scope.
    let unscoped = send(
        gateway
            .request("GET", "/api/keyed/reports")
            .header("x-api-key", plain.key.clone()),
    )
    .await;
    unscoped.assert_problem(403, "identity.insufficient_scope");
    assert_eq!(
        upstream.requests().len(),
        3,
        "no refused request reached the upstream"
    );

    let log = gateway.finish().await;
    assert_eq!(
        log.assert(&in_header, "allowed", None)["principal"],
        "svc-plain"
    );
    assert_eq!(
        log.assert(&in_query, "allowed", None)["principal"],
        "svc-reports"
    );
    assert_eq!(
        log.assert(&scoped, "allowed", None)["principal"],
        "svc-reports"
    );
    log.assert(&wrong, "blocked", Some("identity.api_key.unknown"));
    log.assert(&wrong_query, "blocked", Some("identity.api_key.unknown"));
    log.assert(&missing, "blocked", Some("identity.missing"));
    log.assert(&unscoped, "blocked", Some("identity.insufficient_scope"));
    for secret in [&reports.key, &plain.key, &near] {
        assert_not_logged(&log, secret);
    }
}

// --- public, unsecured, revoked, monitor ---------------------------------------------

#[tokio::test]
async fn a_public_operation_serves_anyone_and_still_names_a_valid_caller() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let anonymous = gateway.get("/api/public").await;
    let valid = ids.rs256(&claims("alice"));
    let identified = get_with(&gateway, "/api/public", &valid).await;
    // An invalid token is ignored on a public operation: the caller is anonymous.
    let forged = ids.rs256(&claims("mallory"));
    let mut p = payload(&forged);
    p["sub"] = json!("admin");
    let forged = with_payload(&forged, &p);
    let ignored = get_with(&gateway, "/api/public", &forged).await;
    for a in [&anonymous, &identified, &ignored] {
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.header("www-authenticate"), None);
    }
    assert_eq!(upstream.requests().len(), 3);
    let log = gateway.finish().await;
    assert_eq!(
        log.assert(&anonymous, "allowed", None)["principal"],
        Value::Null
    );
    assert_eq!(
        log.assert(&identified, "allowed", None)["principal"],
        "alice"
    );
    assert_eq!(
        log.assert(&ignored, "allowed", None)["principal"],
        Value::Null
    );
    assert_not_logged(&log, &forged);
}

#[tokio::test]
async fn an_operation_without_security_is_refused_unless_allowed() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .start()
        .await;
    let anonymous = gateway.get("/api/unsecured").await;
    // Even a valid token does not open an operation nobody declared a requirement for.
    let with_token = get_with(&gateway, "/api/unsecured", &ids.rs256(&claims("alice"))).await;
    for a in [&anonymous, &with_token] {
        a.assert_problem(403, "authz.unsecured-operation");
        assert_eq!(a.header("www-authenticate"), None);
    }
    upstream.assert_untouched();
    let log = gateway.finish().await;
    log.assert(&anonymous, "blocked", Some("authz.unsecured-operation"));
    log.assert(&with_token, "blocked", Some("authz.unsecured-operation"));

    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(json!({"identity": {"unsecured_operations": "allow"}}))
        .start()
        .await;
    let allowed = gateway.get("/api/unsecured").await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    // The other operations keep their requirements.
    let still_secured = gateway.get("/api/notes").await;
    still_secured.assert_problem(401, "identity.missing");
    assert_eq!(upstream.requests().len(), 1);
    let log = gateway.finish().await;
    log.assert(&allowed, "allowed", None);
}

#[tokio::test]
async fn a_revoked_jti_is_refused_even_when_the_token_is_otherwise_valid() {
    let ids = IdentityFiles::new();
    let revoked_claims = claims_with("alice", json!({"jti": "stolen-token-1"}));
    let revoked_file = ids.write(
        "revoked.txt",
        "# tokens reported stolen\nstolen-token-1\n\nother-jti # comment\n",
    );
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(json!({"identity": {"revoked_jtis_file": revoked_file}}))
        .start()
        .await;
    let rs = ids.rs256(&revoked_claims);
    let hs = ids.hs256(&claims_with("alice", json!({"jti": "other-jti"})));
    let first = get_with(&gateway, "/api/notes", &rs).await;
    // Asked again: a refusal is never cached into an acceptance.
    let second = get_with(&gateway, "/api/notes", &rs).await;
    let other = get_with(&gateway, "/api/notes", &hs).await;
    for (a, t) in [(&first, &rs), (&second, &rs), (&other, &hs)] {
        assert_unauthorized(a, "identity.jwt.revoked", t);
    }
    let fine = get_with(&gateway, "/api/notes", &ids.rs256(&claims("alice"))).await;
    assert_eq!(fine.status, 200, "{}", fine.text());
    assert_eq!(upstream.requests().len(), 1);
    let log = gateway.finish().await;
    for (a, t) in [(&first, &rs), (&second, &rs), (&other, &hs)] {
        assert_blocked(&log, a, "identity.jwt.revoked", t);
    }
}

#[tokio::test]
async fn monitor_mode_flags_an_invalid_token_and_lets_it_through() {
    let ids = IdentityFiles::new();
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(json!({"mode": "monitor"}))
        .start()
        .await;
    let genuine = ids.rs256(&claims("alice"));
    let mut p = payload(&genuine);
    p["sub"] = json!("admin");
    let tampered = with_payload(&genuine, &p);
    let cases = [
        (tampered.clone(), "identity.jwt.bad_signature"),
        (
            raw_token(&json!({"alg": "none"}), &claims("mallory"), b""),
            "identity.jwt.algorithm",
        ),
        (
            ids.hs256(&claims_with("alice", json!({"exp": now() - 3600}))),
            "identity.jwt.expired",
        ),
    ];
    let mut answers = Vec::new();
    for (token, _) in &cases {
        let a = get_with(&gateway, "/api/notes", token).await;
        assert_eq!(a.status, 200, "monitor never blocks: {}", a.text());
        assert_eq!(a.json(), json!({"ok": true}), "nor changes the answer");
        assert_eq!(a.header("www-authenticate"), None);
        answers.push(a);
    }
    let missing = gateway.get("/api/notes").await;
    assert_eq!(missing.status, 200, "{}", missing.text());
    let valid = get_with(&gateway, "/api/notes", &genuine).await;
    assert_eq!(valid.status, 200);
    assert_eq!(upstream.requests().len(), cases.len() + 2);
    let log = gateway.finish().await;
    for ((token, rule), a) in cases.iter().zip(&answers) {
        let e = log.assert(a, "flagged", Some(rule));
        assert_eq!(e["mode"], "monitor", "{e}");
        assert_eq!(
            e["principal"],
            Value::Null,
            "a refused token names nobody: {e}"
        );
        assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
        assert_not_logged(&log, token);
    }
    log.assert(&missing, "flagged", Some("identity.missing"));
    assert_eq!(log.assert(&valid, "allowed", None)["principal"], "alice");
}

#[tokio::test]
async fn the_token_header_is_parsed_not_trusted_for_the_issuer_choice() {
    // Cross-issuer confusion: a token claiming issuer B, signed with issuer
    // A's key, verifies only against B's keys.
    let ids = IdentityFiles::new();
    let other_secret = rampart_identity::generate_api_key();
    let other_file = ids.write("other.secret", &other_secret);
    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(json!({"identity": {"issuers": [
            ids.issuer(),
            {
                "issuer": "https://partner.test",
                "audiences": [AUDIENCE],
                "algorithms": ["HS256"],
                "keys": [{"kid": HS_KID, "alg": "HS256", "secret_file": other_file}],
            },
        ]}}))
        .start()
        .await;
    let confused = ids.hs256(&claims_with(
        "alice",
        json!({"iss": "https://partner.test"}),
    ));
    let a = get_with(&gateway, "/api/notes", &confused).await;
    assert_unauthorized(&a, "identity.jwt.bad_signature", &confused);
    let partner = sign(
        &header(Algorithm::HS256, HS_KID),
        &claims_with("partner-user", json!({"iss": "https://partner.test"})),
        &EncodingKey::from_secret(other_secret.as_bytes()),
    );
    let b = get_with(&gateway, "/api/notes", &partner).await;
    assert_eq!(b.status, 200, "{}", b.text());
    let log = gateway.finish().await;
    assert_blocked(&log, &a, "identity.jwt.bad_signature", &confused);
    assert_eq!(log.assert(&b, "allowed", None)["principal"], "partner-user");
}

/// What the upstream must never get: a credential the gateway did not
/// verify next to one it did. A request either is refused, or reaches the
/// upstream carrying exactly the credential that was verified.
#[track_caller]
fn assert_one_verified_credential(
    answer: &Answer,
    upstream: &Upstream,
    name: &str,
    verified: &str,
) {
    match upstream.requests().last() {
        Some(seen) if answer.status < 400 => {
            let values: Vec<&str> = seen
                .headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(values, [verified], "the upstream got an unverified {name}");
        }
        _ => assert!(answer.status >= 400, "{}", answer.text()),
    }
}

#[tokio::test]
async fn a_second_credential_is_never_smuggled_past_the_verified_one() {
    let ids = IdentityFiles::new();
    let key = ApiKey::new("plain", "svc-plain", None, &[]);
    let file = ids.api_keys(&[&key]);
    let good = ids.rs256(&claims("alice"));
    let mut p = payload(&good);
    p["sub"] = json!("admin");
    let forged = with_payload(&good, &p);

    let upstream = ok_upstream().await;
    let gateway = Gateway::builder(NOTES, &upstream)
        .config(ids.config())
        .config(json!({"identity": {"api_keys_file": file}}))
        .start()
        .await;
    let two_tokens = send(
        gateway
            .request("GET", "/api/notes")
            .header("authorization", format!("Bearer {good}"))
            .header("authorization", format!("Bearer {forged}")),
    )
    .await;
    assert_one_verified_credential(
        &two_tokens,
        &upstream,
        "authorization",
        &format!("Bearer {good}"),
    );
    let two_keys = send(
        gateway
            .request("GET", "/api/keyed/header")
            .header("x-api-key", key.key.clone())
            .header("x-api-key", "rk_forged"),
    )
    .await;
    assert_one_verified_credential(&two_keys, &upstream, "x-api-key", &key.key);
    let two_query_keys = gateway
        .get(&format!(
            "/api/keyed/query?api_key={}&api_key=rk_forged",
            key.key
        ))
        .await;
    if two_query_keys.status < 400 {
        let target = upstream.requests().last().unwrap().target.clone();
        assert!(
            !target.contains("rk_forged"),
            "unverified key forwarded: {target}"
        );
    }
    gateway.finish().await;
}
