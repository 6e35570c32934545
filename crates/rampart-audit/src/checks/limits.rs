//! API4:2023 Unrestricted Resource Consumption: bounds on strings, arrays and
//! integers, declared rate limits, and bounded pages.

use rampart_contract::{Dialect, pointer};
use serde_json::{Map, Value};

use super::{fold, header_names};
use crate::catalog;
use crate::finding::Sink;
use crate::walk::{Index, OpView, at, has_type};

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    schema_bounds(index, sink, index.dialect);
    for v in &index.ops {
        rate_limits(v, sink);
        page_size(index, v, sink);
    }
}

/// String formats whose values have a small fixed maximum length.
const BOUNDED_FORMATS: &[&str] = &["date", "date-time", "time", "uuid", "ipv4", "ipv6"];

fn schema_bounds(index: &Index<'_>, sink: &mut Sink, dialect: Dialect) {
    for ptr in index.schemas.keys() {
        let Some(m) = index.node(ptr) else { continue };
        let has = |k: &str| m.contains_key(k);
        if has_type(m, "array") && !has("maxItems") {
            sink.report(
                &catalog::ARRAY_MAX_ITEMS,
                ptr.clone(),
                "array has no maxItems",
            );
        }
        if has_type(m, "string") {
            let format = m.get("format").and_then(Value::as_str);
            let bounded_format = format.is_some_and(|f| BOUNDED_FORMATS.contains(&f));
            if !has("maxLength") && !has("enum") && !has("const") && !bounded_format {
                sink.report(
                    &catalog::STRING_MAX_LENGTH,
                    ptr.clone(),
                    "string has no maxLength, enum or const",
                );
            }
            if format.is_none() && !has("pattern") && !has("enum") && !has("const") {
                sink.report(
                    &catalog::STRING_RESTRICTED,
                    ptr.clone(),
                    "string has no format, pattern, enum or const",
                );
            }
        }
        if has_type(m, "integer") {
            integer_bounds(ptr, m, sink, dialect);
            if !has("format") {
                sink.report(
                    &catalog::INTEGER_FORMAT,
                    ptr.clone(),
                    "integer has no format (int32 or int64)",
                );
            }
        }
    }
}

fn integer_bounds(ptr: &str, m: &Map<String, Value>, sink: &mut Sink, dialect: Dialect) {
    if m.contains_key("enum") || m.contains_key("const") {
        return;
    }
    // 3.0's exclusiveMinimum is a boolean modifier of minimum; 3.1's is a number of its own.
    let bound = |plain: &str, exclusive: &str| {
        m.contains_key(plain)
            || (dialect == Dialect::Oas31 && m.get(exclusive).is_some_and(Value::is_number))
    };
    let missing: Vec<&str> = [
        ("minimum", "exclusiveMinimum"),
        ("maximum", "exclusiveMaximum"),
    ]
    .into_iter()
    .filter(|(p, e)| !bound(p, e))
    .map(|(p, _)| p)
    .collect();
    if !missing.is_empty() {
        sink.report(
            &catalog::INTEGER_BOUNDS,
            ptr.to_string(),
            format!("integer has no {}", missing.join(" or ")),
        );
    }
}

/// Header sets that declare a rate limit (any one suffices).
const RATE_LIMIT_SETS: &[&[&str]] = &[
    &["ratelimit"],
    &["ratelimit-limit", "ratelimit-reset"],
    &["x-ratelimit-limit"],
    &["x-rate-limit-limit"],
];

