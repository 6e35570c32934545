//! Where a JSON pointer lives in its source file, as line and column.
//!
//! The contract is a `serde_json::Value`, which keeps no positions, and
//! reports (the audit's findings, SARIF for code scanning) must point people
//! at a line. Rather than carry spans through every consumer, we re-read the
//! text once per report and map the pointers that report needs:
//!
//! - **JSON** goes through a small tokenizer that only tracks structure. It
//!   decodes keys fully (including surrogate-pair escapes such as
//!   `"\ud83d\udc4d"`) so pointer tokens compare exactly, and it skips, without
//!   building pointers, every subtree no requested pointer goes through. That
//!   keeps a 13 MB document to one linear pass with almost no allocation.
//! - **YAML** goes through the events of `granit-parser` (the parser under
//!   `serde-saphyr`), so the positions agree with what the loader read,
//!   including flow style, quoting and anchors. Aliases and `<<` merge keys
//!   are followed to the node they copy.
//!
//! A member's position is the start of its key (what editors and SARIF
//! viewers highlight); an array item's or the root's is the start of its
//! value. Lines and columns are 1-based; columns count Unicode scalar values.
//! A pointer that names something absent (a finding about a *missing*
//! `401` response, say) maps to its nearest existing ancestor, and says so.

use std::collections::{HashMap, HashSet};

use serde_saphyr::granit_parser::{Event, Parser};

use crate::pointer;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in Unicode scalar values, from 1.
    pub column: u32,
}

/// Where a requested pointer was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The position.
    pub position: Position,
    /// The pointer the position belongs to: the requested one, or the
    /// nearest ancestor that exists when the requested one does not.
    pub pointer: String,
}

/// The syntax of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// YAML (which JSON also is, but the JSON path is faster and exact).
    Yaml,
}

impl Syntax {
    /// The syntax the loader would pick for `text` (see `source::parse_document`).
    pub fn detect(text: &str) -> Syntax {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            Syntax::Json
        } else {
            Syntax::Yaml
        }
    }
}

/// Most nesting the tokenizer follows (serde_json itself stops at 128).
const MAX_DEPTH: usize = 512;

/// Map each of `pointers` to its position in `text`. The result has one entry
/// per distinct requested pointer; a pointer with no existing ancestor at all
/// (only possible for text that is not a document) is absent.
pub fn locate<'p>(
    text: &str,
    pointers: impl IntoIterator<Item = &'p str>,
) -> HashMap<String, Located> {
    let requested: Vec<&str> = pointers.into_iter().collect();
    let found = match Syntax::detect(text) {
        Syntax::Json => {
            let mut wanted = HashSet::new();
            for p in &requested {
                let mut prefix = *p;
                loop {
                    if !wanted.insert(prefix.to_string()) {
                        break;
                    }
                    match prefix.rfind('/') {
                        Some(i) => prefix = &prefix[..i],
                        None => break,
                    }
                }
            }
            let mut t = JsonTokens::new(text, &wanted);
            let mut buf = String::new();
            t.value(&mut buf, 0);
            Found {
                positions: t.found,
                aliases: HashMap::new(),
                merges: HashMap::new(),
            }
        }
        Syntax::Yaml => yaml_positions(text),
    };
    let mut out = HashMap::with_capacity(requested.len());
    for p in requested {
        if let Some(l) = found.resolve(p) {
            out.insert(p.to_string(), l);
        }
    }
    out
}

struct Found {
    positions: HashMap<String, Position>,
    /// YAML: pointer of an alias node -> pointer of its anchored node.
    aliases: HashMap<String, String>,
    /// YAML: pointer of a mapping -> pointers of the mappings merged into it with `<<`.
    merges: HashMap<String, Vec<String>>,
}

