//! The virtual patch: Rampart configuration and Cedar policy that block
//! what a scan found, until the API itself is fixed.
//!
//! Each check family maps to the gateway feature that stops it:
//! - BOLA on objects named in the path, and BFLA: a Cedar `forbid` on the
//!   operation unless the caller owns the object or is privileged;
//! - BOLA on owner-only properties of private objects: a `forbid` of the
//!   full view (the gateway then returns the restricted view);
//! - missing authentication: a `forbid` unless authenticated, and the
//!   operation enforced (the spec's `security` is then required);
//! - mass assignment, exposure, injection, verbose errors, method
//!   override, shadow endpoints: enforce mode (the contract rejects
//!   read-only and undeclared properties, bad types and undeclared routes
//!   and headers, and strips undeclared response fields);
//! - no rate limit: a `rate_limits` entry per operation.
//!
//! The config part is a fragment: [`apply`] merges it into an existing
//! config (APIs matched by name) and appends the Cedar to its policies.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::error::ScanError;
use crate::finding::Check;
use crate::plan::OpPlan;
use crate::{Report, ScanError as E};

/// A virtual patch.
#[derive(Debug, Clone)]
pub struct Patch {
    /// The config fragment.
    pub config: Value,
    /// Cedar policies (forbids only: they never widen access).
    pub cedar: String,
}

/// A rate-limit name from an operation id: `a-z`, `0-9`, `-`, at most 64.
fn limit_name(prefix: &str, op: &str) -> String {
    let mut s = String::from(prefix);
    if !prefix.is_empty() {
        s.push('-');
    }
    for c in op.chars() {
        if c.is_ascii_uppercase() {
            s.push('-');
            s.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            s.push(c);
        } else {
            s.push('-');
        }
    }
    s.chars().take(64).collect()
}

fn cedar_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Build the patch for `report`. `ops` tells which findings are about
/// objects in the path and which about properties; `api` is the API's name
/// in the gateway config.
pub fn build(
    report: &Report,
    ops: &[OpPlan],
    owned_response: &dyn Fn(&OpPlan) -> bool,
    api: &str,
) -> Patch {
    let mut enforce_ops = BTreeSet::new();
    let mut policies: Vec<(String, String)> = Vec::new();
    let mut limits = Vec::new();
    let mut limited = BTreeSet::new();
    for f in &report.findings {
        let op = ops.iter().find(|o| o.id == f.target);
        if let Some(op) = op {
            enforce_ops.insert(op.id.clone());
        }
        let Some(op) = op else { continue };
        let action = cedar_str(&op.id);
        match f.check {
            Check::Bfla => policies.push((
                format!("scan-bfla-{}", limit_name("", &op.id)),
                format!(
                    "// {}: administrators only.\nforbid(principal, action == Action::\"{action}\", resource)\n  unless {{ context.privileged }};",
                    f.title
                ),
            )),
            Check::BolaRead | Check::BolaWrite if owned_response(op) && op.is_read() => policies.push((
                "scan-private-full-view".into(),
                "// Owner-only properties of a private object are for its owner (or a privileged role):\n// others get the restricted view.\nforbid(principal, action == Action::\"fullView\", resource)\n  when { resource has is_private && resource.is_private && !(resource has owner && resource.owner == principal) }\n  unless { context.privileged };".into(),
            )),
            Check::BolaRead | Check::BolaWrite => policies.push((
                format!("scan-bola-{}", limit_name("", &op.id)),
                format!(
                    "// {}: the object's owner (or a privileged role) only.\nforbid(principal, action == Action::\"{action}\", resource)\n  unless {{ context.privileged || (resource has owner && resource.owner == principal) }};",
                    f.title
                ),
            )),
            Check::MissingAuthentication => policies.push((
                format!("scan-authn-{}", limit_name("", &op.id)),
                format!(
                    "// {}: callers must be authenticated.\nforbid(principal, action == Action::\"{action}\", resource)\n  unless {{ context.authenticated }};",
                    f.title
                ),
            )),
            Check::RateLimit if limited.insert(op.id.clone()) => {
                let login = f.title.contains("login");
                limits.push(json!({
                    "name": limit_name("scan", &op.id),
                    "key": if login { json!(["ip", "operation"]) } else { json!(["principal", "operation"]) },
                    "rate": if login { "10/min" } else { "120/min" },
                    "burst": if login { 5 } else { 20 },
                    "on": if login { "failure" } else { "request" },
                    "operations": [op.id],
                }));
            }
            _ => {}
        }
    }
    policies.sort();
    policies.dedup_by(|a, b| a.0 == b.0);
    let mut cedar = String::from(
        "// Rampart virtual patch written by `rampart scan --emit-patch`.\n// Forbid policies only: they narrow what the existing policies permit.\n",
    );
    for (id, body) in &policies {
        cedar.push_str(&format!("\n@id(\"{id}\")\n{body}\n"));
    }
    let mut operations = Map::new();
    for op in &enforce_ops {
        operations.insert(op.clone(), json!({ "mode": "enforce" }));
    }
    let mut config = json!({
        "mode": "enforce",
        "contract": {
            "undeclared_body_properties": "reject",
            "undeclared_headers": "reject",
        },
        "apis": [{ "name": api, "mode": "enforce", "operations": operations }],
    });
    if !limits.is_empty()
        && let Some(m) = config.as_object_mut()
    {
        m.insert("rate_limits".into(), Value::Array(limits));
    }
    Patch { config, cedar }
}

impl Patch {
    /// The config fragment as YAML, with a header naming the Cedar file.
    pub fn yaml(&self, cedar_file: &str) -> String {
        let body =
            serde_saphyr::to_string(&self.config).unwrap_or_else(|_| self.config.to_string());
        format!(
            "# Rampart virtual patch written by `rampart scan --emit-patch`.\n# Merge into the gateway config (APIs are matched by name), and add the\n# Cedar policies in {cedar_file} to `authorization.policies`.\n{body}"
        )
    }

