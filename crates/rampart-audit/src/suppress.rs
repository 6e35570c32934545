//! Inline suppressions: `x-rampart-ignore` on any node of the document
//! silences the named rules for that node and everything under it.
//!
//! ```yaml
//! paths:
//!   /login:
//!     post:
//!       x-rampart-ignore:
//!         audit.auth.write-unprotected: login is public by design
//!       security: []
//! ```
//!
//! The value is a rule id, a list of rule ids, or a map from rule id to the
//! reason (shown in reports, and in SARIF as an in-source suppression).
//! Spectral and vacuum ids are accepted. Suppressed findings do not count
//! towards the score or the CI gates, but they are still listed in JSON and
//! SARIF so reviews can see what was waived.

use rampart_contract::pointer;
use serde_json::Value;

use crate::catalog::{self, AuditRule};

/// The extension's name.
pub const IGNORE_KEY: &str = "x-rampart-ignore";

fn matches(entry: &str, rule: &AuditRule) -> bool {
    entry == rule.id() || catalog::lookup(entry).is_some_and(|r| r.id() == rule.id())
}

/// The reason `rule` is suppressed at `ptr`, if an ancestor (or the node itself) ignores it.
pub fn suppressed(doc: &Value, ptr: &str, rule: &AuditRule) -> Option<String> {
    let mut node = doc;
    let check = |node: &Value| -> Option<String> {
        match node.get(IGNORE_KEY)? {
            Value::String(s) if matches(s, rule) => Some(String::new()),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .any(|s| matches(s, rule))
                .then(String::new),
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| matches(k, rule))
                .map(|(_, v)| v.as_str().unwrap_or_default().to_string()),
            _ => None,
        }
    };
    if let Some(r) = check(node) {
        return Some(r);
    }
    for raw in ptr.split('/').skip(1) {
        let token = pointer::unescape(raw);
        let next = match node {
            Value::Object(m) => m.get(&token),
            Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        let Some(next) = next else { break };
        node = next;
        if let Some(r) = check(node) {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ignores_apply_to_the_node_and_below() {
        let doc = json!({"paths": {"/login": {"post": {
            "x-rampart-ignore": {"audit.auth.write-unprotected": "public by design"},
            "responses": {"x-rampart-ignore": ["owasp:api8:2023-define-error-responses-401"]}
        }}}});
        let op = "/paths/~1login/post";
        assert_eq!(
            suppressed(&doc, op, &catalog::WRITE_UNPROTECTED).as_deref(),
            Some("public by design")
        );
        assert!(suppressed(&doc, op, &catalog::RESPONSE_401).is_none());
        assert!(suppressed(&doc, &format!("{op}/responses"), &catalog::RESPONSE_401).is_some());
    }
}
