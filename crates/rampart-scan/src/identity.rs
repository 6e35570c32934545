//! The callers a scan acts as, parsed from `--identity NAME=KIND:...`.
//!
//! Two identities make the scan meaningful: ids seen as the first are
//! replayed as the second. Each is a bearer token, an API key, or a login
//! recipe (an operation of the contract called with credentials, the token
//! read from its answer by JSON pointer and fetched again on a 401).

use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use crate::error::ScanError;

/// How an identity proves who it is.
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// A header carrying a key.
    ApiKey {
        /// Header name, lowercase.
        header: String,
        /// The key.
        value: String,
    },
    /// Log in through an operation of the contract.
    Login {
        /// The login operation's operationId.
        operation: String,
        /// JSON pointer to the token in the login answer.
        pointer: String,
        /// The JSON body sent to log in.
        body: Value,
    },
}

/// A named caller.
#[derive(Clone)]
pub struct Identity {
    /// The name used in reports and reproductions (`alice`).
    pub name: String,
    /// The credential.
    pub credential: Credential,
    /// The principal id objects are owned by (`--principal-id`, else the JWT's `sub`).
    pub principal: Option<String>,
}

// Never print a credential, even in debug output.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.credential {
            Credential::Bearer(_) => "bearer",
            Credential::ApiKey { .. } => "apikey",
            Credential::Login { .. } => "login",
        };
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("kind", &kind)
            .field("principal", &self.principal)
            .finish()
    }
}

impl Identity {
    /// Parse `NAME=bearer:TOKEN`, `NAME=bearer-env:VARIABLE`,
    /// `NAME=apikey:HEADER:VALUE` or `NAME=login:OPERATION:POINTER:JSON`.
    pub fn parse(spec: &str) -> Result<Identity, ScanError> {
        let bad = |cause: &str| ScanError::Identity {
            // Only the name: never echo what may be a token.
            name: spec
                .split_once('=')
                .map(|(n, _)| n.chars().take(64).collect())
                .unwrap_or_else(|| "(no NAME=)".to_string()),
            cause: cause.to_string(),
        };
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=KIND:..."))?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("the name must be letters, digits, '_' or '-'"));
        }
        let (kind, value) = rest
            .split_once(':')
            .ok_or_else(|| bad("expected bearer:, bearer-env:, apikey: or login:"))?;
        let credential = match kind {
            "bearer" if !value.is_empty() => Credential::Bearer(value.to_string()),
            // The token from the environment: a command line ends up in
            // shell history and in `ps`, an environment variable does not.
            "bearer-env" => Credential::Bearer(
                std::env::var(value)
                    .ok()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| bad(&format!("the environment variable {value} is not set")))?,
            ),
            "apikey" => {
                let (header, key) = value
                    .split_once(':')
                    .ok_or_else(|| bad("expected apikey:HEADER:VALUE"))?;
                if header.is_empty() || key.is_empty() {
                    return Err(bad("expected apikey:HEADER:VALUE"));
                }
                Credential::ApiKey {
                    header: header.to_ascii_lowercase(),
                    value: key.to_string(),
                }
            }
            "login" => {
                let mut parts = value.splitn(3, ':');
                let (Some(operation), Some(pointer), Some(json)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad("expected login:OPERATION:POINTER:JSON"));
                };
                if !pointer.starts_with('/') {
                    return Err(bad("the token pointer must start with '/'"));
                }
                let body = serde_json::from_str(json)
                    .map_err(|e| bad(&format!("the login body is not JSON: {e}")))?;
                Credential::Login {
                    operation: operation.to_string(),
                    pointer: pointer.to_string(),
                    body,
                }
            }
            _ => return Err(bad("the kind must be bearer, bearer-env, apikey or login")),
        };
        let principal = match &credential {
            Credential::Bearer(token) => Jwt::parse(token).and_then(|j| j.claim_str("sub")),
            _ => None,
        };
        Ok(Identity {
            name: name.to_string(),
            credential,
            principal,
        })
    }

    /// The shell variable reproductions use for this identity's token.
    pub fn var(&self) -> String {
        self.name.to_ascii_uppercase().replace('-', "_")
    }
}

