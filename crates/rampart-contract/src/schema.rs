//! Compiled JSON Schema validators over the request and response variants.
//!
//! Both variants are registered once in a `jsonschema` registry under fixed
//! URNs; each validator is then compiled from a one-line wrapper
//! `{"$ref": "urn:rampart:request#/pointer"}`, so `$ref`s inside it resolve
//! through the registry with no copying of the document per validator. The
//! registry never fetches anything: `jsonschema`'s network features are off.
//! Patterns use the linear-time `regex` engine (no catastrophic backtracking on
//! attacker input); a pattern that needs backtracking features falls back to
//! `fancy-regex` with a backtrack limit.

use std::sync::Arc;

use jsonschema::{Draft, PatternOptions, Registry, Validator};
use serde_json::{Value, json};

use crate::variant::{Dialect, Side};

const REQUEST_URI: &str = "urn:rampart:request";
const RESPONSE_URI: &str = "urn:rampart:response";

/// Characters percent-encoded in a pointer used as a URI fragment.
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'~')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// One violation found by a validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the instance.
    pub pointer: String,
    /// The validator's message, capped in length.
    pub message: String,
}

/// A compiled validator for one schema location.
#[derive(Clone)]
pub struct SchemaValidator {
    inner: Arc<Validator>,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaValidator")
    }
}

/// Most violations reported for one instance (an attacker can craft bodies with thousands).
pub const MAX_VIOLATIONS: usize = 10;
const MAX_MESSAGE: usize = 200;

impl SchemaValidator {
    /// Whether `value` is valid.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.inner.is_valid(value)
    }

    /// Up to [`MAX_VIOLATIONS`] violations.
    pub fn violations(&self, value: &Value) -> Vec<SchemaViolation> {
        self.inner
            .iter_errors(value)
            .take(MAX_VIOLATIONS)
            .map(|e| {
                let mut message = e.to_string();
                if message.len() > MAX_MESSAGE {
                    let mut cut = MAX_MESSAGE;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                    message.push('…');
                }
                SchemaViolation {
                    pointer: e.instance_path().to_string(),
                    message,
                }
            })
            .collect()
    }
}

/// Builds validators for locations in the bundled document.
pub struct SchemaCompiler {
    request: Value,
    response: Value,
    draft: Draft,
}

impl SchemaCompiler {
    /// Prepare both variants of `doc`.
    pub fn new(doc: &Value, dialect: Dialect) -> Self {
        SchemaCompiler {
            request: crate::variant::variant(doc, dialect, Side::Request),
            response: crate::variant::variant(doc, dialect, Side::Response),
            draft: match dialect {
                Dialect::Oas30 => Draft::Draft4,
                Dialect::Oas31 => Draft::Draft202012,
            },
        }
    }

    /// The registry holding both variants; borrowed by [`compile`](Self::compile).
    pub fn registry(&self) -> Result<Registry<'_>, String> {
        Registry::new()
            .draft(self.draft)
            .retrieve_known_draft_meta_schemas(false)
            .add(REQUEST_URI, &self.request)
            .and_then(|b| b.add(RESPONSE_URI, &self.response))
            .and_then(|b| b.prepare())
            .map_err(|e| e.to_string())
    }

    /// Compile the schema at `pointer` for `side`.
    pub fn compile(
        &self,
        registry: &Registry<'_>,
        side: Side,
        pointer: &str,
    ) -> Result<SchemaValidator, String> {
        let base = match side {
            Side::Request => REQUEST_URI,
            Side::Response => RESPONSE_URI,
        };
        let frag = percent_encoding::utf8_percent_encode(pointer, FRAGMENT);
        let wrapper = json!({ "$ref": format!("{base}#{frag}") });
        let build = |fancy: bool| {
            let opts = jsonschema::options()
                .with_draft(self.draft)
                .with_registry(registry)
                .should_validate_formats(true);
            if fancy {
                opts.with_pattern_options(PatternOptions::fancy_regex().backtrack_limit(10_000))
                    .build(&wrapper)
            } else {
                opts.with_pattern_options(PatternOptions::regex())
                    .build(&wrapper)
            }
        };
        let validator = match build(false) {
            Ok(v) => v,
            Err(first) => build(true).map_err(|_| first.to_string())?,
        };
        Ok(SchemaValidator {
            inner: Arc::new(validator),
        })
    }
}
