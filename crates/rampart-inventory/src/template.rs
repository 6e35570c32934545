//! Path template inference: turning the raw paths of unrouted requests
//! into the endpoints they are (`/v1/users/123` and `/v1/users/124` are one
//! endpoint, `/v1/users/{id}`).
//!
//! Two passes, because ids come in two kinds:
//!
//! 1. **Typed segments** are parameters on their own: numbers, UUIDs, long
//!    hex strings, and tokens that mix letters with several digits
//!    (`user-1234`, `a1b2c3d4`, dates). One request is enough to see them.
//! 2. **Word segments** (`alex_morgan`, `me`, `export`) could be names or
//!    ids; only the traffic tells. Requests are grouped by the template of
//!    the segments before a position; where a group shows many distinct
//!    words at that position ([`MIN_DISTINCT_WORDS`]), the rare ones are
//!    taken as values of one parameter and the frequent ones (at least
//!    twice the group's average, such as `me` beside thousands of user
//!    names) stay static, as do words the contract itself uses as static
//!    segments. A handful of distinct words is never merged: an API with
//!    `/admin/export` and `/admin/import` has two endpoints.
//!
//! Version segments (`v1`, `v2beta`) are always static: they are what tells
//! an old API version from the current one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

/// Distinct words at one position, under one prefix, before any is taken
/// for a parameter value.
pub const MIN_DISTINCT_WORDS: usize = 8;

/// What a path parameter's observed values looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Digits only.
    Integer,
    /// A UUID (`8-4-4-4-12` hex).
    Uuid,
    /// At least 8 hex digits, with both digits and letters.
    Hex,
    /// Letters mixed with several digits, or a long opaque token.
    Token,
    /// Words seen in too many variants to be static (names, slugs).
    Slug,
}

impl ParamKind {
    /// The kind of a typed segment, or `None` for a word (or a version).
    pub fn of(segment: &str) -> Option<ParamKind> {
        let b = segment.as_bytes();
        if b.is_empty() {
            return None;
        }
        if b.iter().all(u8::is_ascii_digit) {
            return Some(ParamKind::Integer);
        }
        if is_uuid(segment) {
            return Some(ParamKind::Uuid);
        }
        if is_version(segment) {
            return None;
        }
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        if b.len() >= 8 && digits > 0 && b.iter().all(u8::is_ascii_hexdigit) {
            return Some(ParamKind::Hex);
        }
        let tokenish = b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~'));
        if tokenish && ((b.len() >= 8 && digits >= 2) || (b.len() >= 24 && digits >= 1)) {
            return Some(ParamKind::Token);
        }
        None
    }

    /// The JSON Schema of values of this kind (for the OpenAPI draft).
    pub fn schema(kinds: &BTreeSet<ParamKind>) -> serde_json::Value {
        match kinds.iter().collect::<Vec<_>>().as_slice() {
            [ParamKind::Integer] => serde_json::json!({"type": "integer", "minimum": 0}),
            [ParamKind::Uuid] => serde_json::json!({"type": "string", "format": "uuid"}),
            [ParamKind::Hex] => serde_json::json!({"type": "string", "pattern": "^[0-9a-fA-F]+$"}),
            _ => serde_json::json!({"type": "string"}),
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `v1`, `v2`, `v10`, `v2beta`, `v1.1`.
pub(crate) fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['v', 'V']) else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && digits <= 3
        && rest[digits..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.')
}

/// One segment of an inferred template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Literal text, as the path carries it (percent-encoded form).
    Static(String),
    /// A parameter, with the kinds of value that were seen.
    Param(ParamKind),
}

/// An inferred template: segments, with parameters named by
/// [`Template::render`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Template {
    /// The segments after the leading `/`.
    pub segments: Vec<Segment>,
}

