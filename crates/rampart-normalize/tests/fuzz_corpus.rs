//! Replays the committed seeds of the `normalize` fuzz target
//! (`fuzz/corpus/normalize/`) on stable, with the target's own check: any
//! accepted target's canonical form normalizes to itself.

use std::path::Path;

use rampart_normalize::{NormalizeOptions, normalize_target};

#[test]
fn the_normalize_fuzz_corpus_holds_the_fixed_point() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/normalize");
    let opts = NormalizeOptions::default();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("the seed corpus is committed") {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a readable seed");
        replayed += 1;
        let Ok(target) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let (raw_path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let Ok(first) = normalize_target(raw_path, query, &opts) else {
            continue;
        };
        let again = normalize_target(
            &first.canonical_path,
            first.canonical_query.as_deref(),
            &opts,
        )
        .unwrap_or_else(|e| panic!("{}: the canonical form is refused: {e}", path.display()));
        // Everything but `trailing_slash`, which the canonical path leaves out.
        let what = path.display();
        assert_eq!(again.route_path, first.route_path, "{what}");
        assert_eq!(again.canonical_path, first.canonical_path, "{what}");
        assert_eq!(again.query, first.query, "{what}");
        assert_eq!(again.canonical_query, first.canonical_query, "{what}");
    }
    assert!(replayed >= 5, "only {replayed} seeds in {}", dir.display());
}
