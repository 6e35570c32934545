//! API2:2023 Broken Authentication: security schemes, credentials in URLs,
//! operations without security.

use rampart_contract::pointer;
use serde_json::Value;

use crate::catalog;
use crate::finding::Sink;
use crate::walk::{Index, deref};

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    schemes(index, sink);
    credentials_in_url(index, sink);
    unprotected(index, sink);
}

fn schemes(index: &Index<'_>, sink: &mut Sink) {
    let doc = index.doc;
    let Some(Value::Object(schemes)) = doc.pointer("/components/securitySchemes") else {
        return;
    };
    for (name, scheme) in schemes {
        let (ptr, scheme) = deref(
            doc,
            pointer::push("/components/securitySchemes", name),
            scheme,
        );
        let text = |k: &str| scheme.get(k).and_then(Value::as_str).unwrap_or_default();
        let ty = text("type");
        let http_scheme = text("scheme").to_ascii_lowercase();
        if ty == "http" && http_scheme == "basic" {
            sink.report(
                &catalog::HTTP_BASIC,
                pointer::push(&ptr, "scheme"),
                format!("security scheme \"{name}\" uses HTTP Basic"),
            );
        }
        if ty == "http" && matches!(http_scheme.as_str(), "negotiate" | "oauth") {
            sink.report(
                &catalog::INSECURE_SCHEME,
                pointer::push(&ptr, "scheme"),
                format!(
                    "security scheme \"{name}\" uses the insecure HTTP scheme \"{http_scheme}\""
                ),
            );
        }
        if ty == "apiKey" && matches!(text("in"), "query" | "path") {
            sink.report(
                &catalog::API_KEY_IN_URL,
                pointer::push(&ptr, "in"),
                format!(
                    "API key \"{}\" of scheme \"{name}\" is sent in the {}",
                    text("name"),
                    text("in")
                ),
            );
        }
        let jwt = ty == "oauth2" || text("bearerFormat").eq_ignore_ascii_case("jwt");
        if jwt && !text("description").contains("RFC8725") {
            sink.report(
                &catalog::JWT_RFC8725,
                ptr.clone(),
                format!("security scheme \"{name}\" carries JWTs but its description does not state conformance to RFC8725"),
            );
        }
        if ty == "oauth2"
            && let Some(Value::Object(flows)) = scheme.get("flows")
        {
            for (flow, f) in flows {
                if f.get("refreshUrl")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    sink.report(
                        &catalog::NO_REFRESH,
                        pointer::push(&pointer::push(&ptr, "flows"), flow),
                        format!("OAuth 2 flow \"{flow}\" of \"{name}\" declares no refreshUrl"),
                    );
                }
            }
        }
    }
}

/// Names that say "credential": the Spectral OWASP pattern, matched case-insensitively.
fn credential_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "clientsecret",
        "client_secret",
        "token",
        "password",
        "secret",
        "apikey",
        "api-key",
        "api_key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn credentials_in_url(index: &Index<'_>, sink: &mut Sink) {
    for p in index.params.values() {
        if matches!(p.location, "query" | "path") && credential_name(p.name) {
            sink.report(
                &catalog::CREDENTIALS_IN_URL,
                pointer::push(&p.pointer, "name"),
                format!(
                    "{} parameter \"{}\" looks like a credential",
                    p.location, p.name
                ),
            );
        }
    }
}

fn unprotected(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        let op = v.op;
        let method = op.method.as_str();
        let rule = match method {
            "POST" | "PUT" | "PATCH" | "DELETE" => &catalog::WRITE_UNPROTECTED,
            "GET" | "HEAD" => &catalog::READ_UNPROTECTED,
            _ => continue,
        };
        // No requirement at all, `[]`, or only `{}` (anonymous): nothing authenticates the caller.
        let named = op
            .security
            .as_ref()
            .is_some_and(|reqs| reqs.iter().any(|r| !r.is_empty()));
        if named {
            continue;
        }
        let (at, how) = if v.node.contains_key("security") {
            (
                pointer::push(&op.pointer, "security"),
                "its security requirement names no scheme",
            )
        } else if index.doc.get("security").is_some() {
            (
                op.pointer.clone(),
                "the document's security requirement names no scheme",
            )
        } else {
            (
                op.pointer.clone(),
                "neither it nor the document declares security",
            )
        };
        sink.report(
            rule,
            at,
            format!("{method} {} is not protected: {how}", op.path),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::credential_name;

    #[test]
    fn credential_names_follow_the_spectral_pattern() {
        for n in [
            "access_token",
            "X-API-KEY",
            "apiKey",
            "client_secret",
            "Password",
        ] {
            assert!(credential_name(n), "{n}");
        }
        for n in ["id", "page", "username"] {
            assert!(!credential_name(n), "{n}");
        }
    }
}
