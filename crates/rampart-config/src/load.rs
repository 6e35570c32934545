//! Reading a configuration file: bounded input, hardened YAML parsing,
//! precise errors, then semantic validation.
//!
//! The configuration is trusted input in the sense that it is the operator's,
//! but it is parsed by a privileged process, often from a path a deploy tool
//! wrote, and re-read on reload. So the reader refuses what no configuration
//! needs: files over 1 MiB, several documents, deep nesting, and aliases that
//! expand into far more data than they occupy ("billion laughs"). Each of those
//! fails fast with an error instead of costing time or memory.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::{ConfigError, ConfigErrors};
use crate::locate::SourceMap;
use crate::types::Config;
use crate::validate::validate;

/// Largest configuration file accepted, in bytes (1 MiB). Real configurations
/// are a few kilobytes; anything near this is a mistake or an attack.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Deepest nesting of mappings and lists; a real configuration needs five.
const MAX_DEPTH: usize = 16;

/// A configuration loaded from a file, with the file's location kept so
/// relative paths resolve against the configuration's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedConfig {
    /// The validated configuration.
    pub config: Config,
    /// The configuration file, as the caller named it (used in messages).
    pub path: PathBuf,
    /// The configuration file's directory, made absolute so that resolved
    /// paths do not depend on the process's working directory at reload time.
    pub dir: PathBuf,
    /// Positions of the file's keys and values, for reporting problems that
    /// only the caller can detect (a missing spec file, an unknown operationId)
    /// at the right line. Empty for configurations not read from text.
    pub source_map: SourceMap,
}

impl LoadedConfig {
    /// Resolve a path from the configuration (spec, TLS files, log file)
    /// against the configuration's directory; absolute paths are unchanged.
    /// `.` components are dropped; `..` is kept, as only the filesystem knows
    /// what it means under symlinks.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        self.dir
            .join(p)
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    }

    /// The files the configuration reads, resolved: each API's spec, then the
    /// TLS certificate and key. A reload watcher watches these and the
    /// configuration file itself. Duplicates are listed once.
    pub fn referenced_files(&self) -> Vec<PathBuf> {
        let specs = self.config.apis.iter().map(|api| api.spec.as_path());
        let tls = self
            .config
            .tls
            .iter()
            .flat_map(|tls| [tls.cert.as_path(), tls.key.as_path()]);
        let mut files: Vec<PathBuf> = Vec::new();
        for file in specs.chain(tls).map(|p| self.resolve(p)) {
            if !files.contains(&file) {
                files.push(file);
            }
        }
        files
    }

    /// An error about the setting at `key_path` (e.g. `apis[0].spec`), located
    /// at its line in the file, for problems found after loading. The message
    /// is prefixed with the key path, like the loader's own semantic errors.
    pub fn error_at(&self, key_path: &str, message: impl AsRef<str>) -> ConfigError {
        let position = self.source_map.position(key_path);
        ConfigError {
            file: self.path.clone(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            message: format!("{key_path}: {}", message.as_ref()),
        }
    }
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let cannot_read =
        |e: std::io::Error| ConfigError::whole_file(path, format!("cannot read the file: {e}"));
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    // Read at most one byte past the limit: a huge file, or a device that never
    // ends, costs no more than that.
    let mut bytes = Vec::new();
    file.take(to_u64(MAX_CONFIG_BYTES) + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    check_size(bytes.len(), path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        ConfigError {
            file: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: "the file is not valid UTF-8".to_owned(),
        }
    })?;
    load_str(&text, path)
}

/// Parses and validates configuration `text`; `path` names the file in
/// messages and anchors relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    check_size(text.len(), path)?;
    if is_blank(text) {
        return Err(ConfigError::whole_file(
            path,
            "the file is empty; at least `apis` is required",
        )
        .into());
    }
    // First pass: YAML of any shape, under budget. Reports syntax errors as
    // such and records where every setting is.
    let source_map = SourceMap::parse(text, parse_options())
        .map_err(|e| ConfigError::from_yaml(path, &e, &SourceMap::default()))?;
    // Second pass: the typed structs (types, unknown fields, missing fields).
    let config: Config = serde_saphyr::from_str_with_options(text, parse_options())
        .map_err(|e| ConfigError::from_yaml(path, &e, &source_map))?;
    // Then everything a well-typed file can still get wrong, all at once.
    let errors = validate(&config, &source_map, path);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        dir: config_dir(path),
        source_map,
    })
}

fn check_size(len: usize, path: &Path) -> Result<(), ConfigError> {
    if len > MAX_CONFIG_BYTES {
        return Err(ConfigError::whole_file(
            path,
            format!(
                "the file is larger than {MAX_CONFIG_BYTES} bytes (1 MiB), the limit for a configuration"
            ),
        ));
    }
    Ok(())
}

/// Only whitespace and comments: no YAML document at all.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

fn config_dir(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Parser settings for configuration files: a budget sized for configurations
/// (a real one has a few hundred nodes and nests five levels deep), strict
/// about duplicate keys and unknown tags, and without error snippets (we
/// print one line per error).
pub(crate) fn parse_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_CONFIG_BYTES),
            max_documents: 1,
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: 100_000,
            max_events: 250_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_merge_keys: 1_000,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: MAX_CONFIG_BYTES,
            max_total_scalar_bytes: MAX_CONFIG_BYTES,
            // The replay limits below bound amplification exactly; the ratio
            // heuristic would reject a legitimate `*defaults` used 200 times.
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        // The location pass reads scalars untyped; `.nan` must stay text
        // there, as it does for the typed pass's strings.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        reject_unsupported_tags: true,
        with_snippet: false,
    }
}
