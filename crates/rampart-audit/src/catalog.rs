//! The audit's rules: stable ids, OWASP API Security Top 10 (2023) category,
//! default severity, and the text `--explain` prints.
//!
//! Each rule's id, category and title are a [`rampart_contract::Rule`], the
//! same vocabulary the gateway uses for its runtime decisions, so a report and
//! a security log name risks the same way. The Spectral and vacuum ids each
//! rule covers are listed so a team moving from those tools can map its
//! config, and so `bench/audit-compare.sh` can line the counts up.

use rampart_contract::Rule;
use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never lowers the score.
    Info,
    /// A hardening gap.
    Low,
    /// A weakness an attacker can use with some other flaw.
    Medium,
    /// Directly exploitable in many APIs.
    High,
    /// Exploitable as designed.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// Points a rule of this severity can take off its category's score (see [`crate::score`]).
    pub fn weight(self) -> f64 {
        match self {
            Severity::Info => 0.0,
            Severity::Low => 3.0,
            Severity::Medium => 8.0,
            Severity::High => 20.0,
            Severity::Critical => 40.0,
        }
    }

    /// GitHub code scanning's `security-severity` (a CVSS-like score).
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "1.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// One audit rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRule {
    /// Id, OWASP category and title, in the vocabulary shared with the gateway.
    pub rule: Rule,
    /// Default severity (a rule config can re-grade it).
    pub severity: Severity,
    /// Why it matters.
    pub rationale: &'static str,
    /// A fragment that triggers it.
    pub example: &'static str,
    /// How to fix it.
    pub fix: &'static str,
    /// Spectral OWASP ruleset ids this rule covers.
    pub spectral: &'static [&'static str],
    /// vacuum OWASP rule ids this rule covers.
    pub vacuum: &'static [&'static str],
}

impl AuditRule {
    /// The stable id.
    pub fn id(&self) -> &'static str {
        self.rule.id
    }

    /// The OWASP category, e.g. `API1:2023`.
    pub fn owasp(&self) -> &'static str {
        self.rule.owasp
    }
}

/// Names of the OWASP API Security Top 10 2023 categories.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("API1:2023", "Broken Object Level Authorization"),
    ("API2:2023", "Broken Authentication"),
    ("API3:2023", "Broken Object Property Level Authorization"),
    ("API4:2023", "Unrestricted Resource Consumption"),
    ("API5:2023", "Broken Function Level Authorization"),
    (
        "API6:2023",
        "Unrestricted Access to Sensitive Business Flows",
    ),
    ("API7:2023", "Server Side Request Forgery"),
    ("API8:2023", "Security Misconfiguration"),
    ("API9:2023", "Improper Inventory Management"),
    ("API10:2023", "Unsafe Consumption of APIs"),
];

/// The name of an OWASP category.
pub fn category_name(owasp: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == owasp)
        .map(|(_, n)| *n)
        .unwrap_or("Other")
}

macro_rules! audit_rules {
    ($( $name:ident = ($id:literal, $owasp:literal, $sev:ident, $title:literal,
        spectral: [$($sp:literal),*], vacuum: [$($va:literal),*],
        rationale: $rationale:literal, example: $example:literal, fix: $fix:literal); )*) => {
        $(
            #[doc = $title]
            pub const $name: AuditRule = AuditRule {
                rule: Rule { id: $id, owasp: $owasp, title: $title },
                severity: Severity::$sev,
                rationale: $rationale,
                example: $example,
                fix: $fix,
                spectral: &[$($sp),*],
                vacuum: &[$($va),*],
            };
        )*
        /// Every audit rule, in catalogue order.
        pub const ALL: &[AuditRule] = &[$($name),*];
    };
}

