//! The rule vocabulary shared by the gateway, the audit and the scanner.
//!
//! A rule id names *why* an exchange was stopped or changed. Ids are stable:
//! they appear in security logs, problem responses and reports, and operators
//! filter and alert on them. Each rule maps to one OWASP API Security Top 10
//! (2023) category, so every consumer reports the same category for it.

/// One rule: a stable id, its OWASP API Top 10 2023 category and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `contract.body.read-only`.
    pub id: &'static str,
    /// OWASP API Security Top 10 2023 category, e.g. `API3:2023`.
    pub owasp: &'static str,
    /// One-line title.
    pub title: &'static str,
}

macro_rules! rules {
    ($( $name:ident = ($id:literal, $owasp:literal, $title:literal); )*) => {
        $(
            #[doc = $title]
            pub const $name: Rule = Rule { id: $id, owasp: $owasp, title: $title };
        )*
        /// Every rule, for documentation and `--explain`.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

rules! {
    NORMALIZE = ("normalize", "API8:2023", "The request target is ambiguous or malformed");
    NORMALIZE_TOO_LONG = ("normalize.too-long", "API4:2023", "The request target is too long");
    NORMALIZE_NOT_ORIGIN_FORM = ("normalize.not-origin-form", "API8:2023", "The request target is not in origin form (/path?query)");
    NORMALIZE_TOO_MANY_SEGMENTS = ("normalize.too-many-segments", "API4:2023", "The path has too many segments");
    NORMALIZE_CONTROL = ("normalize.control-character", "API8:2023", "The target contains control characters (raw or percent-encoded)");
    NORMALIZE_NON_ASCII = ("normalize.non-ascii-raw", "API8:2023", "The target contains raw non-ASCII bytes");
    NORMALIZE_FRAGMENT = ("normalize.fragment", "API8:2023", "The target contains a fragment");
    NORMALIZE_BACKSLASH = ("normalize.backslash", "API8:2023", "The path contains a backslash (raw or encoded)");
    NORMALIZE_MATRIX = ("normalize.matrix-parameter", "API8:2023", "The path contains ';' (matrix parameters bypass path-based rules)");
    NORMALIZE_DISALLOWED = ("normalize.disallowed-character", "API8:2023", "The target contains a character not allowed there");
    NORMALIZE_BAD_PERCENT = ("normalize.bad-percent-encoding", "API8:2023", "A percent escape is malformed");
    NORMALIZE_ENCODED_SLASH = ("normalize.encoded-slash", "API8:2023", "A path segment contains an encoded slash (%2F)");
    NORMALIZE_DOUBLE_ENCODING = ("normalize.double-encoding", "API8:2023", "The target is percent-encoded twice (%25XX)");
    NORMALIZE_INVALID_UTF8 = ("normalize.invalid-utf8", "API8:2023", "Decoded bytes are not valid UTF-8 (overlong or invalid sequences)");
    NORMALIZE_DOT_SEGMENT = ("normalize.dot-segment", "API8:2023", "The path contains '.' or '..' segments (raw or encoded)");
    NORMALIZE_UNICODE_CONFUSABLE = ("normalize.unicode-confusable", "API8:2023", "The path contains a Unicode look-alike of a delimiter (NFKC folds it to '.', '/', '\\', ';', '%', '?' or '#')");
    NORMALIZE_TOO_MANY_QUERY = ("normalize.too-many-query-pairs", "API4:2023", "The query has too many parameters");
    NORMALIZE_METHOD = ("normalize.method", "API8:2023", "The method is not a standard uppercase HTTP method");
    ROUTE_UNKNOWN = ("contract.route.unknown", "API9:2023", "No operation in the contract matches the path (shadow API probe)");
    ROUTE_METHOD = ("contract.route.method", "API9:2023", "The path exists but not with this method");
    METHOD_OVERRIDE = ("normalize.method-override", "API5:2023", "A method-override header or parameter could change the method the upstream sees");
    PARAM_UNDECLARED = ("contract.param.undeclared", "API8:2023", "A query, header or cookie parameter the operation does not declare");
    PARAM_MISSING = ("contract.param.missing", "API8:2023", "A required parameter is missing");
    PARAM_TYPE = ("contract.param.type", "API8:2023", "A parameter value is not of the declared type");
    PARAM_SCHEMA = ("contract.param.schema", "API4:2023", "A parameter value breaks its schema (bounds, pattern, enum)");
    PARAM_REPEATED = ("contract.param.repeated", "API8:2023", "A single-valued parameter is repeated (parameter pollution)");
    BODY_MISSING = ("contract.body.missing", "API8:2023", "A required request body is missing");
    BODY_UNEXPECTED = ("contract.body.unexpected", "API8:2023", "A body was sent to an operation that declares none");
    BODY_MEDIA_TYPE = ("contract.body.media-type", "API8:2023", "The request's content type is not declared");
    BODY_MALFORMED = ("contract.body.malformed", "API8:2023", "The request body is not well-formed JSON (or has duplicate keys)");
    BODY_TOO_LARGE = ("contract.body.too-large", "API4:2023", "The request body exceeds the size limit");
    BODY_READ_ONLY = ("contract.body.read-only", "API3:2023", "The request sets a readOnly property (mass assignment)");
    BODY_UNDECLARED = ("contract.body.undeclared", "API3:2023", "The request sets a property the schema does not declare (mass assignment)");
    BODY_SCHEMA = ("contract.body.schema", "API8:2023", "The request body breaks its schema");
    RESPONSE_STATUS = ("contract.response.status", "API8:2023", "The upstream answered with an undeclared status");
    RESPONSE_MEDIA_TYPE = ("contract.response.media-type", "API8:2023", "The upstream answered with an undeclared content type");
    RESPONSE_MALFORMED = ("contract.response.malformed", "API10:2023", "The upstream's JSON response is not well-formed");
    RESPONSE_TOO_LARGE = ("contract.response.too-large", "API4:2023", "The upstream's response is too large to inspect");
    RESPONSE_SCHEMA = ("contract.response.schema", "API10:2023", "The upstream's response breaks its schema");
    RESPONSE_UNDECLARED = ("contract.response.undeclared", "API3:2023", "The upstream returned properties the contract does not declare (stripped)");
    RESPONSE_WRITE_ONLY = ("contract.response.write-only", "API3:2023", "The upstream returned a writeOnly property (stripped)");
    UPSTREAM_UNAVAILABLE = ("upstream.unavailable", "API8:2023", "The upstream could not be reached or timed out");
    LIMIT_HEADERS = ("limit.headers", "API4:2023", "Too many or too large request headers");
    LIMIT_JSON = ("limit.json", "API4:2023", "A JSON body exceeds the nesting, array-length or string-length cap");
    LIMIT_UPSTREAM_BUSY = ("limit.upstream-busy", "API4:2023", "The upstream's concurrency cap and its queue are full");
    LIMIT_RATE = ("limit.rate", "API4:2023", "A rate limit is exhausted");
    DETECT_BLOCKED = ("detect.blocked", "API4:2023", "Behavioural detection blocked this client (scraping, enumeration, BOLA probing, credential stuffing)");
    DETECT_THROTTLED = ("detect.throttled", "API4:2023", "Behavioural detection throttles this client");
    STORE_UNAVAILABLE = ("store.unavailable", "API8:2023", "The audit store could not record the exchange and the config requires a record before answering");
    LIMIT_UNAVAILABLE = ("limit.unavailable", "API4:2023", "The shared rate-limit store is unreachable and the config fails closed");
    AUTHN_MISSING = ("identity.missing", "API2:2023", "The operation requires credentials and none were sent");
    AUTHN_INVALID = ("identity.invalid", "API2:2023", "The credentials were refused");
    AUTHN_TOO_LARGE = ("identity.too_large", "API2:2023", "The credential is over the size limit");
    AUTHN_JWT_MALFORMED = ("identity.jwt.malformed", "API2:2023", "The token is not a well-formed JWS");
    AUTHN_JWT_ALGORITHM = ("identity.jwt.algorithm", "API2:2023", "The token's algorithm is none, not allowed for its issuer, or not its key's");
    AUTHN_JWT_ISSUER = ("identity.jwt.unknown_issuer", "API2:2023", "The token's issuer is not trusted");
    AUTHN_JWT_KEY = ("identity.jwt.unknown_key", "API2:2023", "The token names a key the issuer does not have");
    AUTHN_JWT_SIGNATURE = ("identity.jwt.bad_signature", "API2:2023", "The token's signature does not verify");
    AUTHN_JWT_EXPIRED = ("identity.jwt.expired", "API2:2023", "The token has expired");
    AUTHN_JWT_NBF = ("identity.jwt.not_yet_valid", "API2:2023", "The token is not valid yet");
    AUTHN_JWT_IAT = ("identity.jwt.issued_in_future", "API2:2023", "The token claims to be issued in the future");
    AUTHN_JWT_AUDIENCE = ("identity.jwt.audience", "API2:2023", "The token is not meant for this audience");
    AUTHN_JWT_CLAIM = ("identity.jwt.missing_claim", "API2:2023", "The token lacks a required claim");
    AUTHN_JWT_REVOKED = ("identity.jwt.revoked", "API2:2023", "The token has been revoked");
    AUTHN_KEYS_UNAVAILABLE = ("identity.jwt.key_unavailable", "API2:2023", "The issuer's keys could not be fetched");
    AUTHN_API_KEY = ("identity.api_key.unknown", "API2:2023", "The API key is not valid");
    AUTHN_SCOPE = ("identity.insufficient_scope", "API5:2023", "The credential lacks a scope the operation requires");
    AUTHN_UNSUPPORTED = ("identity.unsupported-scheme", "API2:2023", "The operation's security scheme is not supported by Rampart (e.g. HTTP Basic)");
    AUTHZ_UNSECURED = ("authz.unsecured-operation", "API5:2023", "The operation declares no security requirement and is not explicitly public");
    AUTHZ_SCOPE = ("authz.scope", "API5:2023", "The credentials lack a scope the operation requires");
    AUTHZ_FUNCTION = ("authz.function", "API5:2023", "The policies do not permit this principal to call this operation (function level)");
    AUTHZ_OBJECT = ("authz.object", "API1:2023", "The policies do not permit this principal to access this object (object level)");
    AUTHZ_WRITE_FIELD = ("authz.write-field", "API3:2023", "The request sets a property only other roles may set");
    AUTHZ_VIEW_RESTRICTED = ("authz.view.restricted", "API3:2023", "Properties visible only to the owner were removed from the response");
    AUTHZ_LIST_FILTERED = ("authz.list.filtered", "API1:2023", "Objects the principal may not see were removed from a list");
}

/// Look a rule up by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = super::ALL.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
