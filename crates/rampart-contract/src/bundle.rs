//! `$ref` resolution across files: many files in, one self-contained document out.
//!
//! The compiler, the JSON Schema validators and later the audit all want a
//! single document whose `$ref`s are internal. So we *bundle* at load time:
//! every target that lives in another file is copied under
//! `/x-rampart-bundled/<key>` of the root document and the reference is
//! rewritten to point there. References inside copied subtrees are resolved
//! against the file they came from, so `#/components/schemas/X` in `b.yaml`
//! means `b.yaml`'s `X`, never the root's. Each (file, pointer) is copied once,
//! which also makes cycles across files terminate.
//!
//! Remote references (`http://...`) are refused: a gateway must not fetch code
//! or schemas from the network at start-up. Every broken reference is reported
//! with the referencing file, the pointer of the `$ref` and the point where
//! resolution broke, and loading continues so one run reports them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::{ContractError, ContractErrorKind, ContractErrors};
use crate::pointer;
use crate::source::read_document;

/// Where copied external targets live in the bundled document.
pub const BUNDLE_KEY: &str = "x-rampart-bundled";

/// A root document with every external `$ref` inlined.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The root file.
    pub root: PathBuf,
    /// The bundled document.
    pub doc: Value,
    /// Every file read, root first (the reload watcher polls these).
    pub files: Vec<PathBuf>,
}

struct Loader {
    files: Vec<(PathBuf, Value)>,
    by_path: HashMap<PathBuf, usize>,
    keys: HashMap<(usize, String), String>,
    pending: Vec<(usize, String, String)>,
    bundled: Map<String, Value>,
    errors: Vec<ContractError>,
}

/// Load `path` and every file it references, and bundle them into one document.
pub fn bundle_file(path: &Path) -> Result<Bundle, ContractErrors> {
    let root_doc = read_document(path)?;
    bundle_value(root_doc, path)
}

/// Where each copy under `/x-rampart-bundled/<key>` came from: the file and
/// the pointer in that file. Reports use it to give a finding inside a copied
/// subtree the line of the file the author actually edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleOrigins(pub std::collections::BTreeMap<String, (PathBuf, String)>);