impl Found {
    fn resolve(&self, ptr: &str) -> Option<Located> {
        let mut ptr = ptr.to_string();
        // Each hop rewrites through one alias or merge; documents with alias cycles are not YAML.
        for _ in 0..16 {
            if let Some(&position) = self.positions.get(&ptr) {
                return Some(Located {
                    position,
                    pointer: ptr,
                });
            }
            match self.rewrite(&ptr) {
                Some(next) => ptr = next,
                None => break,
            }
        }
        // Absent: the deepest ancestor that exists.
        let mut prefix = ptr.as_str();
        while let Some(i) = prefix.rfind('/') {
            prefix = &prefix[..i];
            if let Some(&position) = self.positions.get(prefix) {
                return Some(Located {
                    position,
                    pointer: prefix.to_string(),
                });
            }
        }
        None
    }

    /// Rewrite the longest prefix of `ptr` that goes through an alias or a merge.
    fn rewrite(&self, ptr: &str) -> Option<String> {
        if self.aliases.is_empty() && self.merges.is_empty() {
            return None;
        }
        let mut end = ptr.len();
        loop {
            let prefix = &ptr[..end];
            let rest = &ptr[end..];
            if let Some(target) = self.aliases.get(prefix) {
                return Some(format!("{target}{rest}"));
            }
            if let Some(sources) = self.merges.get(prefix) {
                let (first, tail) = split_first_token(rest);
                for s in sources {
                    let candidate = format!("{s}{first}");
                    if self.positions.contains_key(&candidate)
                        || self.aliases.contains_key(&candidate)
                    {
                        return Some(format!("{candidate}{tail}"));
                    }
                }
            }
            end = prefix.rfind('/')?;
        }
    }
}

/// `/a/b/c` -> (`/a`, `/b/c`).
fn split_first_token(rest: &str) -> (&str, &str) {
    match rest.get(1..).and_then(|r| r.find('/')) {
        Some(i) => rest.split_at(i + 1),
        None => (rest, ""),
    }
}

struct JsonTokens<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    wanted: &'a HashSet<String>,
    found: HashMap<String, Position>,
}

impl<'a> JsonTokens<'a> {
    fn new(text: &'a str, wanted: &'a HashSet<String>) -> Self {
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        JsonTokens {
            text,
            bytes: text.as_bytes(),
            pos: start,
            line: 1,
            line_start: start,
            wanted,
            found: HashMap::new(),
        }
    }

    fn position(&self, at: usize) -> Position {
        let chars = self
            .text
            .get(self.line_start..at)
            .map(|s| s.chars().count())
            .unwrap_or_default();
        Position {
            line: self.line,
            column: u32::try_from(chars + 1).unwrap_or(u32::MAX),
        }
    }

