//! The verified caller, as the authorization phases see it. Whatever the
//! credential (a JWT or an API key), it ends up as one [`Principal`], so
//! Cedar policies and scope checks never care how the caller proved who
//! they are.

use serde_json::{Map, Value};

/// How the principal was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A bearer JWT from a configured issuer.
    Jwt {
        /// The token's (configured, exactly matched) `iss`.
        issuer: String,
    },
    /// An API key from the API key file.
    ApiKey {
        /// The key's `id` in the file (never the key or its hash).
        key_id: String,
    },
    /// No credential: only public (`security: []`) operations allow this.
    Anonymous,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// How the caller was authenticated.
    pub kind: PrincipalKind,
    /// The subject claim, or the API key's subject (`""` for anonymous).
    pub id: String,
    /// From the roles claim (a string or an array of strings), or the key's role.
    pub roles: Vec<String>,
    /// From the scopes claim (a space-separated string or an array), or the key's scopes.
    pub scopes: Vec<String>,
    /// The verified claims of a JWT; empty otherwise. Policies may read
    /// custom claims (tenant, plan) from here.
    pub claims: Map<String, Value>,
    /// The token's `jti`, if any (for the audit log and revocation).
    pub token_id: Option<String>,
    /// The token's `exp` in Unix seconds, if any.
    pub expires_at: Option<u64>,
}

impl Principal {
    /// The caller who presented nothing. Its empty id matches no owner, so a
    /// BOLA check can never mistake it for someone.
    pub fn anonymous() -> Self {
        Principal {
            kind: PrincipalKind::Anonymous,
            id: String::new(),
            roles: Vec::new(),
            scopes: Vec::new(),
            claims: Map::new(),
            token_id: None,
            expires_at: None,
        }
    }

    /// Whether the principal holds role `r` (exact, case-sensitive match:
    /// `Admin` is not `admin`, so a typo never grants privileges).
    pub fn has_role(&self, r: &str) -> bool {
        self.roles.iter().any(|role| role == r)
    }

    /// Whether the principal holds every scope in `required` (an empty list
    /// is always satisfied).
    pub fn has_scopes(&self, required: &[String]) -> bool {
        required
            .iter()
            .all(|s| self.scopes.iter().any(|have| have == s))
    }
}

/// Read a roles claim: a string is one role, an array of strings is many.
/// Anything else (a number, an object, non-string items) grants nothing:
/// an odd claim must never widen what the caller may do.
pub(crate) fn roles_from(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => strings(items),
        _ => Vec::new(),
    }
}

/// Read a scopes claim: OAuth's space-separated `scope` string, or an array
/// of strings (as in `scp`).
pub(crate) fn scopes_from(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s.split_ascii_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => strings(items),
        _ => Vec::new(),
    }
}

fn strings(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn roles_accept_a_string_or_an_array_of_strings_only() {
        assert_eq!(roles_from(Some(&json!("admin"))), ["admin"]);
        assert_eq!(roles_from(Some(&json!(["a", 1, "b"]))), ["a", "b"]);
        assert!(roles_from(Some(&json!({"admin": true}))).is_empty());
        assert!(roles_from(Some(&json!(true))).is_empty());
        assert!(roles_from(None).is_empty());
    }

    #[test]
    fn scopes_split_on_spaces_or_come_from_an_array() {
        assert_eq!(
            scopes_from(Some(&json!(" read  write "))),
            ["read", "write"]
        );
        assert_eq!(
            scopes_from(Some(&json!(["read", "write"]))),
            ["read", "write"]
        );
        assert!(scopes_from(Some(&json!(7))).is_empty());
    }

    #[test]
    fn has_scopes_needs_all_of_them() {
        let mut p = Principal::anonymous();
        p.scopes = vec!["read".into(), "write".into()];
        assert!(p.has_scopes(&[]));
        assert!(p.has_scopes(&["read".into()]));
        assert!(!p.has_scopes(&["read".into(), "admin".into()]));
        p.roles = vec!["admin".into()];
        assert!(p.has_role("admin"));
        assert!(!p.has_role("Admin"));
    }
}