impl BundleOrigins {
    /// Translate a pointer of the bundled document to (file, pointer in that
    /// file); `None` for pointers of the root file.
    pub fn origin_of(&self, bundled_pointer: &str) -> Option<(&Path, String)> {
        let rest = bundled_pointer.strip_prefix(&format!("/{BUNDLE_KEY}/"))?;
        let (key, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (file, ptr) = self.0.get(&pointer::unescape(key))?;
        Some((file.as_path(), format!("{ptr}{tail}")))
    }
}

/// [`bundle_file`], also returning where every bundled copy came from.
pub fn bundle_file_traced(path: &Path) -> Result<(Bundle, BundleOrigins), ContractErrors> {
    let root_doc = read_document(path)?;
    bundle_value_traced(root_doc, path)
}

/// Bundle an already-parsed root document; relative references resolve against `path`'s directory.
pub fn bundle_value(root_doc: Value, path: &Path) -> Result<Bundle, ContractErrors> {
    bundle_value_traced(root_doc, path).map(|(b, _)| b)
}

/// [`bundle_value`], also returning where every bundled copy came from.
pub fn bundle_value_traced(
    root_doc: Value,
    path: &Path,
) -> Result<(Bundle, BundleOrigins), ContractErrors> {
    let root_path = path.to_path_buf();
    let mut loader = Loader {
        files: vec![(root_path.clone(), Value::Null)],
        by_path: HashMap::from([(canonical(&root_path), 0)]),
        keys: HashMap::new(),
        pending: Vec::new(),
        bundled: Map::new(),
        errors: Vec::new(),
    };
    // Resolve internal references against an untouched copy of the root.
    loader.files[0].1 = root_doc.clone();
    let mut doc = root_doc;
    loader.rewrite(&mut doc, 0, String::new());
    while let Some((file, ptr, key)) = loader.pending.pop() {
        let target = match pointer::resolve(&loader.files[file].1, &ptr) {
            Ok(v) => v.clone(),
            // Unreachable in practice: `key_for` only queues resolvable targets.
            Err(_) => continue,
        };
        let mut target = target;
        loader.rewrite(&mut target, file, ptr);
        loader.bundled.insert(key, target);
    }
    if !loader.errors.is_empty() {
        loader
            .errors
            .sort_by(|a, b| (&a.file, &a.pointer).cmp(&(&b.file, &b.pointer)));
        return Err(ContractErrors(loader.errors));
    }
    if !loader.bundled.is_empty()
        && let Value::Object(m) = &mut doc
    {
        m.insert(BUNDLE_KEY.to_string(), Value::Object(loader.bundled));
    }
    let origins = BundleOrigins(
        loader
            .keys
            .iter()
            .map(|((file, ptr), key)| (key.clone(), (loader.files[*file].0.clone(), ptr.clone())))
            .collect(),
    );
    Ok((
        Bundle {
            root: root_path,
            doc,
            files: loader.files.into_iter().map(|(p, _)| p).collect(),
        },
        origins,
    ))
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Keys under which literal data (not schema or OpenAPI structure) lives; a
/// `$ref` key inside them is data, not a reference.
fn is_literal_key(key: &str) -> bool {
    matches!(key, "example" | "enum" | "const" | "default")
}

impl Loader {
    fn rewrite(&mut self, v: &mut Value, file: usize, at: String) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let r = r.clone();
                    let ref_ptr = pointer::push(&at, "$ref");
                    if let Some(new_ref) = self.resolve_ref(&r, file, &ref_ptr) {
                        m.insert("$ref".to_string(), Value::String(new_ref));
                    }
                }
                let in_examples = at.ends_with("/examples") || at.contains("/examples/");
                for (k, child) in m.iter_mut() {
                    if k == "$ref" || is_literal_key(k) || (in_examples && k == "value") {
                        continue;
                    }
                    let p = pointer::push(&at, k);
                    self.rewrite(child, file, p);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter_mut().enumerate() {
                    let p = format!("{at}/{i}");
                    self.rewrite(child, file, p);
                }
            }
            _ => {}
        }
    }

    /// Returns the rewritten reference, or None to keep it (or when it is broken; the error is recorded).
    fn resolve_ref(&mut self, reference: &str, file: usize, ref_ptr: &str) -> Option<String> {
        let err = |this: &Self, kind| {
            ContractError::new(this.files[file].0.clone(), kind).at(ref_ptr.to_string())
        };
        let lower = reference.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
        {
            let e = err(self, ContractErrorKind::RemoteRef(reference.to_string()));
            self.errors.push(e);
            return None;
        }
        let (file_part, fragment) = match reference.split_once('#') {
            Some((f, frag)) => (f, frag),
            None => (reference, ""),
        };
        let frag = percent_decode_str(fragment)
            .decode_utf8_lossy()
            .into_owned();
        if !frag.is_empty() && !frag.starts_with('/') {
            let e = err(
                self,
                ContractErrorKind::BrokenRef {
                    reference: reference.to_string(),
                    reason: "only JSON-pointer fragments (#/...) are supported".into(),
                },
            );
            self.errors.push(e);
            return None;
        }
        let target_file = if file_part.is_empty() {
            file
        } else {
            let rel = percent_decode_str(file_part)
                .decode_utf8_lossy()
                .into_owned();
            let base = self.files[file]
                .0
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let path = base.join(&rel);
            match self.load(&path) {
                Ok(i) => i,
                Err(reason) => {
                    let e = err(
                        self,
                        ContractErrorKind::BrokenRef {
                            reference: reference.to_string(),
                            reason,
                        },
                    );
                    self.errors.push(e);
                    return None;
                }
            }
        };
        if let Err((walked, missing)) = pointer::resolve(&self.files[target_file].1, &frag) {
            let where_ = if walked.is_empty() {
                "/"
            } else {
                walked.as_str()
            };
            let in_file = if target_file == file {
                String::new()
            } else {
                format!(" of {}", self.files[target_file].0.display())
            };
            let e = err(
                self,
                ContractErrorKind::BrokenRef {
                    reference: reference.to_string(),
                    reason: format!("\"{missing}\" does not exist under {where_}{in_file}"),
                },
            );
            self.errors.push(e);
            return None;
        }
        if target_file == 0 {
            return if file == 0 {
                None
            } else {
                Some(format!("#{frag}"))
            };
        }
        let key = self.key_for(target_file, frag);
        Some(format!("#/{BUNDLE_KEY}/{key}"))
    }

    fn key_for(&mut self, file: usize, ptr: String) -> String {
        if let Some(k) = self.keys.get(&(file, ptr.clone())) {
            return k.clone();
        }
        let stem = self.files[file]
            .0
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tail = ptr.rsplit('/').next().unwrap_or_default();
        let clean: String = format!("{stem}_{tail}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let key = format!("{clean}_{}", self.keys.len());
        self.keys.insert((file, ptr.clone()), key.clone());
        self.pending.push((file, ptr, key.clone()));
        key
    }

    fn load(&mut self, path: &Path) -> Result<usize, String> {
        let canon = canonical(path);
        if let Some(&i) = self.by_path.get(&canon) {
            return Ok(i);
        }
        let doc = read_document(path).map_err(|e| match e.kind {
            ContractErrorKind::Io(msg) => format!("cannot read {}: {msg}", path.display()),
            _ => e.to_string(),
        })?;
        self.files.push((path.to_path_buf(), doc));
        let i = self.files.len() - 1;
        self.by_path.insert(canon, i);
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn external_refs_are_inlined_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "schemas.yaml",
            "Rider:\n  type: object\n  properties:\n    city: {$ref: '#/City'}\nCity: {type: string}\n",
        );
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    R: {$ref: './schemas.yaml#/Rider'}\n",
        );
        let b = bundle_file(&root).unwrap();
        let r = b.doc["components"]["schemas"]["R"]["$ref"]
            .as_str()
            .unwrap();
        let target = pointer::resolve(&b.doc, r.trim_start_matches('#')).unwrap();
        assert_eq!(target["type"], "object");
        let city_ref = target["properties"]["city"]["$ref"].as_str().unwrap();
        let city = pointer::resolve(&b.doc, city_ref.trim_start_matches('#')).unwrap();
        assert_eq!(city, &json!({"type": "string"}));
        assert_eq!(b.files.len(), 2);
    }

    #[test]
    fn traced_bundle_maps_copies_back_to_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let schemas = write(dir.path(), "schemas.yaml", "Rider:\n  type: object\n");
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    R: {$ref: './schemas.yaml#/Rider'}\n",
        );
        let (b, origins) = bundle_file_traced(&root).unwrap();
        let r = b.doc["components"]["schemas"]["R"]["$ref"]
            .as_str()
            .unwrap();
        let (file, ptr) = origins
            .origin_of(&format!("{}/type", r.trim_start_matches('#')))
            .unwrap();
        assert_eq!(file, schemas.as_path());
        assert_eq!(ptr, "/Rider/type");
        assert!(origins.origin_of("/components/schemas/R").is_none());
    }

    #[test]
    fn broken_internal_ref_names_file_pointer_and_missing_token() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    A: {type: string}\n    B: {$ref: '#/components/schemas/Missing'}\n",
        );
        let errs = bundle_file(&root).unwrap_err();
        assert_eq!(errs.0.len(), 1);
        let msg = errs.0[0].to_string();
        assert!(msg.contains("api.yaml"), "{msg}");
        assert!(
            msg.contains("broken $ref \"#/components/schemas/Missing\""),
            "{msg}"
        );
        assert!(
            msg.contains("\"Missing\" does not exist under /components/schemas"),
            "{msg}"
        );
        assert!(msg.contains("(at /components/schemas/B/$ref)"), "{msg}");
    }

    #[test]
    fn missing_external_file_and_remote_refs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    A: {$ref: 'nope.yaml#/X'}\n    B: {$ref: 'https://example.com/x.yaml'}\n",
        );
        let errs = bundle_file(&root).unwrap_err();
        assert_eq!(errs.0.len(), 2);
        assert!(errs.0[0].to_string().contains("cannot read"), "{}", errs);
        assert!(matches!(errs.0[1].kind, ContractErrorKind::RemoteRef(_)));
    }

    #[test]
    fn refs_inside_examples_are_data() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    A:\n      type: object\n      example: {$ref: 'not-a-ref'}\n",
        );
        assert!(bundle_file(&root).is_ok());
    }

    #[test]
    fn cyclic_external_refs_terminate() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "node.yaml",
            "Node:\n  type: object\n  properties:\n    next: {$ref: '#/Node'}\n",
        );
        let root = write(
            dir.path(),
            "api.yaml",
            "openapi: 3.1.0\ncomponents:\n  schemas:\n    N: {$ref: 'node.yaml#/Node'}\n",
        );
        let b = bundle_file(&root).unwrap();
        assert_eq!(b.doc[BUNDLE_KEY].as_object().unwrap().len(), 1);
    }
}
