//! Give findings their file, line and column.
//!
//! Findings carry pointers into the bundled document. A pointer under
//! `/x-rampart-bundled/<key>` belongs to another file: the bundle's origins
//! translate it back to that file and the pointer inside it. Each file is
//! read once and all its pointers are mapped in one pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_contract::bundle::BundleOrigins;
use rampart_contract::source_map;

use crate::finding::{Finding, SourceLocation};

/// Fill in `location` for every finding that can be located.
pub(crate) fn locate(root: &Path, origins: &BundleOrigins, findings: &mut [Finding]) {
    let mut by_file: BTreeMap<PathBuf, Vec<(usize, String)>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        let (file, ptr) = match origins.origin_of(&f.pointer) {
            Some((file, ptr)) => (file.to_path_buf(), ptr),
            None => (root.to_path_buf(), f.pointer.clone()),
        };
        by_file.entry(file).or_default().push((i, ptr));
    }
    for (file, wanted) in by_file {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let found = source_map::locate(&text, wanted.iter().map(|(_, p)| p.as_str()));
        for (i, ptr) in wanted {
            if let (Some(l), Some(f)) = (found.get(&ptr), findings.get_mut(i)) {
                f.location = Some(SourceLocation {
                    file: file.clone(),
                    pointer: ptr,
                    line: l.position.line,
                    column: l.position.column,
                });
            }
        }
    }
}

/// `path` relative to the current directory, with `/` separators: what SARIF
/// (and GitHub code scanning) expects as an artifact URI, and what people
/// expect to click in a terminal.
pub fn display_path(path: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| relative_to(path, &cwd))
        .unwrap_or_else(|| path.to_path_buf());
    let s: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    s.join("/")
}

fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let abs = normalize(&abs);
    let base = normalize(base);
    let a: Vec<_> = abs.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c);
    }
    Some(out)
}

fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Percent-encode what a relative URI reference cannot carry raw.
pub fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_with_forward_slashes() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.yaml"), Path::new("/a/x")),
            Some(PathBuf::from("../b/c.yaml"))
        );
        assert_eq!(
            relative_to(Path::new("specs/./c.yaml"), Path::new("/w")),
            Some(PathBuf::from("specs/c.yaml"))
        );
        assert_eq!(
            uri_reference("../my specs/a#b.yaml"),
            "../my%20specs/a%23b.yaml"
        );
    }
}