    /// Write `path` (the YAML fragment) and the Cedar file beside it
    /// (same name, `.cedar` extension); returns the Cedar file's path.
    pub fn write(&self, path: &Path) -> Result<PathBuf, ScanError> {
        let cedar_path = path.with_extension("cedar");
        let cedar_name = cedar_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::write(path, self.yaml(&cedar_name)).map_err(|source| E::Write {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(&cedar_path, &self.cedar).map_err(|source| E::Write {
            path: cedar_path.clone(),
            source,
        })?;
        Ok(cedar_path)
    }
}

/// Merge `fragment` into `config`: objects key by key, `apis` entries by
/// `name`, `rate_limits` appended (by name, replacing).
pub fn merge(config: &mut Value, fragment: &Value) {
    let (Some(c), Some(f)) = (config.as_object_mut(), fragment.as_object()) else {
        return;
    };
    for (k, v) in f {
        match (k.as_str(), c.get_mut(k)) {
            ("apis", Some(Value::Array(existing))) => {
                for api in v.as_array().into_iter().flatten() {
                    let name = api.get("name");
                    match existing.iter_mut().find(|e| e.get("name") == name) {
                        Some(e) => merge(e, api),
                        None => existing.push(api.clone()),
                    }
                }
            }
            ("rate_limits", Some(Value::Array(existing))) => {
                for l in v.as_array().into_iter().flatten() {
                    existing.retain(|e| e.get("name") != l.get("name"));
                    existing.push(l.clone());
                }
            }
            (_, Some(existing @ Value::Object(_))) if v.is_object() => merge(existing, v),
            _ => {
                c.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Apply a patch to a config file in place: merge the fragment, and add the
/// Cedar to the config's policies file (or start one beside the config).
/// The result is what `rampart check` and `rampart serve` read.
pub fn apply(config_path: &Path, patch: &Patch) -> Result<(), ScanError> {
    let fail = |cause: String| E::Patch {
        path: config_path.to_path_buf(),
        cause,
    };
    let text = std::fs::read_to_string(config_path).map_err(|e| fail(e.to_string()))?;
    let mut config: Value = serde_saphyr::from_str(&text).map_err(|e| fail(e.to_string()))?;
    merge(&mut config, &patch.config);
    let dir = config_path.parent().unwrap_or(Path::new("."));
    let policies = config
        .pointer("/authorization/policies")
        .and_then(Value::as_str)
        .map(|p| dir.join(p));
    match policies {
        Some(file) if file.is_file() => {
            let mut existing = std::fs::read_to_string(&file).map_err(|e| fail(e.to_string()))?;
            existing.push('\n');
            existing.push_str(&patch.cedar);
            std::fs::write(&file, existing).map_err(|e| fail(e.to_string()))?;
        }
        Some(d) if d.is_dir() => {
            std::fs::write(d.join("rampart-scan-patch.cedar"), &patch.cedar)
                .map_err(|e| fail(e.to_string()))?;
        }
        _ => {
            // No policies yet: a permit-all base, so the forbids narrow
            // what the spec's security already allows and nothing more.
            let file = dir.join("rampart-scan-patch.cedar");
            let text = format!(
                "@id(\"scan-base-permit\")\npermit(principal, action, resource);\n{}",
                patch.cedar
            );
            std::fs::write(&file, text).map_err(|e| fail(e.to_string()))?;
            if let Some(c) = config.as_object_mut() {
                let auth = c.entry("authorization").or_insert_with(|| json!({}));
                if let Some(a) = auth.as_object_mut() {
                    a.insert("policies".into(), json!("./rampart-scan-patch.cedar"));
                }
            }
        }
    }
    let out = serde_saphyr::to_string(&config).map_err(|e| fail(e.to_string()))?;
    std::fs::write(config_path, out).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_matches_apis_by_name_and_replaces_limits_by_name() {
        let mut config = json!({
            "mode": "monitor",
            "apis": [{"name": "riders", "spec": "s.yaml", "upstream": "http://x"}],
            "rate_limits": [{"name": "a", "rate": "1/s"}],
            "contract": {"undeclared_headers": "allow", "allowed_headers": ["x-a"]},
        });
        let fragment = json!({
            "mode": "enforce",
            "apis": [{"name": "riders", "operations": {"getRider": {"mode": "enforce"}}}],
            "rate_limits": [{"name": "a", "rate": "2/s"}, {"name": "b", "rate": "3/s"}],
            "contract": {"undeclared_headers": "reject"},
        });
        merge(&mut config, &fragment);
        assert_eq!(config["mode"], "enforce");
        assert_eq!(config["apis"].as_array().unwrap().len(), 1);
        assert_eq!(config["apis"][0]["spec"], "s.yaml");
        assert_eq!(
            config["apis"][0]["operations"]["getRider"]["mode"],
            "enforce"
        );
        assert_eq!(
            config["rate_limits"],
            json!([{"name": "a", "rate": "2/s"}, {"name": "b", "rate": "3/s"}])
        );
        assert_eq!(config["contract"]["undeclared_headers"], "reject");
        assert_eq!(config["contract"]["allowed_headers"], json!(["x-a"]));
    }

    #[test]
    fn limit_names_are_valid() {
        assert_eq!(limit_name("scan", "getRider"), "scan-get-rider");
        let odd = limit_name("scan", "GET /a/{b}");
        assert!(
            odd.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{odd}"
        );
        assert!(limit_name("scan", &"x".repeat(100)).len() <= 64);
    }
}
