//! API8:2023 Security Misconfiguration (transport, CORS, declared errors) and
//! API9:2023 Improper Inventory Management (server audience and
//! environment, deprecated operations).

use std::collections::BTreeSet;

use rampart_contract::pointer;
use serde_json::Value;

use super::header_names;
use crate::catalog;
use crate::finding::Sink;
use crate::walk::{Index, OpView};

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    servers(index, sink);
    let mut cors_seen = BTreeSet::new();
    for v in &index.ops {
        error_responses(v, sink);
        deprecated(v, sink);
        for r in &v.responses {
            if r.node.get("headers").is_some()
                && cors_seen.insert(r.pointer.clone())
                && !header_names(r.node)
                    .iter()
                    .any(|h| h == "access-control-allow-origin")
            {
                sink.report(
                    &catalog::CORS_ORIGIN,
                    pointer::push(&r.pointer, "headers"),
                    format!(
                        "{} response headers do not include Access-Control-Allow-Origin",
                        r.code
                    ),
                );
            }
        }
    }
}

fn loopback(url: &str) -> bool {
    let rest = url.get(7..).unwrap_or_default().to_ascii_lowercase();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

const ENVIRONMENTS: &[&str] = &[
    "local", "sandbox", "alpha", "beta", "test", "stag", "prod", "next", "preprod",
];

fn servers(index: &Index<'_>, sink: &mut Sink) {
    let doc = index.doc;
    // Where `servers` lists can be: the document, path items and operations.
    let mut lists: Vec<(String, &Value)> = Vec::new();
    if let Some(s) = doc.get("servers") {
        lists.push(("/servers".to_string(), s));
    }
    let mut items = BTreeSet::new();
    for v in &index.ops {
        if let Some((item, _)) = v.op.pointer.rsplit_once('/')
            && items.insert(item.to_string())
            && let Ok(s) = pointer::resolve(doc, &format!("{item}/servers"))
        {
            lists.push((format!("{item}/servers"), s));
        }
        if let Some(s) = v.node.get("servers") {
            lists.push((pointer::push(&v.op.pointer, "servers"), s));
        }
    }
    for (base, list) in lists {
        let Value::Array(list) = list else { continue };
        for (i, server) in list.iter().enumerate() {
            let ptr = format!("{base}/{i}");
            let url = server
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if url.to_ascii_lowercase().starts_with("http:") && !loopback(url) {
                sink.report(
                    &catalog::PLAIN_HTTP,
                    pointer::push(&ptr, "url"),
                    format!("server {url} uses plain HTTP"),
                );
            }
            if base != "/servers" {
                continue;
            }
            if server.get("x-internal").is_none() {
                sink.report(
                    &catalog::SERVER_AUDIENCE,
                    ptr.clone(),
                    format!("server {url} does not declare x-internal"),
                );
            }
            let desc = server
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !ENVIRONMENTS.iter().any(|e| desc.contains(e)) {
                sink.report(
                    &catalog::SERVER_ENVIRONMENT,
                    ptr,
                    format!("server {url} does not name its environment in its description"),
                );
            }
        }
    }
}

fn error_responses(v: &OpView<'_>, sink: &mut Sink) {
    if v.responses_node.is_none() {
        return;
    }
    let find = |code: &str| {
        v.responses
            .iter()
            .find(|r| r.code.eq_ignore_ascii_case(code))
    };
    let with_content = |code: &str| find(code).is_some_and(|r| r.node.get("content").is_some());
    let what = format!("{} {}", v.op.method, v.op.path);
    if find("400").is_none() && find("422").is_none() && find("4XX").is_none() {
        sink.report(
            &catalog::RESPONSE_400,
            v.responses_pointer.clone(),
            format!("{what} declares no 400, 422 or 4XX response"),
        );
    }
    if !with_content("401") {
        let why = if find("401").is_some() {
            "declares a 401 response without content"
        } else {
            "declares no 401 response"
        };
        sink.report(
            &catalog::RESPONSE_401,
            v.responses_pointer.clone(),
            format!("{what} {why}"),
        );
    }
    // A `5XX` or `default` response with a body documents server errors as well as a `500` does.
    if !with_content("500") && !with_content("5XX") && !with_content("default") {
        sink.report(
            &catalog::RESPONSE_500,
            v.responses_pointer.clone(),
            format!("{what} declares no 500, 5XX or default response with content"),
        );
    }
}

fn deprecated(v: &OpView<'_>, sink: &mut Sink) {
    if !v.op.deprecated {
        return;
    }
    let sunset = v.op.extensions.contains_key("x-sunset")
        || v.responses
            .iter()
            .any(|r| header_names(r.node).iter().any(|h| h == "sunset"));
    if !sunset {
        sink.report(
            &catalog::DEPRECATED_SERVED,
            pointer::push(&v.op.pointer, "deprecated"),
            format!(
                "{} {} is deprecated but still served, with no sunset declared",
                v.op.method, v.op.path
            ),
        );
    }
}
