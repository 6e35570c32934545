//! A compiled contract's request checks on arbitrary query pairs, headers,
//! cookies and JSON bodies: the work the gateway does on every request,
//! before anything reaches the upstream.
#![no_main]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use rampart_contract::{CompileOptions, Contract, Matched};

const SPEC: &str = include_str!("../specs/riders.yaml");

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rampart-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let path = dir.join("riders.yaml");
        std::fs::write(&path, SPEC).expect("the spec is written");
        Contract::load(&path, &CompileOptions::default()).expect("the seed spec compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    // Layout: one selector byte, then four sections split on 0xFF:
    // query (k=v&...), headers (name:value lines), cookies (k=v; ...), body.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut sections = rest.split(|b| *b == 0xFF);
    let query = String::from_utf8_lossy(sections.next().unwrap_or_default());
    let headers = String::from_utf8_lossy(sections.next().unwrap_or_default());
    let cookies = String::from_utf8_lossy(sections.next().unwrap_or_default());
    let body = sections.next().unwrap_or_default();

    let c = contract();
    let (method, path) = match selector % 4 {
        0 => (Method::GET, "/api/riders"),
        1 => (Method::POST, "/api/riders"),
        2 => (Method::PATCH, "/api/riders/7"),
        _ => (Method::GET, "/api/riders/7"),
    };
    let Matched::Found(op, values) = c.route(&method, path) else {
        panic!("the fixed route {method} {path} is declared");
    };
    let mut issues = Vec::new();
    op.check_path(&values, &mut issues);
    let pairs: Vec<(String, String)> = query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    op.check_query(&pairs, &mut issues);
    let mut map = HeaderMap::new();
    for line in headers.lines() {
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            map.append(k, v);
        }
    }
    op.check_headers(&map, &|n| n == "accept", selector & 0x10 != 0, &mut issues);
    let jar: Vec<(&str, &str)> = cookies
        .split(';')
        .map(|c| c.trim().split_once('=').unwrap_or((c, "")))
        .collect();
    op.check_cookies(&jar, selector & 0x20 != 0, &mut issues);
    if let Some(b) = &op.body
        && let Some(media) = b.content.first()
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
    {
        c.check_request_body(media, &value, selector & 0x40 != 0, &mut issues);
        let mut out = value.clone();
        let _ = c.check_response_body(media, &mut out, true);
    }
    for i in &issues {
        assert!(!i.rule.id.is_empty());
    }
});