audit_rules! {
    NUMERIC_ID = ("audit.id.numeric", "API1:2023", Medium, "An id parameter is an integer: ids can be enumerated",
        spectral: ["owasp:api1:2023-no-numeric-ids"], vacuum: ["owasp-no-numeric-ids"],
        rationale: "Parameters named `id`, `*_id`, `*Id` or `*-id` with an integer schema invite enumeration: an attacker adds one to their own id and asks again. Random ids do not replace authorization checks, but they take away the cheapest way to find other people's objects.",
        example: "parameters:\n  - name: orderId\n    in: path\n    schema: {type: integer}",
        fix: "Use random identifiers (`type: string, format: uuid`) and check ownership on every access.");
    SEQUENTIAL_OBJECT_ROUTE = ("audit.id.sequential-object-route", "API1:2023", High, "An object route selects objects by a sequential integer, and no ownership is declared",
        spectral: [], vacuum: [],
        rationale: "An operation whose path ends in an integer template (`/orders/{n}`) reads or changes one object chosen by a guessable number. Without a declared owner (`x-rampart-owner`) nothing in the contract says who may touch which object, which is how BOLA leaks happen at scale.",
        example: "/orders/{n}:\n  get:\n    parameters: [{name: n, in: path, schema: {type: integer}}]",
        fix: "Declare ownership (`x-rampart-owner: /owner_id` on the response schema, or on the operation) so the gateway checks it, and prefer random ids.");
    HTTP_BASIC = ("audit.auth.http-basic", "API2:2023", High, "A security scheme uses HTTP Basic",
        spectral: ["owasp:api2:2023-no-http-basic"], vacuum: ["owasp-no-http-basic"],
        rationale: "Basic sends a reusable password with every request, base64-encoded, not protected; one logged header is a compromised account.",
        example: "securitySchemes:\n  basic: {type: http, scheme: basic}",
        fix: "Use short-lived bearer tokens (OAuth 2, OpenID Connect) instead of passwords on each request.");
    API_KEY_IN_URL = ("audit.auth.api-key-in-url", "API2:2023", High, "An API key travels in the URL (query or path)",
        spectral: ["owasp:api2:2023-no-api-keys-in-url"], vacuum: ["owasp-no-api-keys-in-url"],
        rationale: "URLs are logged by proxies, servers and browsers and sent in Referer headers, so a key in the URL leaks.",
        example: "securitySchemes:\n  key: {type: apiKey, in: query, name: api_key}",
        fix: "Send API keys in a header (`in: header`).");
    CREDENTIALS_IN_URL = ("audit.auth.credentials-in-url", "API2:2023", High, "A query or path parameter carries a credential",
        spectral: ["owasp:api2:2023-no-credentials-in-url"], vacuum: ["owasp-no-credentials-in-url"],
        rationale: "Parameters named like passwords, tokens, secrets or API keys in the query or path end up in access logs and browser history.",
        example: "parameters:\n  - {name: access_token, in: query}",
        fix: "Move credentials to a header or the request body, and declare them as a security scheme.");
    INSECURE_SCHEME = ("audit.auth.insecure-scheme", "API2:2023", High, "An HTTP authentication scheme is outdated or insecure",
        spectral: ["owasp:api2:2023-auth-insecure-schemes"], vacuum: ["owasp-auth-insecure-schemes"],
        rationale: "`negotiate` (NTLM/Kerberos over HTTP) and `oauth` (OAuth 1.0) are considered insecure or obsolete.",
        example: "securitySchemes:\n  ntlm: {type: http, scheme: negotiate}",
        fix: "Use `bearer` with OAuth 2 or OpenID Connect.");
    JWT_RFC8725 = ("audit.auth.jwt-rfc8725", "API2:2023", Medium, "A JWT or OAuth 2 scheme does not state that it follows RFC 8725",
        spectral: ["owasp:api2:2023-jwt-best-practices"], vacuum: ["owasp-jwt-best-practices"],
        rationale: "RFC 8725 (JWT best current practices) rules out `alg: none`, algorithm confusion and weak keys. Saying the API follows it in the scheme's description makes the requirement explicit for implementers and testers.",
        example: "securitySchemes:\n  jwt: {type: http, scheme: bearer, bearerFormat: JWT}",
        fix: "Add a description stating that tokens follow RFC8725, and enforce it (allowed algorithms, expiry, audience).");
    NO_REFRESH = ("audit.auth.no-refresh-token", "API2:2023", Low, "An OAuth 2 flow declares no refresh URL (access tokens are likely long-lived)",
        spectral: ["owasp:api2:2023-short-lived-access-tokens"], vacuum: [],
        rationale: "Short-lived access tokens limit how long a stolen token works; with OAuth 2 that means refresh tokens.",
        example: "flows:\n  authorizationCode: {authorizationUrl: ..., tokenUrl: ..., scopes: {}}",
        fix: "Declare `refreshUrl` on each flow and keep access tokens short-lived.");
    WRITE_UNPROTECTED = ("audit.auth.write-unprotected", "API2:2023", High, "A write operation has no security requirement",
        spectral: ["owasp:api2:2023-write-restricted"], vacuum: ["owasp-protection-global-unsafe", "owasp-protection-global-unsafe-strict"],
        rationale: "POST, PUT, PATCH and DELETE change state; without authentication anyone can call them.",
        example: "paths:\n  /users/{id}:\n    delete: {responses: {'204': {description: gone}}}",
        fix: "Declare `security` at the document or operation level. If an operation is public on purpose, say so with `x-rampart-ignore`.");
    READ_UNPROTECTED = ("audit.auth.read-unprotected", "API2:2023", Medium, "A read operation has no security requirement",
        spectral: ["owasp:api2:2023-read-restricted"], vacuum: ["owasp-protection-global-safe"],
        rationale: "GET and HEAD without authentication expose whatever they return to anyone. `security: [{}]` (optional authentication) counts as a declaration.",
        example: "paths:\n  /users/{id}:\n    get: {responses: {'200': {description: ok}}}",
        fix: "Declare `security`, or mark deliberately public reads with `x-rampart-ignore`.");
    ADDITIONAL_PROPERTIES = ("audit.schema.additional-properties", "API3:2023", Low, "An object schema allows additional (or unevaluated) properties",
        spectral: ["owasp:api3:2023-no-additionalProperties", "owasp:api3:2023-no-unevaluatedProperties"], vacuum: ["owasp-no-additionalProperties"],
        rationale: "Open objects let clients send fields the contract never mentions, the raw material of mass assignment; in responses they let undeclared data through.",
        example: "type: object\nadditionalProperties: true",
        fix: "Set `additionalProperties: false` (3.1: `unevaluatedProperties: false`), or bound the map with `maxProperties`.");
    UNBOUNDED_ADDITIONAL_PROPERTIES = ("audit.schema.unbounded-additional-properties", "API3:2023", Low, "An object allows additional properties by schema but sets no maxProperties",
        spectral: ["owasp:api3:2023-constrained-additionalProperties", "owasp:api3:2023-constrained-unevaluatedProperties"], vacuum: ["owasp-constrained-additionalProperties"],
        rationale: "A map with a value schema is legitimate, but without `maxProperties` a client can send millions of entries.",
        example: "type: object\nadditionalProperties: {type: string}",
        fix: "Add `maxProperties`.");
    PII_UNANNOTATED = ("audit.pii.unannotated-response", "API3:2023", High, "A response returns personal data, and the operation declares no owner or visibility",
        spectral: [], vacuum: [],
        rationale: "The Peloton leak (2021): profile endpoints returned age, weight, gender, city and birthday of private accounts to any logged-in user. Personal fields in a response are fine only if someone decided who may see them. Rampart reads that decision from `x-rampart-owner` / `x-rampart-private` (on the response schema or operation) or `x-rampart-visibility` (on the property) and enforces it in the gateway.",
        example: "User:\n  properties:\n    birthday: {type: string, format: date}\n    weight: {type: number}",
        fix: "Annotate: `x-rampart-owner: /id` and `x-rampart-private: /private` on the schema, or `x-rampart-visibility: owner` on each personal property; or stop returning the field.");
    SERVER_OWNED_WRITABLE = ("audit.property.server-owned-writable", "API3:2023", Medium, "A request body can set a field the server should own (mass assignment)",
        spectral: [], vacuum: [],
        rationale: "Fields such as `id`, `role`, `is_admin`, `balance`, `owner_id` or `created_at` belong to the server. If the request schema accepts them, a client can promote itself or rewrite ownership (crAPI's and GitHub's classic mass assignment bugs).",
        example: "requestBody:\n  content:\n    application/json:\n      schema:\n        properties: {role: {type: string}}",
        fix: "Mark the property `readOnly: true` (the gateway then rejects it in requests) or use a separate input schema without it.");
    SECRET_IN_RESPONSE = ("audit.property.secret-in-response", "API3:2023", High, "A secret (writeOnly or password-like) property is declared in a response",
        spectral: [], vacuum: [],
        rationale: "Passwords, client secrets and private keys go in, never out. A response schema that declares one (without `writeOnly`) means the server returns it, or that the gateway cannot tell it must be stripped.",
        example: "responses:\n  '200':\n    content:\n      application/json:\n        schema:\n          properties: {password: {type: string}}",
        fix: "Remove it from response schemas or mark it `writeOnly: true` (the gateway strips writeOnly fields from responses).");
    RATE_LIMIT_HEADERS = ("audit.limit.rate-limit-headers", "API4:2023", Low, "A 2XX or 4XX response declares no rate-limit headers",
        spectral: ["owasp:api4:2023-rate-limit"], vacuum: ["owasp-rate-limit"],
        rationale: "Declared rate limits tell clients how to behave and prove limits exist; an API without them is usually unlimited.",
        example: "responses:\n  '200': {description: ok}",
        fix: "Declare `RateLimit`, `RateLimit-Limit` + `RateLimit-Reset`, `X-RateLimit-Limit` or `X-Rate-Limit-Limit` headers (and enforce limits in the gateway).");
    RETRY_AFTER = ("audit.limit.retry-after", "API4:2023", Low, "A 429 response declares no Retry-After header",
        spectral: ["owasp:api4:2023-rate-limit-retry-after"], vacuum: ["owasp-rate-limit-retry-after"],
        rationale: "Without Retry-After, throttled clients retry at once and make the overload worse.",
        example: "'429': {description: slow down}",
        fix: "Add a `Retry-After` header to 429 responses.");
    RESPONSE_429 = ("audit.response.429", "API4:2023", Low, "An operation declares no 429 response (or one without content)",
        spectral: ["owasp:api4:2023-rate-limit-responses-429"], vacuum: ["owasp-define-error-responses-429"],
        rationale: "A declared 429 documents that the operation is rate limited and what clients get when they are.",
        example: "responses: {'200': {description: ok}}",
        fix: "Declare a `429` response with a problem body.");
    ARRAY_MAX_ITEMS = ("audit.limit.array-max-items", "API4:2023", Low, "An array schema has no maxItems",
        spectral: ["owasp:api4:2023-array-limit"], vacuum: ["owasp-array-limit"],
        rationale: "Unbounded arrays in requests let one call carry unbounded work; in responses they usually mean unbounded pages.",
        example: "type: array\nitems: {type: string}",
        fix: "Add `maxItems`.");
    STRING_MAX_LENGTH = ("audit.limit.string-max-length", "API4:2023", Low, "A string schema has no maxLength, enum or const",
        spectral: ["owasp:api4:2023-string-limit"], vacuum: ["owasp-string-limit"],
        rationale: "Unbounded strings cost memory, storage and CPU (regexes, parsing) in every service they reach.",
        example: "name: {type: string}",
        fix: "Add `maxLength` (or `enum`/`const`).");
    STRING_RESTRICTED = ("audit.limit.string-pattern", "API4:2023", Info, "A string schema has no format, pattern, enum or const",
        spectral: ["owasp:api4:2023-string-restricted"], vacuum: ["owasp-string-restricted"],
        rationale: "A string with no shape accepts anything, including injection payloads that a pattern would stop at the edge.",
        example: "name: {type: string, maxLength: 64}",
        fix: "Add a `format`, a `pattern`, or an `enum`.");
    INTEGER_BOUNDS = ("audit.limit.integer-bounds", "API4:2023", Low, "An integer schema lacks a minimum or a maximum",
        spectral: ["owasp:api4:2023-integer-limit", "owasp:api4:2023-integer-limit-legacy"], vacuum: ["owasp-integer-limit"],
        rationale: "Unbounded integers allow negative quantities, huge page sizes and loop counts.",
        example: "quantity: {type: integer}",
        fix: "Add `minimum` and `maximum` (or the exclusive forms).");
    INTEGER_FORMAT = ("audit.limit.integer-format", "API4:2023", Info, "An integer schema has no format (int32 or int64)",
        spectral: ["owasp:api4:2023-integer-format"], vacuum: ["owasp-integer-format"],
        rationale: "Without a format, implementations disagree on the range, which leads to overflow and truncation bugs.",
        example: "count: {type: integer}",
        fix: "Add `format: int32` or `format: int64`.");
    PAGE_SIZE = ("audit.limit.page-size", "API4:2023", Medium, "A list endpoint has no bounded page size",
        spectral: [], vacuum: [],
        rationale: "A GET that returns an array with no page-size parameter, or one with no `maximum`, lets one request dump a whole table (the scraping half of most data leaks).",
        example: "/users:\n  get:\n    responses: {'200': {content: {application/json: {schema: {type: array}}}}}",
        fix: "Add a `limit`/`per_page` query parameter with a `maximum`, or bound the array with `maxItems`.");
    ADMIN_SECURITY = ("audit.function.admin-security", "API5:2023", High, "An /admin operation has the same security requirement as a non-admin operation",
        spectral: ["owasp:api5:2023-admin-security-unique"], vacuum: [],
        rationale: "If admin endpoints accept exactly the credentials member endpoints accept, only the server's own checks separate users from administrators.",
        example: "/admin/users:\n  get:\n    security: [{bearer: []}]   # same as /me",
        fix: "Give admin operations a distinct scheme or scopes (e.g. `[{oauth: [admin]}]`) and authorize by role in the gateway.");
    ADMIN_LIKE_SHARED = ("audit.function.admin-like-shared", "API5:2023", High, "An admin-looking operation shares the security of member operations (BFLA)",
        spectral: [], vacuum: [],
        rationale: "Operations named or tagged like administration (admin, internal, manage, roles, impersonate, ...) whose effective security, inherited ones included, is identical to ordinary operations are the textbook broken function level authorization.",
        example: "operationId: deleteAnyUser\nsecurity: inherited from the document, as for getMe",
        fix: "Require an admin scope or scheme for these operations and enforce roles in a policy.");
    URL_PARAMETER = ("audit.ssrf.url-parameter", "API7:2023", Low, "A parameter is named like a URL or callback",
        spectral: ["owasp:api7:2023-concerning-url-parameter"], vacuum: [],
        rationale: "Parameters such as `callback`, `redirect*` or `*_url` make the server fetch or redirect to a client-chosen address: SSRF and open redirects.",
        example: "parameters: [{name: callback_url, in: query}]",
        fix: "Allow-list hosts and schemes server-side, resolve and block private address ranges, and do not follow redirects.");
    URL_INPUT = ("audit.ssrf.url-input", "API7:2023", Medium, "A request accepts a URL (format uri/url, or a URL-named body property)",
        spectral: [], vacuum: [],
        rationale: "Any URL the server later fetches (webhooks, avatars from URL, imports) is an SSRF vector, whether it comes as a parameter or inside a JSON body.",
        example: "properties:\n  avatar: {type: string, format: uri}",
        fix: "Validate against an allow-list, block internal ranges after DNS resolution, and fetch through an egress proxy.");
    PLAIN_HTTP = ("audit.server.plain-http", "API8:2023", High, "A server URL uses plain http://",
        spectral: ["owasp:api8:2023-no-server-http"], vacuum: ["owasp-security-hosts-https-oas3"],
        rationale: "Plain HTTP exposes credentials and personal data to anyone on the path.",
        example: "servers: [{url: 'http://api.example.com'}]",
        fix: "Use https:// (or wss://).");
    CORS_ORIGIN = ("audit.cors.allow-origin", "API8:2023", Info, "Response headers do not declare Access-Control-Allow-Origin",
        spectral: ["owasp:api8:2023-define-cors-origin"], vacuum: ["owasp-define-cors-origin"],
        rationale: "Declaring the CORS origin documents which web origins may call the API from a browser.",
        example: "headers: {X-Request-Id: {schema: {type: string}}}",
        fix: "Declare `Access-Control-Allow-Origin` (and configure it deliberately, never reflecting arbitrary origins with credentials).");
    RESPONSE_400 = ("audit.response.400", "API8:2023", Info, "An operation declares no 400, 422 or 4XX response",
        spectral: ["owasp:api8:2023-define-error-validation"], vacuum: ["owasp-define-error-validation"],
        rationale: "Declared validation errors let clients and tests see that input is validated, and keep error bodies from leaking internals.",
        example: "responses: {'200': {description: ok}}",
        fix: "Declare a `400` (or `422`) response with a problem body.");
    RESPONSE_401 = ("audit.response.401", "API8:2023", Low, "An operation declares no 401 response (or one without content)",
        spectral: ["owasp:api8:2023-define-error-responses-401"], vacuum: ["owasp-define-error-responses-401"],
        rationale: "A declared 401 documents that the operation is authenticated and how failures look.",
        example: "responses: {'200': {description: ok}}",
        fix: "Declare a `401` response with a problem body.");
    RESPONSE_500 = ("audit.response.500", "API8:2023", Info, "An operation declares no 500 response (or one without content)",
        spectral: ["owasp:api8:2023-define-error-responses-500"], vacuum: ["owasp-define-error-responses-500"],
        rationale: "A declared 500 body keeps stack traces and internals out of error responses by contract.",
        example: "responses: {'200': {description: ok}}",
        fix: "Declare a `500` response with a problem body.");
    SERVER_AUDIENCE = ("audit.server.audience", "API9:2023", Info, "A server does not declare its audience (x-internal)",
        spectral: ["owasp:api9:2023-inventory-access"], vacuum: [],
        rationale: "Knowing which servers are internal and which are public is the base of an API inventory.",
        example: "servers: [{url: 'https://api.example.com'}]",
        fix: "Add `x-internal: true` or `x-internal: false` to each server.");
    SERVER_ENVIRONMENT = ("audit.server.environment", "API9:2023", Info, "A server description does not name its environment",
        spectral: ["owasp:api9:2023-inventory-environment"], vacuum: [],
        rationale: "Forgotten staging and test hosts with production data are a classic inventory failure.",
        example: "servers: [{url: 'https://api.example.com'}]",
        fix: "Describe each server with its environment (production, staging, sandbox, test, ...).");
    DEPRECATED_SERVED = ("audit.inventory.deprecated-served", "API9:2023", Low, "A deprecated operation is still served, with no sunset declared",
        spectral: [], vacuum: [],
        rationale: "Deprecated operations tend to miss the fixes their successors get, and stay reachable for years. A declared sunset (`x-sunset` or a `Sunset` response header) is the retirement plan.",
        example: "get:\n  deprecated: true",
        fix: "Declare `x-sunset: <date>` (or a `Sunset` header), then remove the operation, or set `x-rampart-mode` to block it.");
}

/// Look a rule up by its id or by a Spectral or vacuum id it covers.
pub fn lookup(id: &str) -> Option<&'static AuditRule> {
    ALL.iter().find(|r| r.id() == id).or_else(|| {
        ALL.iter()
            .find(|r| r.spectral.contains(&id) || r.vacuum.contains(&id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_namespaced_and_documented() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for r in ALL {
            assert!(r.id().starts_with("audit."), "{}", r.id());
            assert!(
                CATEGORIES.iter().any(|(c, _)| *c == r.owasp()),
                "{}",
                r.id()
            );
            assert!(!r.rationale.is_empty() && !r.fix.is_empty() && !r.example.is_empty());
            // No id collides with the gateway's runtime vocabulary.
            assert!(rampart_contract::rules::by_id(r.id()).is_none());
        }
    }

    #[test]
    fn spectral_ids_resolve() {
        assert_eq!(
            lookup("owasp:api4:2023-string-limit").map(|r| r.id()),
            Some("audit.limit.string-max-length")
        );
    }
}