impl Template {
    /// The template text and its parameter names in order:
    /// `/v1/users/{id}`, or with several parameters each named after the
    /// segment before it (`/riders/{riderId}/workouts/{workoutId}`).
    pub fn render(&self) -> (String, Vec<String>) {
        let params = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Param(_)))
            .count();
        let mut out = String::new();
        let mut names: Vec<String> = Vec::new();
        let mut previous: Option<&str> = None;
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Static(text) => {
                    // Braces would read as a parameter in an OpenAPI path.
                    if text.contains(['{', '}']) {
                        out.push_str(&text.replace('{', "%7B").replace('}', "%7D"));
                    } else {
                        out.push_str(text);
                    }
                    previous = Some(text);
                }
                Segment::Param(_) => {
                    let base = if params == 1 {
                        "id".to_owned()
                    } else {
                        previous
                            .and_then(singular_camel)
                            .map_or_else(|| "id".to_owned(), |p| format!("{p}Id"))
                    };
                    let mut name = base.clone();
                    let mut n = 2;
                    while names.contains(&name) {
                        name = format!("{base}{n}");
                        n += 1;
                    }
                    out.push('{');
                    out.push_str(&name);
                    out.push('}');
                    names.push(name);
                    previous = None;
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        (out, names)
    }

    /// The template text (see [`render`](Self::render)).
    pub fn text(&self) -> String {
        self.render().0
    }
}

/// `riders` → `rider`, `order-items` → `orderItem`, `categories` →
/// `category`; `None` for a segment that is not a plain word.
fn singular_camel(segment: &str) -> Option<String> {
    if segment.is_empty()
        || !segment
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || c == b'-' || c == b'_')
    {
        return None;
    }
    let mut camel = String::new();
    let mut upper = false;
    for c in segment.chars() {
        if c == '-' || c == '_' {
            upper = true;
        } else if upper {
            camel.extend(c.to_uppercase());
            upper = false;
        } else if camel.is_empty() {
            camel.extend(c.to_lowercase());
        } else {
            camel.push(c);
        }
    }
    if let Some(stem) = camel.strip_suffix("ies")
        && stem.len() >= 2
    {
        return Some(format!("{stem}y"));
    }
    if camel.len() > 3 && camel.ends_with('s') && !camel.ends_with("ss") {
        camel.pop();
    }
    Some(camel)
}

/// A path's segments (after the leading `/`, a trailing `/` ignored), in
/// the form the path carries them.
fn split(path: &str) -> Vec<&str> {
    let trimmed = path.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split('/').collect()
}

/// A segment decoded for typing (`%2D` is `-`); undecodable ones as given.
fn decoded(segment: &str) -> std::borrow::Cow<'_, str> {
    percent_decode_str(segment)
        .decode_utf8()
        .unwrap_or(std::borrow::Cow::Borrowed(segment))
}

/// The template of one path from its typed segments only: what one request
/// shows without the rest of the traffic. The gateway keys the field
/// classes of unrouted responses by it (see [`crate::shadow_key`]).
pub fn typed(path: &str) -> Template {
    Template {
        segments: split(path)
            .into_iter()
            .map(|s| match ParamKind::of(&decoded(s)) {
                Some(kind) => Segment::Param(kind),
                None => Segment::Static(s.to_owned()),
            })
            .collect(),
    }
}

/// The template of each of `paths` (with how many requests each stands
/// for), in the same order: typed segments first, then words merged where
/// the traffic shows too many variants. See the module docs.
pub fn infer(paths: &[(&str, u64)]) -> Vec<Template> {
    let templates: Vec<Template> = paths.iter().map(|(p, _)| typed(p)).collect();
    let weights: Vec<u64> = paths.iter().map(|(_, w)| *w).collect();
    merge_words(templates, &weights, &HashSet::new())
}