/// A JWT split into its parts (signature unchecked: the scanner only reads it).
#[derive(Debug, Clone)]
pub struct Jwt {
    /// The decoded header.
    pub header: Value,
    /// The decoded claims.
    pub claims: Value,
    /// `header.payload`, the signed input.
    pub signing_input: String,
    /// The raw signature bytes.
    pub signature: Vec<u8>,
}

impl Jwt {
    /// Parse a compact JWS; `None` when it is not one.
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: Value = serde_json::from_slice(&b64.decode(h).ok()?).ok()?;
        let claims: Value = serde_json::from_slice(&b64.decode(p).ok()?).ok()?;
        if !header.is_object() || !claims.is_object() {
            return None;
        }
        Some(Jwt {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature: b64.decode(s).ok()?,
        })
    }

    /// A claim as a string (numbers are printed).
    pub fn claim_str(&self, name: &str) -> Option<String> {
        match self.claims.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The roles the token claims (`role` or `roles`, string or array).
    pub fn roles(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in ["role", "roles"] {
            match self.claims.get(name) {
                Some(Value::String(s)) => out.push(s.clone()),
                Some(Value::Array(a)) => {
                    out.extend(a.iter().filter_map(|v| v.as_str().map(String::from)))
                }
                _ => {}
            }
        }
        out
    }

    /// The `alg` header.
    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        let b = Identity::parse("alice=bearer:abc").unwrap();
        assert!(matches!(b.credential, Credential::Bearer(ref t) if t == "abc"));
        let k = Identity::parse("bob=apikey:X-Api-Key:k:with:colons").unwrap();
        assert!(
            matches!(k.credential, Credential::ApiKey { ref header, ref value } if header == "x-api-key" && value == "k:with:colons")
        );
        let l = Identity::parse(r#"carol=login:login:/token:{"user":"c","pass":"p:q"}"#).unwrap();
        assert!(
            matches!(l.credential, Credential::Login { ref operation, ref pointer, ref body } if operation == "login" && pointer == "/token" && body["pass"] == "p:q")
        );
    }

    #[test]
    fn bearer_tokens_can_come_from_the_environment() {
        // PATH is set in every test environment; its value stands in for a token.
        let path = std::env::var("PATH").unwrap();
        let id = Identity::parse("alice=bearer-env:PATH").unwrap();
        assert!(matches!(id.credential, Credential::Bearer(ref t) if *t == path));
        assert!(Identity::parse("alice=bearer-env:RAMPART_SCAN_SURELY_UNSET_VAR").is_err());
    }

    #[test]
    fn bad_identities_say_why() {
        for bad in [
            "alice",
            "alice=foo:x",
            "=bearer:x",
            "a=apikey:h",
            "a=login:op:tok:{}",
            "a=login:op:/t:nope",
        ] {
            assert!(Identity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_never_echo_the_credential() {
        let e = Identity::parse("bearer:supersecret")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("supersecret"), "{e}");
        let e = Identity::parse("a=nope:supersecret")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("supersecret"), "{e}");
    }

    #[test]
    fn debug_output_hides_the_credential() {
        let b = Identity::parse("alice=bearer:supersecret").unwrap();
        assert!(!format!("{b:?}").contains("supersecret"));
    }

    #[test]
    fn principal_comes_from_the_jwt_sub() {
        // {"alg":"HS256"} . {"sub":"2","role":"member"} . sig
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIiwicm9sZSI6Im1lbWJlciJ9.c2ln";
        let id = Identity::parse(&format!("alice=bearer:{token}")).unwrap();
        assert_eq!(id.principal.as_deref(), Some("2"));
        let jwt = Jwt::parse(token).unwrap();
        assert_eq!(jwt.roles(), vec!["member".to_string()]);
        assert_eq!(jwt.alg(), "HS256");
    }
}
