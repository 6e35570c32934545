//! `rampart-bench-bundle [--authz] DIR LISTEN UPSTREAM [SECURITY_LOG]`:
//! write the benchmark bundle (bench spec and a Rampart config in enforce
//! mode) into DIR and print the config file's path.
//!
//! SECURITY_LOG defaults to `DIR/security.log`, so that security events do
//! not share a terminal (and its cost) with the benchmark's output.
//!
//! With `--authz`, the bundle also turns on identity and authorization, to
//! measure what they add to the core path:
//!
//! - the spec requires a bearer JWT on both operations, and the `Profile`
//!   schema carries ownership annotations (`x-rampart-owner: /id`,
//!   `x-rampart-private: /is_private`, `email` visible to the owner only), so
//!   the response phase decides every profile;
//! - the config trusts one HS256 issuer whose secret is generated for this
//!   run (`DIR/bench-hs256.secret`, mode 0600), and loads `DIR/bench.cedar`,
//!   whose policies permit both operations and the full view to the owner;
//! - `DIR/bench.token` holds a token for rider 4242 (the profile's owner),
//!   valid for 24 hours, that the benchmark sends on every request.

#![forbid(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: rampart-bench-bundle [--authz] DIR LISTEN UPSTREAM [SECURITY_LOG]";

/// The bench contract, patched below for `--authz`.
const BENCH_SPEC: &str = include_str!("../../assets/bench.openapi.yaml");

const ISSUER: &str = "https://bench.rampart.invalid";
const AUDIENCE: &str = "rampart-bench";
const KID: &str = "bench";
/// The profile the bench upstream serves belongs to rider 4242.
const SUBJECT: &str = "4242";

const POLICIES: &str = r#"// Benchmark policies: permit the two operations (function level), and the
// full view to the owner, to public profiles and to privileged roles.
@id("bench-read")
permit(principal, action == Action::"getProfile", resource)
  when { principal.role == "member" || principal.role == "admin" };

@id("bench-write")
permit(principal, action == Action::"createItem", resource)
  when { principal.role == "member" && principal.scopes.contains("items:write") };

@id("bench-full-view")
permit(principal, action == Action::"fullView", resource)
  when { resource.owner == principal || !resource.is_private || context.privileged };
"#;

fn main() -> ExitCode {
    let mut authz = false;
    let mut args: Vec<String> = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--authz" => authz = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => args.push(arg),
        }
    }
    let (dir, listen, upstream, log) = match args.as_slice() {
        [dir, listen, upstream] => (dir, listen, upstream, None),
        [dir, listen, upstream, log] => (dir, listen, upstream, Some(log)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Ok(listen) = listen.parse::<SocketAddr>() else {
        eprintln!("rampart-bench-bundle: `{listen}` is not a socket address\n{USAGE}");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let log = match log {
        Some(log) => log.clone(),
        None => dir.join("security.log").to_string_lossy().into_owned(),
    };
    let written =
        rampart_demo::write_bench_bundle(&dir, listen, upstream, &log).and_then(|config| {
            if authz {
                add_authz(&dir, &config)?;
            }
            Ok(config)
        });
    match written {
        Ok(config) => {
            println!("{}", config.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "rampart-bench-bundle: cannot write {}: {err}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Turn the core bundle in `dir` into the identity-and-policy bundle.
fn add_authz(dir: &Path, config: &Path) -> io::Result<()> {
    std::fs::write(dir.join("bench.openapi.yaml"), authz_spec(BENCH_SPEC)?)?;
    std::fs::write(dir.join("bench.cedar"), POLICIES)?;
    let secret = new_secret()?;
    write_private(&dir.join("bench-hs256.secret"), &secret)?;
    let mut text = std::fs::read_to_string(config)?;
    for key in ["identity:", "authorization:"] {
        if text.lines().any(|l| l.starts_with(key)) {
            return Err(invalid(format!("the bench config already has `{key}`")));
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "# Added by `rampart-bench-bundle --authz`: a bearer JWT on every request
# and Cedar policies deciding each request and each profile.
identity:
  issuers:
    - issuer: \"{ISSUER}\"
      audiences: [\"{AUDIENCE}\"]
      algorithms: [HS256]
      keys:
        - {{kid: {KID}, alg: HS256, secret_file: ./bench-hs256.secret}}
authorization:
  policies: ./bench.cedar
  privileged_roles: [admin]
"
    ));
    std::fs::write(config, text)?;
    write_private(&dir.join("bench.token"), &mint(&secret)?)?;
    Ok(())
}

/// The bench spec with a bearer requirement on every operation and
/// ownership annotations on `Profile`. Each edit must apply exactly as
/// often as expected, so a change to the spec cannot silently produce a
/// bundle that measures something else.
fn authz_spec(spec: &str) -> io::Result<String> {
    let edits: [(&str, &str, usize); 4] = [
        (
            "      security: []\n",
            "      security: [{bearer: []}]\n",
            2,
        ),
        (
            "components:\n",
            "components:\n  securitySchemes:\n    bearer: {type: http, scheme: bearer, bearerFormat: JWT}\n",
            1,
        ),
        (
            "    Profile:\n      type: object\n",
            "    Profile:\n      type: object\n      x-rampart-owner: /id\n      x-rampart-private: /is_private\n",
            1,
        ),
        (
            "        email: { type: string, format: email, maxLength: 254 }\n",
            "        email: { type: string, format: email, maxLength: 254, x-rampart-visibility: owner }\n",
            1,
        ),
    ];
    let mut out = spec.to_string();
    for (from, to, count) in edits {
        let found = out.matches(from).count();
        if found != count {
            return Err(invalid(format!(
                "the bench spec changed: expected {count} occurrence(s) of {from:?}, found {found}"
            )));
        }
        out = out.replace(from, to);
    }
    Ok(out)
}

/// 32 random bytes, hex-encoded: an HS256 secret for this run only.
fn new_secret() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| invalid("no randomness available".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The benchmark's token: rider 4242, a member allowed to create items.
fn mint(secret: &str) -> io::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| invalid(e.to_string()))?
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(KID.to_string());
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": SUBJECT,
        "role": "member",
        "scope": "profile:read items:write",
        "iat": now,
        "nbf": now,
        "exp": now + 24 * 3600,
        "jti": format!("bench-{}", &new_secret()?[..16]),
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| invalid(e.to_string()))
}

/// Write a secret readable by its owner only.
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

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_authz_spec_edits_all_apply() {
        let spec = authz_spec(BENCH_SPEC).unwrap();
        assert_eq!(spec.matches("security: [{bearer: []}]").count(), 2);
        assert!(spec.contains("x-rampart-owner: /id"));
        assert!(spec.contains("x-rampart-visibility: owner"));
        assert!(!spec.contains("security: []"));
    }

    #[test]
    fn secrets_differ_per_run() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
