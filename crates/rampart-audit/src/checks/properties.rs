//! Property-level rules: personal data without declared visibility (API3),
//! server-owned fields clients can write (API3, mass assignment), secrets in
//! responses (API3), and URLs in request bodies (API7).
//!
//! Names are matched after folding (`date_of_birth`, `dateOfBirth` and
//! `DateOfBirth` are one name), against short, explicit lists: a finding
//! should be obviously right when someone reads it.

use std::collections::{BTreeMap, BTreeSet};

use rampart_contract::pointer;
use serde_json::Value;

use super::{VISIBILITY_KEY, flags, fold, list_some, owner_annotated, walk_properties};
use crate::catalog;
use crate::finding::Sink;
use crate::walk::Index;

pub(super) fn check(index: &Index<'_>, sink: &mut Sink) {
    personal_data(index, sink);
    server_owned(index, sink);
    secrets(index, sink);
    url_inputs(index, sink);
}

/// Folded names that are personal data as they are.
const PII_EXACT: &[&str] = &[
    "birthday",
    "birthdate",
    "dateofbirth",
    "dob",
    "age",
    "gender",
    "weight",
    "height",
    "location",
    "address",
    "streetaddress",
    "homeaddress",
    "city",
    "zip",
    "zipcode",
    "postalcode",
    "lat",
    "lng",
    "lon",
    "latitude",
    "longitude",
    "gps",
    "geo",
    "geolocation",
    "coordinates",
    "email",
    "emailaddress",
    "phone",
    "phonenumber",
    "mobile",
    "mobilenumber",
    "telephone",
    "ssn",
    "socialsecuritynumber",
];
/// Folded suffixes that make a name personal data (`user_email`, `home_phone`).
const PII_SUFFIX: &[&str] = &[
    "email",
    "phone",
    "phonenumber",
    "birthday",
    "birthdate",
    "dateofbirth",
    "latitude",
    "longitude",
    "gps",
];

fn personal(name: &str) -> bool {
    let f = fold(name);
    PII_EXACT.contains(&f.as_str()) || PII_SUFFIX.iter().any(|s| f.ends_with(s))
}

fn personal_data(index: &Index<'_>, sink: &mut Sink) {
    // Property location -> operations that return it unannotated.
    let mut exposed: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for v in &index.ops {
        if owner_annotated(&v.op.extensions) {
            continue;
        }
        for r in v.responses.iter().filter(|r| r.code.starts_with('2')) {
            for (schema, _) in &r.schemas {
                walk_properties(index.doc, schema, |hit| {
                    if hit.owner_annotated || !personal(hit.name) {
                        return;
                    }
                    let visible = |n: &Value| n.get(VISIBILITY_KEY).is_some();
                    if visible(hit.written) || visible(hit.schema) {
                        return;
                    }
                    exposed
                        .entry(hit.pointer.clone())
                        .or_insert_with(|| (hit.name.to_string(), BTreeSet::new()))
                        .1
                        .insert(v.op.id.clone());
                });
            }
        }
    }
    for (ptr, (name, ops)) in exposed {
        let ops: Vec<String> = ops.into_iter().collect();
        sink.report(
            &catalog::PII_UNANNOTATED,
            ptr,
            format!(
                "personal data \"{name}\" is returned by {} with no x-rampart-owner, x-rampart-private or x-rampart-visibility",
                list_some(&ops, 3)
            ),
        );
    }
}

/// Folded names of fields the server, not the client, decides.
const SERVER_OWNED: &[&str] = &[
    "role",
    "roles",
    "isadmin",
    "admin",
    "issuperuser",
    "superuser",
    "isstaff",
    "permissions",
    "scopes",
    "owner",
    "ownerid",
    "createdby",
    "createdat",
    "updatedat",
    "balance",
    "accountbalance",
    "credit",
    "credits",
    "verified",
    "isverified",
    "emailverified",
];