/// The word-merging pass of [`infer`] over templates already typed, each
/// standing for `weights[i]` requests; words in `known` (the contract's
/// static segments) are never merged.
pub fn merge_words(
    mut templates: Vec<Template>,
    weights: &[u64],
    known: &HashSet<String>,
) -> Vec<Template> {
    let longest = templates
        .iter()
        .map(|t| t.segments.len())
        .max()
        .unwrap_or(0);
    for position in 0..longest {
        // Group by what comes before `position` (as inferred so far).
        let mut groups: HashMap<&[Segment], Vec<usize>> = HashMap::new();
        for (i, t) in templates.iter().enumerate() {
            if t.segments.len() > position {
                groups.entry(&t.segments[..position]).or_default().push(i);
            }
        }
        let mut merge: Vec<usize> = Vec::new();
        for members in groups.values() {
            let mut words: BTreeMap<&str, u64> = BTreeMap::new();
            let mut total = 0u64;
            for &i in members {
                if let Segment::Static(word) = &templates[i].segments[position]
                    && !is_version(word)
                {
                    let weight = weights.get(i).copied().unwrap_or(1).max(1);
                    *words.entry(word.as_str()).or_default() += weight;
                    total += weight;
                }
            }
            if words.len() < MIN_DISTINCT_WORDS {
                continue;
            }
            // Static if seen at least twice as often as the average word.
            let frequent = |count: u64| count * words.len() as u64 >= 2 * total;
            for &i in members {
                if let Segment::Static(word) = &templates[i].segments[position]
                    && !known.contains(word)
                    && words.get(word.as_str()).is_some_and(|&c| !frequent(c))
                {
                    merge.push(i);
                }
            }
        }
        for i in merge {
            templates[i].segments[position] = Segment::Param(ParamKind::Slug);
        }
    }
    templates
}

