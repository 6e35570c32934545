//! The path normalizer on arbitrary request targets. Beyond "never
//! panics", it checks the crate's promise: the canonical form normalizes to
//! itself (a fixed point), so the upstream decodes what was validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_normalize::{NormalizeOptions, normalize_target};

fuzz_target!(|data: &[u8]| {
    // hyper hands the normalizer `&str`s (the request line is ASCII).
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let opts = NormalizeOptions::default();
    let Ok(first) = normalize_target(path, query, &opts) else {
        return;
    };
    let again = normalize_target(
        &first.canonical_path,
        first.canonical_query.as_deref(),
        &opts,
    )
    .unwrap_or_else(|e| panic!("the canonical form {first:?} is refused: {e}"));
    assert_eq!(again.route_path, first.route_path);
    assert_eq!(again.canonical_path, first.canonical_path);
    assert_eq!(again.query, first.query);
    assert_eq!(again.canonical_query, first.canonical_query);
});