fn server_owned(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        for (schema, _) in &v.request_schemas {
            walk_properties(index.doc, schema, |hit| {
                let f = fold(hit.name);
                // A nested `id` usually references another object; only the body's own `id` is server-owned.
                let owned = SERVER_OWNED.contains(&f.as_str()) || (f == "id" && hit.depth == 0);
                if !owned || flags(index.doc, hit.written).0 {
                    return;
                }
                sink.report(
                    &catalog::SERVER_OWNED_WRITABLE,
                    hit.pointer.clone(),
                    format!(
                        "request bodies can set \"{}\" ({} {}), which the server should own; it is not readOnly",
                        hit.name,
                        v.op.method,
                        v.op.path
                    ),
                );
            });
        }
    }
}

const SECRET_EXACT: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pin",
    "cvv",
    "cvc",
    "secret",
    "clientsecret",
    "apisecret",
    "secretkey",
    "privatekey",
];

fn secret_name(name: &str) -> bool {
    let f = fold(name);
    SECRET_EXACT.contains(&f.as_str())
        || f.ends_with("password")
        || f.ends_with("secret")
        || f.ends_with("privatekey")
}

fn secrets(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        // Names this operation's request declares writeOnly: echoing them back is the bug.
        let mut write_only = BTreeSet::new();
        for (schema, _) in &v.request_schemas {
            walk_properties(index.doc, schema, |hit| {
                if flags(index.doc, hit.written).1 {
                    write_only.insert(hit.name.to_string());
                }
            });
        }
        for r in &v.responses {
            for (schema, _) in &r.schemas {
                walk_properties(index.doc, schema, |hit| {
                    if flags(index.doc, hit.written).1 {
                        return;
                    }
                    let echoed = write_only.contains(hit.name);
                    if !echoed && !secret_name(hit.name) {
                        return;
                    }
                    let why = if echoed {
                        "is writeOnly in the request but declared in the response"
                    } else {
                        "looks like a secret and is not writeOnly"
                    };
                    sink.report(
                        &catalog::SECRET_IN_RESPONSE,
                        hit.pointer.clone(),
                        format!("\"{}\" {why} ({} {})", hit.name, v.op.method, v.op.path),
                    );
                });
            }
        }
    }
}

/// Formats that make a string a URL.
pub(super) fn url_format(schema: &Value) -> bool {
    matches!(
        schema.get("format").and_then(Value::as_str),
        Some("uri" | "url" | "iri" | "uri-reference" | "iri-reference" | "uri-template")
    )
}

/// Names that say "the server will fetch or redirect to this".
pub(super) fn url_name(name: &str) -> bool {
    let f = fold(name);
    f.starts_with("callback")
        || f.starts_with("redirect")
        || f.starts_with("webhook")
        || f.ends_with("url")
        || f.ends_with("uri")
        || f == "href"
        || f == "endpoint"
}

fn url_inputs(index: &Index<'_>, sink: &mut Sink) {
    for v in &index.ops {
        for p in &v.params {
            let Some(schema) = &p.schema else { continue };
            let Ok(s) = pointer::resolve(index.doc, schema) else {
                continue;
            };
            let (_, s) = crate::walk::deref(index.doc, schema.clone(), s);
            // Names alone are the Spectral-compatible rule (audit.ssrf.url-parameter).
            if url_format(s) && !super::functions::concerning_parameter(p.name) {
                sink.report(
                    &catalog::URL_INPUT,
                    p.pointer.clone(),
                    format!("{} parameter \"{}\" is a URL", p.location, p.name),
                );
            }
        }
        for (schema, _) in &v.request_schemas {
            walk_properties(index.doc, schema, |hit| {
                let string = hit.schema.get("type").and_then(Value::as_str) == Some("string")
                    || hit.schema.get("type").is_none();
                if url_format(hit.schema) || (string && url_name(hit.name)) {
                    sink.report(
                        &catalog::URL_INPUT,
                        hit.pointer.clone(),
                        format!(
                            "request body property \"{}\" takes a URL ({} {})",
                            hit.name, v.op.method, v.op.path
                        ),
                    );
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists() {
        for n in [
            "birthday",
            "date_of_birth",
            "userEmail",
            "home_phone",
            "gps",
            "Weight",
        ] {
            assert!(personal(n), "{n}");
        }
        for n in ["id", "name", "created_at", "stage"] {
            assert!(!personal(n), "{n}");
        }
        assert!(
            secret_name("client_secret") && secret_name("newPassword") && !secret_name("token")
        );
        assert!(url_name("callback_url") && url_name("avatarUrl") && !url_name("curly"));
    }
}
