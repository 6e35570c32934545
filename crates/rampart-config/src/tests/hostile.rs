//! Oversized and hostile input fails fast, with an error, without eating memory.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{FILE, single_error};
use crate::{MAX_CONFIG_BYTES, load, load_str};

/// Generous even for an unoptimized build on a loaded CI machine; an
/// unguarded alias bomb takes minutes or runs out of memory.
const FAST: Duration = Duration::from_secs(2);

fn assert_fails_fast(text: &str) -> String {
    let started = Instant::now();
    let (line, _, message) = single_error(text);
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert!(line.is_some(), "{message}");
    message
}

/// The classic "billion laughs": nine levels of nine aliases each, 9^9 strings
/// once expanded. Placed where the format accepts a mapping of mappings
/// (`operations`, via merge keys), so it is the parser's budget that stops it
/// and not an early type error.
#[test]
fn an_alias_bomb_fails_fast() {
    let mut text = String::from(
        "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://h\n    operations:\n",
    );
    text.push_str("      l0: &l0 {mode: off}\n");
    for level in 1..=9 {
        let previous = format!("*l{}", level - 1);
        let merges = [previous.as_str(); 9].join(", ");
        text.push_str(&format!("      l{level}: &l{level} {{<<: [{merges}]}}\n"));
    }
    let message = assert_fails_fast(&text);
    assert_eq!(
        message,
        "YAML document rejected: too many merge keys (`<<`)"
    );
}

/// The same bomb with sequences, under keys the format does not have: the
/// location pass, which reads YAML of any shape, is what must stop it.
#[test]
fn a_sequence_alias_bomb_fails_fast() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 9].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    text.push_str("apis: *a9\n");
    let message = assert_fails_fast(&text);
    assert_eq!(
        message,
        "YAML document rejected: aliases expand to too much data (alias bomb?)"
    );
}

#[test]
fn deep_nesting_fails_fast() {
    let depth = 10_000;
    let text = format!("apis: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let message = assert_fails_fast(&text);
    assert_eq!(message, "YAML document rejected: nesting is too deep");
}

#[test]
fn a_two_mebibyte_file_is_refused_before_parsing() {
    let text = format!(
        "apis: [{{name: a, spec: a.yaml, upstream: \"http://h\"}}]\n{}",
        "# padding\n".repeat(2 * 1024 * 1024 / 10)
    );
    assert!(text.len() > 2 * 1024 * 1024 - 16);
    let expected = format!(
        "{FILE}: the file is larger than {MAX_CONFIG_BYTES} bytes (1 MiB), the limit for a configuration"
    );

    let started = Instant::now();
    let errors = load_str(&text, Path::new(FILE)).expect_err("too large");
    assert_eq!(errors.to_string(), expected);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, &text).expect("write");
    let errors = load(&path).expect_err("too large");
    assert_eq!(
        errors.to_string(),
        expected.replace(FILE, &path.display().to_string())
    );
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
}

#[test]
fn an_endless_file_is_read_only_up_to_the_limit() {
    let errors = load(Path::new("/dev/zero")).expect_err("endless");
    assert_eq!(
        errors.to_string(),
        format!(
            "/dev/zero: the file is larger than {MAX_CONFIG_BYTES} bytes (1 MiB), the limit for a configuration"
        )
    );
}

#[test]
fn several_documents_are_refused() {
    let api = "apis: [{name: a, spec: a.yaml, upstream: \"http://h\"}]\n";
    let (line, _, message) = single_error(&format!("{api}---\n{api}"));
    assert_eq!(line, Some(2));
    assert_eq!(
        message,
        "the file holds several YAML documents (`---`); expected exactly one"
    );
}

#[test]
fn invalid_utf8_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, b"apis:\n  - name: \xff\n").expect("write");
    let errors = load(&path).expect_err("not UTF-8");
    assert_eq!(
        errors.to_string(),
        format!("{}:2:11: the file is not valid UTF-8", path.display())
    );
}

#[test]
fn a_missing_file() {
    let errors = load(Path::new("/nonexistent/rampart.yaml")).expect_err("missing");
    assert_eq!(
        errors.to_string(),
        "/nonexistent/rampart.yaml: cannot read the file: No such file or directory (os error 2)"
    );
}

/// The budget leaves room for real use of anchors: one shared override
/// applied to hundreds of operations, by alias and by merge.
#[test]
fn heavy_but_legitimate_alias_use_loads() {
    let mut text = String::from(
        "apis:\n  - name: a\n    spec: a.yaml\n    upstream: http://h\n    operations:\n      \
         base: &strict {mode: enforce}\n",
    );
    for i in 0..500 {
        text.push_str(&format!(
            "      alias{i}: *strict\n      merge{i}: {{<<: *strict}}\n"
        ));
    }
    let operations = &super::load_ok(&text).config.apis[0].operations;
    assert_eq!(operations.len(), 1001);
    assert!(
        operations
            .values()
            .all(|op| op.mode == Some(crate::Mode::Enforce))
    );
}