/// Collapses templates that differ only in the kinds of their parameters
/// (`/users/{id}` seen with numbers and with UUIDs) into one shape key.
pub fn shape_key(template: &Template) -> Vec<Option<&str>> {
    template
        .segments
        .iter()
        .map(|s| match s {
            Segment::Static(t) => Some(t.as_str()),
            Segment::Param(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(paths: &[(&str, u64)]) -> Vec<String> {
        infer(paths).iter().map(Template::text).collect()
    }

    #[test]
    fn numeric_ids_become_one_parameter() {
        assert_eq!(
            texts(&[("/v1/users/123", 1), ("/v1/users/124", 1)]),
            ["/v1/users/{id}", "/v1/users/{id}"]
        );
    }

    #[test]
    fn uuids_hex_and_tokens_are_parameters_on_sight() {
        let t = texts(&[
            ("/orders/550e8400-e29b-41d4-a716-446655440000", 1),
            ("/blobs/5f2b9c1e8a7d", 1),
            ("/invoices/inv-2024-0042", 1),
            ("/files/2024-01-15/report", 1),
        ]);
        assert_eq!(
            t,
            [
                "/orders/{id}",
                "/blobs/{id}",
                "/invoices/{id}",
                "/files/{id}/report",
            ]
        );
        assert_eq!(
            ParamKind::of("550e8400-e29b-41d4-a716-446655440000"),
            Some(ParamKind::Uuid)
        );
        assert_eq!(ParamKind::of("5f2b9c1e8a7d"), Some(ParamKind::Hex));
        assert_eq!(ParamKind::of("inv-2024-0042"), Some(ParamKind::Token));
    }

    #[test]
    fn ordinary_words_and_versions_stay_static() {
        for word in [
            "users",
            "me",
            "v1",
            "v2beta",
            "oauth2",
            "sha256",
            "base64",
            "export",
            "openapi.json",
            "deadbeef",
        ] {
            assert_eq!(ParamKind::of(word), None, "{word}");
        }
    }

    #[test]
    fn several_parameters_are_named_after_their_collections() {
        let t = typed("/api/v1/riders/42/workouts/550e8400-e29b-41d4-a716-446655440000");
        assert_eq!(
            t.render().0,
            "/api/v1/riders/{riderId}/workouts/{workoutId}"
        );
        let t = typed("/categories/7/order-items/8");
        assert_eq!(
            t.render().0,
            "/categories/{categoryId}/order-items/{orderItemId}"
        );
        let t = typed("/a/1/2");
        assert_eq!(
            t.render(),
            (
                "/a/{aId}/{id}".to_owned(),
                vec!["aId".to_owned(), "id".to_owned()]
            )
        );
    }

    #[test]
    fn many_rare_words_merge_into_a_slug_but_frequent_static_ones_stay() {
        let mut paths: Vec<(String, u64)> = [
            "alex_morgan",
            "jordan_lee",
            "sam_rivera",
            "priya_patel",
            "noah_kim",
            "emma_schmidt",
            "lucas_martin",
            "aisha_bello",
            "mateo_garcia",
            "hana_sato",
        ]
        .iter()
        .map(|u| (format!("/users/{u}"), 2))
        .collect();
        paths.push(("/users/me".to_owned(), 60));
        paths.push(("/users/123".to_owned(), 1));
        paths.push(("/users/alex_morgan/posts".to_owned(), 1));
        let refs: Vec<(&str, u64)> = paths.iter().map(|(p, n)| (p.as_str(), *n)).collect();
        let t = texts(&refs);
        assert_eq!(&t[..10], vec!["/users/{id}"; 10].as_slice());
        assert_eq!(t[10], "/users/me", "`me` is frequent: static");
        assert_eq!(t[11], "/users/{id}", "numeric: a parameter");
        assert_eq!(t[12], "/users/{id}/posts", "the same merge holds deeper");
        let kinds = infer(&refs);
        assert_eq!(kinds[0].segments[1], Segment::Param(ParamKind::Slug));
    }

    #[test]
    fn a_few_static_siblings_never_merge() {
        let t = texts(&[
            ("/admin/export", 1),
            ("/admin/import", 1),
            ("/admin/stats", 1),
            ("/admin/users/9", 1),
        ]);
        assert_eq!(
            t,
            [
                "/admin/export",
                "/admin/import",
                "/admin/stats",
                "/admin/users/{id}"
            ]
        );
    }

    #[test]
    fn skewed_top_level_collections_stay_static_below_the_threshold_or_when_known() {
        // Seven collections, one busy: never merged (fewer than 8 words).
        let mut paths = vec![("/api/users/1".to_owned(), 500)];
        for c in [
            "internal", "exports", "billing", "audit", "search", "health",
        ] {
            paths.push((format!("/api/{c}/x"), 1));
        }
        let refs: Vec<(&str, u64)> = paths.iter().map(|(p, n)| (p.as_str(), *n)).collect();
        assert!(
            texts(&refs).iter().all(|t| !t.contains("{id}/x")),
            "{:?}",
            texts(&refs)
        );
        // Words the contract uses are never taken for values.
        let names: Vec<String> = (0..12)
            .map(|i| format!("/u/name{}", "abcdefghijkl".as_bytes()[i] as char))
            .collect();
        let mut all: Vec<(&str, u64)> = names.iter().map(|p| (p.as_str(), 1)).collect();
        all.push(("/u/settings", 1));
        let typed_all: Vec<Template> = all.iter().map(|(p, _)| typed(p)).collect();
        let known = HashSet::from(["settings".to_owned()]);
        let out = merge_words(typed_all, &vec![1; all.len()], &known);
        assert_eq!(out[0].text(), "/u/{id}");
        assert_eq!(out[12].text(), "/u/settings");
    }

    #[test]
    fn me_beside_numeric_ids_is_not_merged() {
        let t = texts(&[("/users/me", 50), ("/users/123", 1), ("/users/124", 1)]);
        assert_eq!(t, ["/users/me", "/users/{id}", "/users/{id}"]);
    }

    #[test]
    fn braces_in_static_segments_are_escaped() {
        assert_eq!(typed("/a{b}/1").text(), "/a%7Bb%7D/{id}");
    }

    #[test]
    fn roots_and_trailing_slashes() {
        assert_eq!(texts(&[("/", 1), ("/a/", 1), ("", 1)]), ["/", "/a", "/"]);
    }

    #[test]
    fn percent_encoded_ids_are_typed_by_their_decoded_text() {
        assert_eq!(typed("/files/inv%2D2024%2D0042").text(), "/files/{id}");
    }

    proptest::proptest! {
        #[test]
        fn inference_never_panics_and_keeps_the_segment_count(
            paths in proptest::collection::vec("(/[a-zA-Z0-9%._~-]{0,12}){0,6}", 0..40)
        ) {
            let input: Vec<(&str, u64)> = paths.iter().map(|p| (p.as_str(), 1)).collect();
            let out = infer(&input);
            proptest::prop_assert_eq!(out.len(), input.len());
            for (t, (p, _)) in out.iter().zip(&input) {
                proptest::prop_assert_eq!(t.segments.len(), split(p).len());
            }
        }
    }
}
