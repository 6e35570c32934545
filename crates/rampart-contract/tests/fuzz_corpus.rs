//! Replays the committed seeds of the `router` and `spec_loader` fuzz
//! targets (`fuzz/corpus/`) on stable: every seed, including the inputs that
//! once crashed, loads or fails with an error, never a panic.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use http::Method;
use rampart_contract::CompileOptions;
use rampart_contract::bundle::bundle_value;
use rampart_contract::compile::compile;
use rampart_contract::router::{Router, to_matchit};
use rampart_contract::source::parse_document;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 3, "seeds in {}", dir.display());
    out
}

#[test]
fn the_router_fuzz_corpus_builds_or_is_refused() {
    for (path, bytes) in seeds("router") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let (template, probe) = text.split_once('\n').unwrap_or((text, text));
        if let Ok((route, names)) = to_matchit(template) {
            let mut r = Router::default();
            if r.add(&route, Method::GET, 0).is_ok()
                && r.build().is_ok()
                && let rampart_contract::router::RouteMatch::Found { values, .. } =
                    r.at(&Method::GET, probe)
            {
                assert_eq!(values.len(), names.len(), "{}", path.display());
            }
        }
    }
}

#[test]
fn the_spec_loader_fuzz_corpus_compiles_or_is_refused() {
    let mut compiled = 0;
    for (path, bytes) in seeds("spec_loader") {
        let Ok(doc) = parse_document(&bytes, &path) else {
            continue;
        };
        let Ok(bundle) = bundle_value(doc, &path) else {
            continue;
        };
        if compile(bundle, &CompileOptions::default()).is_ok() {
            compiled += 1;
        }
    }
    assert!(compiled >= 1, "the riders seed compiles");
}
