//! Writing the files `rampart serve` needs: a spec and a config beside it.
//!
//! The config templates in `assets/` are complete, valid configs on their own
//! (so they double as examples); the bundle writer swaps in the three values
//! that vary per run. Values are written as double-quoted scalars because a
//! socket address such as `[::1]:8080` or a log path with `: ` is not a safe
//! plain YAML scalar.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::{BENCH_SPEC, RIDERS_SPEC};

const RIDERS_POLICIES: &str = include_str!("../assets/riders.cedar");

const DEMO_CONFIG: &str = include_str!("../assets/demo.rampart.yaml");
const BENCH_CONFIG: &str = include_str!("../assets/bench.rampart.yaml");

/// The config file's name inside a bundle directory.
const CONFIG_FILE: &str = "rampart.yaml";

/// Write the demo bundle (the riders spec and a Rampart config) into `dir`,
/// creating it if needed, and return the config file's path.
///
/// `listen` is the gateway's public address, `upstream` the sample API's base
/// URL (e.g. `http://127.0.0.1:3000`) and `security_log` where security events
/// go: `stdout`, `stderr` or a file path. The bundle also holds the Cedar
/// policies (`riders.cedar`) and the JWT secret of this run
/// (`demo-jwt.secret`, readable by its owner only), which
/// [`crate::tokens::Tokens::mint_all`] signs the tour's tokens with.
pub fn write_bundle(
    dir: &Path,
    listen: SocketAddr,
    upstream: &str,
    security_log: &str,
    jwt_secret: &str,
) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("riders.cedar"), RIDERS_POLICIES)?;
    write_private(&dir.join("demo-jwt.secret"), jwt_secret)?;
    let config = write(
        dir,
        ("riders.openapi.yaml", RIDERS_SPEC),
        DEMO_CONFIG,
        listen,
        upstream,
        security_log,
    )?;
    append_disclosure(&config)?;
    Ok(config)
}

/// The demo's disclosure section: a `security.txt` valid for 180 days from
/// now (RFC 9116 wants an expiry under a year, so it cannot be fixed in the
/// template) and the public report form.
fn append_disclosure(config_path: &Path) -> io::Result<()> {
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(180 * 86_400);
    let expires = humantime::format_rfc3339_seconds(expires).to_string();
    let mut text = std::fs::read_to_string(config_path)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "# Vulnerability disclosure: security.txt and the public report form\n\
         # (/disclosures/report), with reporters' status pages.\n\
         disclosure:\n  security_txt:\n    contact: [\"mailto:security@riders.example\"]\n    \
         expires: {}\n    preferred_languages: [en]\n  intake:\n    enabled: true\n",
        yaml_quote(&expires)
    ));
    std::fs::write(config_path, text)
}

/// Write the benchmark bundle (the bench spec and a Rampart config in enforce
/// mode) into `dir`, creating it if needed, and return the config file's path.
///
/// The arguments mean the same as for [`write_bundle`].
pub fn write_bench_bundle(
    dir: &Path,
    listen: SocketAddr,
    upstream: &str,
    security_log: &str,
) -> io::Result<PathBuf> {
    write(
        dir,
        ("bench.openapi.yaml", BENCH_SPEC),
        BENCH_CONFIG,
        listen,
        upstream,
        security_log,
    )
}

fn write(
    dir: &Path,
    (spec_name, spec): (&str, &str),
    template: &str,
    listen: SocketAddr,
    upstream: &str,
    security_log: &str,
) -> io::Result<PathBuf> {
    let config = fill(template, listen, upstream, security_log)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(spec_name), spec)?;
    let config_path = dir.join(CONFIG_FILE);
    std::fs::write(&config_path, config)?;
    Ok(config_path)
}

/// Write a secret readable by its owner only.
/// Add an admin listener to the config at `config_path`: `listen` for its
/// address, and `token` written beside the config (mode 0600) as
/// `admin.token`. The demo opens onto the dashboard this serves.
pub fn write_admin(config_path: &Path, listen: SocketAddr, token: &str) -> io::Result<()> {
    let dir = config_path.parent().unwrap_or(Path::new("."));
    write_private(&dir.join("admin.token"), token)?;
    let mut text = std::fs::read_to_string(config_path)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "admin:\n  listen: {}\n  token_file: ./admin.token\n",
        yaml_quote(&listen.to_string())
    ));
    std::fs::write(config_path, text)
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// Substitute the three per-run values into a config template.
fn fill(
    template: &str,
    listen: SocketAddr,
    upstream: &str,
    security_log: &str,
) -> io::Result<String> {
    let mut text = template.to_owned();
    for (key, value) in [
        ("listen", listen.to_string().as_str()),
        ("upstream", upstream),
        ("security", security_log),
    ] {
        text = set_scalar(&text, key, value)?;
    }
    Ok(text)
}

/// Replace the value of the first line whose key is `key`, keeping its
/// indentation. The templates hold each key once, which a test checks.
fn set_scalar(text: &str, key: &str, value: &str) -> io::Result<String> {
    let prefix = format!("{key}:");
    let mut out = String::with_capacity(text.len() + value.len());
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !replaced && trimmed.starts_with(&prefix) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str(&prefix);
            out.push(' ');
            out.push_str(&yaml_quote(value));
            out.push('\n');
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if replaced {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "config template has no `{key}:` line"
        )))
    }
}

/// A YAML double-quoted scalar. JSON string syntax is a subset of it, and
/// serde_json escapes quotes, backslashes and control characters.
fn yaml_quote(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn each_template_key_appears_once() {
        for template in [DEMO_CONFIG, BENCH_CONFIG] {
            for key in ["listen:", "upstream:", "security:"] {
                let count = template
                    .lines()
                    .filter(|l| l.trim_start().starts_with(key))
                    .count();
                assert_eq!(count, 1, "{key} in {template}");
            }
        }
    }

    #[test]
    fn ipv6_listen_and_odd_log_paths_are_quoted() {
        let listen: SocketAddr = "[::1]:9000".parse().unwrap();
        let text = fill(
            DEMO_CONFIG,
            listen,
            "http://[::1]:3000",
            "/tmp/a: \"b\".log",
        )
        .unwrap();
        assert!(text.contains("listen: \"[::1]:9000\"\n"), "{text}");
        assert!(
            text.contains("    upstream: \"http://[::1]:3000\"\n"),
            "{text}"
        );
        assert!(
            text.contains("  security: \"/tmp/a: \\\"b\\\".log\"\n"),
            "{text}"
        );
    }
}
