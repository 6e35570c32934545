//! The two error types: [`AuthError`] for a refused credential (per request,
//! client-safe, stable rule ids) and [`IdentityError`] for a configuration
//! that cannot be loaded (start-up and reload, with the file and the cause).

use std::path::PathBuf;

/// Why a credential was refused.
///
/// Each variant has a stable rule id ([`AuthError::rule_id`]) for the
/// security log and metrics, and a short reason ([`AuthError::reason`]) that
/// is safe to send to the client. Neither ever contains the token, the key or
/// any claim value: a refused token is attacker-controlled text, and echoing
/// it would turn the log into an injection target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was presented.
    #[error("{}", self.reason())]
    Missing,
    /// The credential is longer than `max_token_bytes`; refused before parsing.
    #[error("{}", self.reason())]
    TooLarge,
    /// Not a compact JWS: wrong number of segments, bad base64url, a header
    /// or payload that is not a JSON object, a claim of the wrong type, or a
    /// `crit` header (no extensions are understood).
    #[error("{}", self.reason())]
    Malformed,
    /// The header's `alg` is `none`, unknown, not in the issuer's allowlist,
    /// or not the algorithm (or family) of the key it names.
    #[error("{}", self.reason())]
    AlgorithmNotAllowed,
    /// The token's `iss` is missing or is not a configured issuer.
    #[error("{}", self.reason())]
    UnknownIssuer,
    /// No key of the issuer matches the token's `kid` (or, without a `kid`,
    /// the issuer has more than one key).
    #[error("{}", self.reason())]
    UnknownKey,
    /// The signature does not verify with the selected key.
    #[error("{}", self.reason())]
    BadSignature,
    /// `exp` is in the past (beyond the issuer's leeway).
    #[error("{}", self.reason())]
    Expired,
    /// `nbf` is in the future (beyond the issuer's leeway).
    #[error("{}", self.reason())]
    NotYetValid,
    /// `iat` is in the future (beyond the issuer's leeway).
    #[error("{}", self.reason())]
    IssuedInFuture,
    /// `aud` is missing or names none of the issuer's audiences.
    #[error("{}", self.reason())]
    WrongAudience,
    /// A required claim is missing: `exp`, or the subject claim.
    #[error("{}", self.reason())]
    MissingClaim,
    /// The token's `jti` is on the revocation list.
    #[error("{}", self.reason())]
    Revoked,
    /// The issuer's keys could not be fetched (JWKS or discovery down,
    /// too slow, too large or invalid). The caller's token may be fine: this
    /// is the identity provider's failure, which a gateway may answer with
    /// 503 rather than 401.
    #[error("{}", self.reason())]
    KeyUnavailable,
    /// No configured API key matches.
    #[error("{}", self.reason())]
    UnknownApiKey,
    /// The principal lacks a scope the operation requires.
    #[error("{}", self.reason())]
    InsufficientScope,
}

impl AuthError {
    /// The stable rule id, for the security log, metrics and the problem
    /// document. Changing one is a breaking change for users' alerting.
    pub fn rule_id(&self) -> &'static str {
        match self {
            AuthError::Missing => "identity.missing",
            AuthError::TooLarge => "identity.too_large",
            AuthError::Malformed => "identity.jwt.malformed",
            AuthError::AlgorithmNotAllowed => "identity.jwt.algorithm",
            AuthError::UnknownIssuer => "identity.jwt.unknown_issuer",
            AuthError::UnknownKey => "identity.jwt.unknown_key",
            AuthError::BadSignature => "identity.jwt.bad_signature",
            AuthError::Expired => "identity.jwt.expired",
            AuthError::NotYetValid => "identity.jwt.not_yet_valid",
            AuthError::IssuedInFuture => "identity.jwt.issued_in_future",
            AuthError::WrongAudience => "identity.jwt.audience",
            AuthError::MissingClaim => "identity.jwt.missing_claim",
            AuthError::Revoked => "identity.jwt.revoked",
            AuthError::KeyUnavailable => "identity.jwt.key_unavailable",
            AuthError::UnknownApiKey => "identity.api_key.unknown",
            AuthError::InsufficientScope => "identity.insufficient_scope",
        }
    }

    /// A short reason that is safe to show the client: it says which check
    /// failed, never with which value.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "no credentials were presented",
            AuthError::TooLarge => "the credential is too large",
            AuthError::Malformed => "the token is malformed",
            AuthError::AlgorithmNotAllowed => "the token's signing algorithm is not allowed",
            AuthError::UnknownIssuer => "the token's issuer is not trusted",
            AuthError::UnknownKey => "the token's signing key is unknown",
            AuthError::BadSignature => "the token's signature is invalid",
            AuthError::Expired => "the token has expired",
            AuthError::NotYetValid => "the token is not valid yet",
            AuthError::IssuedInFuture => "the token was issued in the future",
            AuthError::WrongAudience => "the token is not meant for this audience",
            AuthError::MissingClaim => "the token lacks a required claim",
            AuthError::Revoked => "the token has been revoked",
            AuthError::KeyUnavailable => "the issuer's signing keys are unavailable",
            AuthError::UnknownApiKey => "the API key is not valid",
            AuthError::InsufficientScope => "the credential lacks a required scope",
        }
    }
}

/// Why an identity configuration cannot be loaded. Messages name the file,
/// the issuer, the key or the line, and the cause, but never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A file named in the configuration cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    ReadFile {
        /// What the file is ("key file", "API key file", ...).
        what: &'static str,
        /// The resolved path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An HMAC key's `secret_env` names an unset (or non-UTF-8) variable.
    #[error("issuer {issuer} key {key}: secret_env {var} is not set")]
    SecretEnvUnset {
        /// The issuer.
        issuer: String,
        /// The key's `kid`, or its position (`#1`) when it has none.
        key: String,
        /// The variable's name.
        var: String,
    },
    /// A static key is unusable.
    #[error("issuer {issuer} key {key}: {reason}")]
    Key {
        /// The issuer.
        issuer: String,
        /// The key's `kid`, or its position (`#1`) when it has none.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An issuer's settings are unusable (algorithms, key sources, URLs).
    #[error("issuer {issuer}: {reason}")]
    Issuer {
        /// The issuer.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// The API key file is invalid.
    #[error("api key file {}{}: {reason}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    ApiKeyFile {
        /// The resolved path.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What is wrong (never the hash or key itself).
        reason: String,
    },
    /// The HTTPS client for JWKS fetching cannot be built.
    #[error("cannot build the JWKS client: {0}")]
    Client(String),
}
