//! Comparing JSON answers: which fields two answers share, which fields a
//! schema does not declare, which look like secrets. Pure functions, so the
//! judgement behind every finding is unit-tested apart from the network.

use std::collections::BTreeSet;

use rampart_contract::shape::{PropertyFindingKind, ShapeArena, ShapeId};
use serde_json::Value;

/// Top-level keys present with equal values in both objects, sorted.
pub fn shared_fields(a: &Value, b: &Value) -> Vec<String> {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<String> = a
                .iter()
                .filter(|(k, v)| b.get(*k) == Some(*v))
                .map(|(k, _)| k.clone())
                .collect();
            keys.sort();
            keys
        }
        (Value::Array(a), Value::Array(b)) if a == b && !a.is_empty() => {
            vec![format!("[{} items]", a.len())]
        }
        _ => Vec::new(),
    }
}

/// Top-level keys whose values differ (or exist on one side only), sorted.
pub fn differing_fields(a: &Value, b: &Value) -> Vec<String> {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return if a == b {
            Vec::new()
        } else {
            vec!["(whole body)".into()]
        };
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Whether two answers carry the same data: equal JSON, or objects sharing
/// at least three fields and differing in none but volatile ones.
pub fn same_data(a: &Value, b: &Value) -> bool {
    if a == b {
        return !matches!(a, Value::Null) && a != &Value::Array(Vec::new());
    }
    shared_fields(a, b).len() >= 3 && differing_fields(a, b).is_empty()
}

/// Properties of `value` the schema `shape` does not declare where it is
/// closed, as pointers with array indexes replaced by `*`, sorted, unique.
pub fn undeclared_fields(shapes: &ShapeArena, shape: ShapeId, value: &Value) -> Vec<String> {
    let mut copy = value.clone();
    let mut found = Vec::new();
    shapes.shape_response(shape, &mut copy, false, &mut found);
    let set: BTreeSet<String> = found
        .into_iter()
        .filter(|f| {
            matches!(
                f.kind,
                PropertyFindingKind::Undeclared | PropertyFindingKind::WriteOnly
            )
        })
        .map(|f| generalize(&f.pointer))
        .collect();
    set.into_iter().collect()
}

/// `/3/password_hash` -> `/*/password_hash`.
pub fn generalize(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|t| {
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Names that say "secret".
const SECRET_NAMES: [&str; 12] = [
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "private_key",
    "access_token",
    "refresh_token",
    "database_url",
    "connection_string",
    "session_token",
    "credentials",
];

/// Pointers (generalized) of fields that look like secrets, by name or value:
/// password hashes, signing secrets, API keys, connection strings with a
/// password in them.
pub fn secret_fields(value: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    walk_secrets(value, "", &mut out);
    out.into_iter().collect()
}

fn walk_secrets(value: &Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                let here = format!("{at}/{k}");
                let lower = k.to_ascii_lowercase();
                let named = SECRET_NAMES.iter().any(|s| lower.contains(s))
                    || lower.ends_with("_hash")
                    || lower.ends_with("_token");
                if named && matches!(v, Value::String(s) if !s.is_empty()) {
                    out.insert(generalize(&here));
                } else if let Value::String(s) = v
                    && secret_value(s)
                {
                    out.insert(generalize(&here));
                } else {
                    walk_secrets(v, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk_secrets(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A copy of `value` with every secret-looking field's value replaced by
/// `"<redacted>"`: reports keep the evidence that a secret leaked, not the
/// secret.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    let named = SECRET_NAMES.iter().any(|s| lower.contains(s))
                        || lower.ends_with("_hash")
                        || lower.ends_with("_token");
                    let secret = match v {
                        Value::String(s) => (named && !s.is_empty()) || secret_value(s),
                        _ => false,
                    };
                    let v = if secret {
                        Value::String("<redacted>".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Values that are secrets whatever their field is called.
fn secret_value(s: &str) -> bool {
    let bcrypt =
        s.len() == 60 && (s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$"));
    let argon = s.starts_with("$argon2");
    let private_key = s.contains("-----BEGIN") && s.contains("PRIVATE KEY");
    // scheme://user:password@host
    let url_with_password = s.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+')
            && rest
                .split_once('@')
                .is_some_and(|(user, _)| user.contains(':') && !user.contains('/'))
    });
    bcrypt || argon || private_key || url_with_password
}

/// Names of personal-data fields, reported beside undeclared ones.
pub fn personal_fields(fields: &[String]) -> Vec<String> {
    const PII: [&str; 9] = [
        "email", "phone", "address", "ip", "birth", "ssn", "passport", "gender", "location",
    ];
    fields
        .iter()
        .filter(|f| {
            let last = f
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            PII.iter().any(|p| {
                last == *p || last.contains(&format!("{p}_")) || last.ends_with(&format!("_{p}"))
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shared_and_differing_fields() {
        let a = json!({"id": 2, "name": "x", "age": 3, "t": 1});
        let b = json!({"id": 2, "name": "x", "age": 3, "t": 2});
        assert_eq!(shared_fields(&a, &b), ["age", "id", "name"]);
        assert_eq!(differing_fields(&a, &b), ["t"]);
        assert!(!same_data(&a, &b));
        assert!(same_data(&a, &a.clone()));
        assert!(
            !same_data(&json!([]), &json!([])),
            "two empty answers prove nothing"
        );
    }

    #[test]
    fn secrets_by_name_and_by_value() {
        let v = json!({
            "password_hash": "$2b$12$abc",
            "database_url": "postgres://app:pw@db.internal:5432/x",
            "note": "mysql://root:hunter2@10.0.0.1/db",
            "plain_url": "https://example.com/a@b",
            "items": [{"api_key": "k"}, {"api_key": ""}],
            "name": "alice"
        });
        assert_eq!(
            secret_fields(&v),
            [
                "/database_url",
                "/items/*/api_key",
                "/note",
                "/password_hash"
            ]
        );
    }

    #[test]
    fn redaction_hides_secret_values_and_keeps_the_rest() {
        let v = json!([{"id": 2, "password_hash": "$2b$12$x", "db": "postgres://u:p@h/d", "name": "a"}]);
        assert_eq!(
            redact(&v),
            json!([{"id": 2, "password_hash": "<redacted>", "db": "<redacted>", "name": "a"}])
        );
    }

    #[test]
    fn personal_fields_by_name() {
        let f: Vec<String> = ["/*/last_login_ip", "/*/email", "/*/zip", "/ipsum"]
            .map(String::from)
            .into();
        assert_eq!(personal_fields(&f), ["/*/last_login_ip", "/*/email"]);
    }

    #[test]
    fn generalize_replaces_indexes() {
        assert_eq!(generalize("/3/password_hash"), "/*/password_hash");
        assert_eq!(generalize("/a/10/b"), "/a/*/b");
    }
}
