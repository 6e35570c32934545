//! Where each part of the configuration sits in the file.
//!
//! Semantic errors (a bad upstream URL, a duplicate API name) are found after
//! deserialization, when serde's positions are gone. Rather than shadowing
//! every public struct with a private twin full of `Spanned<T>` fields (two
//! definitions that must never drift apart), we read the text into a generic
//! tree of `serde_saphyr::Spanned` nodes and flatten it into a map from key
//! path (`apis[1].upstream`) to position. The typed structs stay the single
//! definition of the format; this pass only knows YAML.
//!
//! This pass runs first, under the same parser budget, and doubles as the
//! syntax check; the typed pass then reads text known to be well-formed.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A 1-based line and column in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Positions of the configuration's keys and values, by key path.
///
/// Key paths are written as in the error messages: `listen`, `apis[0].name`,
/// `limits.max_headers`, `apis[0].operations.getRider.mode`. Map keys that are
/// not plain words are quoted: `apis[0].operations["get.rider"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: Option<Position>,
    value: Option<Position>,
    is_scalar: bool,
}

impl SourceMap {
    /// Parses `text` as plain YAML (any shape) and records the position of
    /// every node. This is also the syntax check: it reads the whole document
    /// before the typed pass, which would otherwise report a structural
    /// symptom ("missing field") of a syntax error further down.
    pub(crate) fn parse(
        text: &str,
        options: serde_saphyr::Options,
    ) -> Result<SourceMap, serde_saphyr::Error> {
        let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options)?;
        let mut map = SourceMap::default();
        map.insert(String::new(), None, &root);
        Ok(map)
    }

    fn insert(&mut self, path: String, key: Option<Position>, node: &Spanned<Node>) {
        let entry = Entry {
            key,
            value: position(node.referenced),
            is_scalar: matches!(node.value, Node::Scalar),
        };
        match &node.value {
            Node::Scalar => {}
            Node::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.insert(index_path(&path, index), None, item);
                }
            }
            Node::Map(entries) => {
                for (key, value) in entries {
                    let child = key_path(&path, &key.value);
                    self.insert(child, position(key.referenced), value);
                }
            }
        }
        self.entries.insert(path, entry);
    }

    /// The mapping holding the key at `at`: for `apis[0].spec`'s key, `apis[0]`.
    pub(crate) fn owner_of_key_at(&self, at: Position) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, entry)| entry.key == Some(at))
            .map(|(path, _)| parent_path(path))
    }

    /// The setting whose key is at `at`.
    pub(crate) fn path_of_key_at(&self, at: Position) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, entry)| entry.key == Some(at))
            .map(|(path, _)| path.as_str())
    }

    /// The deepest setting whose value starts at `at`.
    pub(crate) fn path_of_value_at(&self, at: Position) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.value == Some(at))
            .map(|(path, _)| path.as_str())
            .max_by_key(|path| path.len())
    }

    /// Where the value at `path` is, or its key when the value is a block
    /// (pointing at `apis:` reads better than at the first `- name:` below
    /// it). When `path` is not in the file (a defaulted setting), the position
    /// of its nearest ancestor that is.
    pub fn position(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(entry) = self.entries.get(path) {
                let preferred = if entry.is_scalar {
                    entry.value.or(entry.key)
                } else {
                    entry.key.or(entry.value)
                };
                if preferred.is_some() {
                    return preferred;
                }
            }
            if path.is_empty() {
                return None;
            }
            path = parent_path(path);
        }
    }
}

fn position(location: Location) -> Option<Position> {
    let line = usize::try_from(location.line()).ok()?;
    let column = usize::try_from(location.column()).ok()?;
    (line > 0).then_some(Position { line, column })
}

/// `parent.key`, quoting keys that are not plain words.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", quote(key)),
    }
}

/// `parent[index]`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn quote(key: &str) -> String {
    serde_json::to_string(key).unwrap_or_else(|_| String::from("\"?\""))
}

/// The path one segment up: `a.b[2]` -> `a.b` -> `a` -> ``.
fn parent_path(path: &str) -> &str {
    // Scan forward so that `.`, `[` and `"` inside a quoted key (JSON
    // escaped) are never mistaken for separators.
    let mut last_start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, ch) in path.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '.' | '[' if !in_quotes => last_start = index,
            _ => {}
        }
    }
    &path[..last_start]
}

/// A YAML node reduced to its shape; scalar values are not needed.
enum Node {
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

macro_rules! scalar_visits {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Node::Scalar)
        })*
    };
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    scalar_visits!(
        visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
        visit_u128: u128, visit_f64: f64, visit_str: &str, visit_bytes: &[u8],
    );

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key as text; non-scalar keys (legal YAML, never valid here) become `?`.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key("null".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Key("?".to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Key("?".to_owned()))
    }
}

impl std::ops::Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> SourceMap {
        SourceMap::parse(text, crate::load::parse_options()).expect("valid YAML")
    }

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn scalars_point_at_values_and_blocks_at_keys() {
        let m =
            map("listen: 1.2.3.4:5\napis:\n  - name: a\n    operations:\n      x.y: {mode: off}\n");
        assert_eq!(m.position("listen"), at(1, 9));
        assert_eq!(m.position("apis"), at(2, 1));
        assert_eq!(m.position("apis[0]"), at(3, 5));
        assert_eq!(m.position("apis[0].name"), at(3, 11));
        assert_eq!(m.position("apis[0].operations"), at(4, 5));
        assert_eq!(m.position("apis[0].operations[\"x.y\"].mode"), at(5, 19));
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let m = map("limits:\n  max_headers: 3\n");
        assert_eq!(m.position("limits.max_connections"), at(1, 1));
        assert_eq!(m.position("log.level"), at(1, 1));
    }

    #[test]
    fn parent_paths() {
        assert_eq!(
            parent_path("apis[1].operations[\"a.b]\"]"),
            "apis[1].operations"
        );
        assert_eq!(parent_path(r#"ops["a["].mode"#), r#"ops["a["]"#);
        assert_eq!(parent_path(r#"ops["a["]"#), "ops");
        assert_eq!(parent_path(r#"ops["x\"[."]"#), "ops");
        assert_eq!(parent_path("apis[1]"), "apis");
        assert_eq!(parent_path("limits.max_headers"), "limits");
        assert_eq!(parent_path("apis"), "");
    }
}