    fn ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
    }

    /// Parse the value at `pos`, whose pointer is `ptr` (already recorded by the caller if wanted).
    fn value(&mut self, ptr: &mut String, depth: usize) {
        self.ws();
        if ptr.is_empty() && self.wanted.contains("") {
            let p = self.position(self.pos);
            self.found.insert(String::new(), p);
        }
        let descend = depth < MAX_DEPTH && self.wanted.contains(ptr.as_str());
        match self.bytes.get(self.pos) {
            Some(b'{') if descend => self.object(ptr, depth),
            Some(b'[') if descend => self.array(ptr, depth),
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'"') => {
                self.string_end();
            }
            Some(_) => self.scalar(),
            None => {}
        }
    }

    fn object(&mut self, ptr: &mut String, depth: usize) {
        self.pos += 1;
        loop {
            self.ws();
            match self.bytes.get(self.pos) {
                Some(b'}') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'"') => {}
                _ => return,
            }
            let key_start = self.pos;
            let key_end = self.string_end();
            let raw = self.text.get(key_start..key_end).unwrap_or("\"\"");
            let key = if raw.contains('\\') {
                serde_json::from_str::<String>(raw).unwrap_or_default()
            } else {
                raw.get(1..raw.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_string()
            };
            let keep = ptr.len();
            ptr.push('/');
            ptr.push_str(&pointer::escape(&key));
            if self.wanted.contains(ptr.as_str()) {
                let p = self.position(key_start);
                self.found.insert(ptr.clone(), p);
            }
            self.ws();
            if self.bytes.get(self.pos) == Some(&b':') {
                self.pos += 1;
            }
            self.value(ptr, depth + 1);
            ptr.truncate(keep);
        }
    }

    fn array(&mut self, ptr: &mut String, depth: usize) {
        self.pos += 1;
        let mut index = 0usize;
        loop {
            self.ws();
            match self.bytes.get(self.pos) {
                Some(b']') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                None => return,
                Some(_) => {}
            }
            let keep = ptr.len();
            ptr.push('/');
            ptr.push_str(&index.to_string());
            if self.wanted.contains(ptr.as_str()) {
                let p = self.position(self.pos);
                self.found.insert(ptr.clone(), p);
            }
            let before = self.pos;
            self.value(ptr, depth + 1);
            ptr.truncate(keep);
            if self.pos == before {
                // Not a value: stop rather than loop on malformed text.
                return;
            }
            index += 1;
        }
    }

    /// Skip a string starting at `pos` (a `"`); returns the index after its closing quote.
    fn string_end(&mut self) -> usize {
        self.pos += 1;
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return self.pos;
                }
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.bytes.len());
        self.pos
    }

    fn scalar(&mut self) {
        let start = self.pos;
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            // A stray byte (e.g. ':' in malformed text): consume it.
            self.pos += 1;
        }
    }

    /// Skip a whole object or array without building pointers.
    fn skip_container(&mut self) {
        let mut depth = 0usize;
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'"' => {
                    self.string_end();
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                b'\n' => {
                    self.line += 1;
                    self.line_start = self.pos + 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }
}

enum Frame {
    Map {
        ptr: String,
        /// The key just read and its position, while its value is pending.
        key: Option<(String, Position)>,
        /// Nesting of a complex (non-scalar) key being skipped.
        skipping: usize,
    },
    Seq {
        ptr: String,
        index: usize,
    },
}

fn marker_position(m: &serde_saphyr::granit_parser::Marker) -> Position {
    Position {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

fn yaml_positions(text: &str) -> Found {
    let mut found = Found {
        positions: HashMap::new(),
        aliases: HashMap::new(),
        merges: HashMap::new(),
    };
    let mut anchors: HashMap<usize, String> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut started = false;
    for ev in Parser::new_from_str(text) {
        let Ok((event, span)) = ev else { break };
        let at = marker_position(&span.start);
        // A complex key is skipped whole.
        if let Some(Frame::Map { skipping, .. }) = stack.last_mut()
            && *skipping > 0
        {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => *skipping += 1,
                Event::MappingEnd | Event::SequenceEnd => *skipping -= 1,
                _ => {}
            }
            if *skipping == 0
                && let Some(Frame::Map { key, .. }) = stack.last_mut()
            {
                *key = Some((String::new(), at));
            }
            continue;
        }
        let (anchor, is_node) = match &event {
            Event::Scalar(_, _, a, _)
            | Event::MappingStart(_, a, _)
            | Event::SequenceStart(_, a, _) => (*a, true),
            Event::Alias(_) => (0, true),
            Event::DocumentEnd if started => break,
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                continue;
            }
            _ => (0, false),
        };
        if !is_node {
            continue;
        }
        // Is this node a key?
        if let Some(Frame::Map { key, skipping, .. }) = stack.last_mut()
            && key.is_none()
        {
            match &event {
                Event::Scalar(v, ..) => *key = Some((v.to_string(), at)),
                Event::MappingStart(..) | Event::SequenceStart(..) => *skipping = 1,
                _ => *key = Some((String::new(), at)),
            }
            continue;
        }
        // A value: work out its pointer and where it is reported.
        let (ptr, pos, merge_into) = match stack.last_mut() {
            None => {
                started = true;
                (String::new(), at, None)
            }
            Some(Frame::Map { ptr, key, .. }) => {
                let (k, kpos) = key.take().unwrap_or((String::new(), at));
                if k == "<<" {
                    (pointer::push(ptr, "<<"), kpos, Some(ptr.clone()))
                } else {
                    (pointer::push(ptr, &k), kpos, None)
                }
            }
            Some(Frame::Seq { ptr, index }) => {
                let p = format!("{ptr}/{index}");
                *index += 1;
                (p, at, None)
            }
        };
        found.positions.entry(ptr.clone()).or_insert(pos);
        if anchor != 0 {
            anchors.insert(anchor, ptr.clone());
        }
        match event {
            Event::Alias(id) => {
                if let Some(target) = anchors.get(&id) {
                    if let Some(map) = merge_into {
                        found.merges.entry(map).or_default().push(target.clone());
                    } else {
                        found.aliases.insert(ptr, target.clone());
                    }
                }
            }
            Event::MappingStart(..) => stack.push(Frame::Map {
                ptr,
                key: None,
                skipping: 0,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq { ptr, index: 0 }),
            _ => {}
        }
    }
    // `<<: [*a, *b]`: the sequence items are the merge sources.
    let merge_lists: Vec<(String, String)> = found
        .positions
        .keys()
        .filter_map(|p| {
            let (map, _) = p.rsplit_once("/<</")?;
            Some((map.to_string(), p.clone()))
        })
        .collect();
    let mut merge_lists = merge_lists;
    merge_lists.sort();
    for (map, item) in merge_lists {
        if let Some(target) = found.aliases.get(&item).cloned() {
            found.merges.entry(map).or_default().push(target);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, ptr: &str) -> (u32, u32, String) {
        let m = locate(text, [ptr]);
        let l = m.get(ptr).unwrap_or_else(|| panic!("{ptr} not located"));
        (l.position.line, l.position.column, l.pointer.clone())
    }

    #[test]
    fn json_members_map_to_their_keys() {
        let text = "{\n  \"paths\": {\n    \"/a/b\": {\"get\": {\"x\": [1, {\"y\": 2}]}}\n  }\n}\n";
        assert_eq!(at(text, ""), (1, 1, String::new()));
        assert_eq!(at(text, "/paths"), (2, 3, "/paths".into()));
        assert_eq!(
            at(text, "/paths/~1a~1b/get"),
            (3, 14, "/paths/~1a~1b/get".into())
        );
        assert_eq!(
            at(text, "/paths/~1a~1b/get/x/1/y"),
            (3, 32, "/paths/~1a~1b/get/x/1/y".into())
        );
    }

    #[test]
    fn json_missing_pointer_maps_to_nearest_ancestor() {
        let text = "{\"paths\": {\"/a\": {\"get\": {\"responses\": {}}}}}";
        let (line, col, ptr) = at(text, "/paths/~1a/get/responses/401");
        assert_eq!((line, col), (1, 27));
        assert_eq!(ptr, "/paths/~1a/get/responses");
    }

    #[test]
    fn json_surrogate_pair_keys_and_values_are_decoded() {
        let text = "{\"a\": \"\\ud83d\\udc4d \\\" }\",\n \"\\ud83d\\udc4d\": {\"k\": 1}}";
        assert_eq!(at(text, "/\u{1f44d}/k"), (2, 19, "/\u{1f44d}/k".into()));
        // Columns count characters, not bytes.
        let text = "{\"é\": 1, \"b\": 2}";
        assert_eq!(at(text, "/b"), (1, 10, "/b".into()));
    }

    #[test]
    fn yaml_block_and_flow_positions() {
        let text = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n      tags: [x, y]\n";
        assert_eq!(at(text, "/paths/~1a/get"), (4, 5, "/paths/~1a/get".into()));
        assert_eq!(
            at(text, "/paths/~1a/get/responses/200"),
            (5, 19, "/paths/~1a/get/responses/200".into())
        );
        assert_eq!(
            at(text, "/paths/~1a/get/tags/1"),
            (6, 17, "/paths/~1a/get/tags/1".into())
        );
    }

    #[test]
    fn yaml_aliases_and_merges_resolve_to_the_anchor() {
        let text =
            "base: &b\n  type: string\n  maxLength: 3\nuse: *b\nmerged:\n  <<: *b\n  extra: 1\n";
        assert_eq!(at(text, "/use/maxLength"), (3, 3, "/base/maxLength".into()));
        assert_eq!(at(text, "/merged/type"), (2, 3, "/base/type".into()));
        assert_eq!(at(text, "/merged/extra"), (7, 3, "/merged/extra".into()));
    }
}
