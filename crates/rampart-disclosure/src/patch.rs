//! Virtual patches: what an operator applies at the gateway to close a
//! reported hole before the upstream is fixed.
//!
//! A patch is either a Cedar policy (a new `.cedar` file in the policy
//! directory: deny an operation, restrict a view, ...) or a replacement
//! configuration file (a mode switch to enforce, a tighter limit, a rate
//! limit). [`apply_patch`] validates it exactly as the gateway would load
//! it, and only then writes it, atomically (temporary file and rename), so
//! the gateway's hot reload never sees a half-written or invalid file.
//! The patch is recorded on the report (`mitigated`) by the caller.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DisclosureError;

/// Largest patch accepted, in bytes.
pub const MAX_PATCH_BYTES: usize = 1024 * 1024;

/// What a patch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchKind {
    /// A Cedar policy file added to `authorization.policies`.
    Cedar,
    /// A complete configuration file replacing the current one.
    Config,
}

/// A virtual patch, as recorded on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualPatch {
    /// What it does, in a sentence (shown to the reporter).
    pub description: String,
    /// Cedar policy or configuration.
    pub kind: PatchKind,
    /// The file's content.
    pub content: String,
}

impl VirtualPatch {
    /// Reads a patch file; `.cedar` files are Cedar policies, anything else
    /// a configuration file.
    pub fn from_file(path: &Path, description: String) -> Result<VirtualPatch, DisclosureError> {
        let bytes = std::fs::read(path).map_err(|e| DisclosureError::io(path, e))?;
        if bytes.len() > MAX_PATCH_BYTES {
            return Err(DisclosureError::Patch(format!(
                "{}: {} bytes is over the {MAX_PATCH_BYTES}-byte limit for a patch",
                path.display(),
                bytes.len()
            )));
        }
        let content = String::from_utf8(bytes)
            .map_err(|e| DisclosureError::Patch(format!("{}: not UTF-8: {e}", path.display())))?;
        let kind = if path.extension().is_some_and(|x| x == "cedar") {
            PatchKind::Cedar
        } else {
            PatchKind::Config
        };
        Ok(VirtualPatch {
            description,
            kind,
            content,
        })
    }
}

/// Validates `patch` against the configuration at `config_path` and writes
/// it where the gateway's hot reload picks it up; returns the file written.
///
/// - Cedar: `authorization.policies` must name a directory. Its policies
///   plus the new one are loaded in a staging directory against the
///   schema generated for `operations` (the contract's operationIds);
///   only if they load is `disclosure-<report>-<n>.cedar` written.
/// - Config: the new file must load (every error is returned with its
///   line); the old one is kept beside it as
///   `<file>.before-disclosure-<report>`.
pub fn apply_patch(
    config_path: &Path,
    report_id: i64,
    patch: &VirtualPatch,
    operations: &BTreeSet<String>,
) -> Result<PathBuf, DisclosureError> {
    match patch.kind {
        PatchKind::Cedar => apply_cedar(config_path, report_id, patch, operations),
        PatchKind::Config => apply_config(config_path, report_id, patch),
    }
}

fn apply_config(
    config_path: &Path,
    report_id: i64,
    patch: &VirtualPatch,
) -> Result<PathBuf, DisclosureError> {
    rampart_config::load_str(&patch.content, config_path).map_err(|e| {
        DisclosureError::Patch(format!("the patched configuration does not load:\n{e}"))
    })?;
    let backup = sibling(config_path, &format!(".before-disclosure-{report_id}"));
    std::fs::copy(config_path, &backup).map_err(|e| DisclosureError::io(&backup, e))?;
    write_atomically(config_path, &patch.content)?;
    Ok(config_path.to_path_buf())
}

fn apply_cedar(
    config_path: &Path,
    report_id: i64,
    patch: &VirtualPatch,
    operations: &BTreeSet<String>,
) -> Result<PathBuf, DisclosureError> {
    let loaded =
        rampart_config::load(config_path).map_err(|e| DisclosureError::Config(e.to_string()))?;
    let Some(policies) = &loaded.config.authorization.policies else {
        return Err(DisclosureError::Patch(
            "authorization.policies is not set: point it at a directory of .cedar files to apply Cedar patches".to_owned(),
        ));
    };
    let dir = loaded.resolve(policies);
    if !dir.is_dir() {
        return Err(DisclosureError::Patch(format!(
            "authorization.policies ({}) is a file: Cedar patches are added to a directory of .cedar files",
            dir.display()
        )));
    }
    let target = free_name(&dir, report_id)?;
    // Validate in a staging copy: the live directory only ever holds a
    // set of policies that loads.
    let staging = dir.join(format!(
        ".rampart-staging-{report_id}-{}",
        std::process::id()
    ));
    let result = stage_and_check(&dir, &staging, &target, patch, operations, &loaded);
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    write_atomically(&target, &patch.content)?;
    Ok(target)
}

fn stage_and_check(
    dir: &Path,
    staging: &Path,
    target: &Path,
    patch: &VirtualPatch,
    operations: &BTreeSet<String>,
    loaded: &rampart_config::LoadedConfig,
) -> Result<(), DisclosureError> {
    std::fs::create_dir(staging).map_err(|e| DisclosureError::io(staging, e))?;
    let entries = std::fs::read_dir(dir).map_err(|e| DisclosureError::io(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file()
            && path.extension().is_some_and(|x| x == "cedar")
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, staging.join(name)).map_err(|e| DisclosureError::io(&path, e))?;
        }
    }
    let name = target.file_name().unwrap_or_default();
    let staged = staging.join(name);
    std::fs::write(&staged, &patch.content).map_err(|e| DisclosureError::io(&staged, e))?;
    let ops: Vec<&str> = operations.iter().map(String::as_str).collect();
    rampart_policy::PolicyEngine::load(
        staging,
        &ops,
        loaded.config.authorization.privileged_roles.clone(),
    )
    .map_err(|e| {
        DisclosureError::Patch(format!(
            "the policies do not load with the patch:\n{}",
            e.to_string()
                .replace(&staging.display().to_string(), &dir.display().to_string())
        ))
    })?;
    Ok(())
}

/// `disclosure-<report>-<n>.cedar`, the first `n` not taken.
fn free_name(dir: &Path, report_id: i64) -> Result<PathBuf, DisclosureError> {
    for n in 1..10_000 {
        let candidate = dir.join(format!("disclosure-{report_id}-{n}.cedar"));
        if !candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(DisclosureError::Patch(format!(
        "too many patches for report #{report_id} in {}",
        dir.display()
    )))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `content` to a temporary sibling, syncs it, and renames it over
/// `path`: readers see the old file or the new one, never a part.
fn write_atomically(path: &Path, content: &str) -> Result<(), DisclosureError> {
    use std::io::Write;
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()
    };
    write().map_err(|e| DisclosureError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DisclosureError::io(path, e)
    })
}