fn rate_limits(v: &OpView<'_>, sink: &mut Sink) {
    for r in &v.responses {
        let headers = header_names(r.node);
        if r.code.starts_with('2') || r.code.starts_with('4') {
            let declared = RATE_LIMIT_SETS
                .iter()
                .any(|set| set.iter().all(|h| headers.iter().any(|n| n == h)));
            if !declared {
                sink.report(
                    &catalog::RATE_LIMIT_HEADERS,
                    r.pointer.clone(),
                    format!("{} response declares no rate-limit headers", r.code),
                );
            }
        }
        if r.code == "429" && !headers.iter().any(|h| h == "retry-after") {
            sink.report(
                &catalog::RETRY_AFTER,
                r.pointer.clone(),
                "429 response declares no Retry-After header",
            );
        }
    }
    if v.responses_node.is_none() {
        return;
    }
    let status = v.responses.iter().find(|r| r.code == "429");
    let why = match status {
        None => Some("declares no 429 response"),
        Some(r) if r.node.get("content").is_none() => {
            Some("declares a 429 response without content")
        }
        Some(_) => None,
    };
    if let Some(why) = why {
        sink.report(
            &catalog::RESPONSE_429,
            v.responses_pointer.clone(),
            format!("{} {} {why}", v.op.method, v.op.path),
        );
    }
}

/// Folded names of page-size query parameters.
const PAGE_SIZE_NAMES: &[&str] = &[
    "limit",
    "perpage",
    "pagesize",
    "size",
    "count",
    "max",
    "maxresults",
    "maxitems",
    "top",
    "first",
    "last",
    "take",
    "pagelimit",
    "rows",
];

fn page_size(index: &Index<'_>, v: &OpView<'_>, sink: &mut Sink) {
    // Collection routes only: a last segment with a template (`/{id}`, `/{Sid}.json`) names one object.
    let last =
        v.op.path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
    if v.op.method != "GET" || last.contains('{') {
        return;
    }
    // Only operations that answer with a list: an array, or an object wrapping one.
    let mut list = false;
    let mut bounded = false;
    for r in v.responses.iter().filter(|r| r.code.starts_with('2')) {
        for (sp, media) in &r.schemas {
            if !rampart_contract::is_json(&rampart_contract::media_essence(media)) {
                continue;
            }
            let Some((_, s)) = at(index.doc, sp) else {
                continue;
            };
            let Some(m) = s.as_object() else { continue };
            for arr in arrays_of(index, m) {
                list = true;
                bounded |= arr.contains_key("maxItems");
            }
        }
    }
    if !list || bounded {
        return;
    }
    let size = v
        .params
        .iter()
        .find(|p| p.location == "query" && PAGE_SIZE_NAMES.contains(&fold(p.name).as_str()));
    match size {
        None => sink.report(
            &catalog::PAGE_SIZE,
            v.op.pointer.clone(),
            format!(
                "GET {} returns a list and has no page-size parameter",
                v.op.path
            ),
        ),
        Some(p) => {
            let schema = p.schema.as_deref().and_then(|s| at(index.doc, s));
            let capped = schema
                .as_ref()
                .and_then(|(_, s)| s.as_object())
                .is_some_and(|m| m.contains_key("maximum") || m.contains_key("enum"));
            if !capped {
                let at = schema
                    .map(|(ptr, _)| ptr)
                    .unwrap_or_else(|| pointer::push(&p.pointer, "schema"));
                sink.report(
                    &catalog::PAGE_SIZE,
                    at,
                    format!(
                        "page-size parameter \"{}\" of GET {} has no maximum",
                        p.name, v.op.path
                    ),
                );
            }
        }
    }
}

/// The response schema itself if it is an array, else its array-typed top-level properties.
fn arrays_of<'a>(index: &Index<'a>, m: &'a Map<String, Value>) -> Vec<&'a Map<String, Value>> {
    if has_type(m, "array") {
        return vec![m];
    }
    let mut out = Vec::new();
    if let Some(Value::Object(props)) = m.get("properties") {
        for p in props.values() {
            let (_, p) = crate::walk::deref(index.doc, String::new(), p);
            if let Some(pm) = p.as_object()
                && has_type(pm, "array")
            {
                out.push(pm);
            }
        }
    }
    out
}
