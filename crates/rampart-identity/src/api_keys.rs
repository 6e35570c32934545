//! API keys: stored as SHA-256 hashes, looked up in constant time, never
//! printed.
//!
//! Why a plain SHA-256 and not a password hash (Argon2, bcrypt)? Password
//! hashes are slow on purpose because passwords have little entropy and can
//! be guessed. API keys here are 32 random bytes ([`generate_api_key`]):
//! nobody can enumerate 2^256 candidates however fast the hash, so a slow
//! hash would only add milliseconds to every request. What the hash buys is
//! that a leaked key file (or a backup of it) grants nothing.
//!
//! The file looks like:
//!
//! ```yaml
//! keys:
//!   - id: billing-batch          # named in logs instead of the key
//!     hash: "sha256:3f1c...e9"   # hash_api_key(key)
//!     subject: svc-billing       # the principal's id
//!     role: service              # optional
//!     scopes: [invoices:read]    # optional
//! ```

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Map;
use serde_saphyr::Spanned;

use crate::error::IdentityError;
use crate::principal::{Principal, PrincipalKind};

const HASH_PREFIX: &str = "sha256:";

/// Hash an API key the way the API key file stores it: `sha256:<64 hex>`.
/// Run it once when issuing a key and put the result in the file; the key
/// itself goes to the client and nowhere else.
pub fn hash_api_key(key: &str) -> String {
    let digest = sha256(key.as_bytes());
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// A new API key: 32 bytes from the operating system's CSPRNG (via
/// aws-lc-rs), base64url without padding, prefixed `rk_` so that secret
/// scanners and humans can recognize a Rampart key when one leaks.
pub fn generate_api_key() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG failing is not a condition a caller can handle; every
    // TLS handshake in the process would fail the same way.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random number generator failed");
    format!("rk_{}", URL_SAFE_NO_PAD.encode(bytes))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref());
    out
}

/// Parse `sha256:<64 hex digits>` (either case).
fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix(HASH_PREFIX)?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        let (hi, lo) = (digit(pair[0])?, digit(pair[1])?);
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keys: Vec<Spanned<KeyEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    hash: String,
    subject: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// One API key, as loaded.
pub(crate) struct ApiKey {
    id: String,
    hash: [u8; 32],
    subject: String,
    role: Option<String>,
    scopes: Vec<String>,
}

/// By hand, so that neither the hash nor anything derived from it can reach
/// a log through `{:?}`.
impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("hash", &"[redacted]")
            .field("subject", &self.subject)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ApiKey {
    fn principal(&self) -> Principal {
        Principal {
            kind: PrincipalKind::ApiKey {
                key_id: self.id.clone(),
            },
            id: self.subject.clone(),
            roles: self.role.iter().cloned().collect(),
            scopes: self.scopes.clone(),
            claims: Map::new(),
            token_id: None,
            expires_at: None,
        }
    }
}

/// All configured API keys.
#[derive(Debug, Default)]
pub(crate) struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl ApiKeys {
    /// Load the API key file at `path`.
    pub(crate) fn load(path: &Path) -> Result<ApiKeys, IdentityError> {
        let err = |line: Option<u64>, reason: String| IdentityError::ApiKeyFile {
            path: path.to_path_buf(),
            line: line
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| *l > 0),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| IdentityError::ReadFile {
            what: "API key file",
            path: path.to_path_buf(),
            source,
        })?;
        let file: KeyFile = serde_saphyr::from_str(&text)
            .map_err(|e| err(e.location().map(|l| l.line()), yaml_reason(&e)))?;
        let mut keys: Vec<ApiKey> = Vec::with_capacity(file.keys.len());
        for entry in file.keys {
            let line = Some(entry.referenced.line());
            let e = entry.value;
            if e.id.is_empty() || e.subject.is_empty() {
                return Err(err(line, "`id` and `subject` must not be empty".into()));
            }
            // The message never repeats the value: it is a hash of a secret.
            let hash = parse_hash(&e.hash).ok_or_else(|| {
                err(
                    line,
                    format!("key {}: `hash` must be \"sha256:\" and 64 hex digits", e.id),
                )
            })?;
            if let Some(other) = keys.iter().find(|k| k.id == e.id) {
                return Err(err(line, format!("key id {} appears twice", other.id)));
            }
            if let Some(other) = keys.iter().find(|k| k.hash == hash) {
                return Err(err(
                    line,
                    format!("key {} has the same hash as key {}", e.id, other.id),
                ));
            }
            keys.push(ApiKey {
                id: e.id,
                hash,
                subject: e.subject,
                role: e.role.filter(|r| !r.is_empty()),
                scopes: e.scopes,
            });
        }
        Ok(ApiKeys { keys })
    }

    /// How many keys are loaded.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The principal of the key whose hash matches `presented`'s.
    ///
    /// Every stored hash is compared, with a constant-time comparison and no
    /// early exit, so the time taken says nothing about how many bytes of
    /// which stored hash matched, nor where in the file a match is. That is
    /// O(keys) per call, about 20 ns per key: fine for the hundreds of keys
    /// a gateway typically holds.
    pub(crate) fn verify(&self, presented: &str) -> Option<Principal> {
        let hash = sha256(presented.as_bytes());
        let mut found: Option<&ApiKey> = None;
        for key in &self.keys {
            if same_hash(&key.hash, &hash) {
                found = Some(key);
            }
        }
        found.map(ApiKey::principal)
    }
}

/// The one place stored hashes are compared: in constant time.
fn same_hash(stored: &[u8; 32], presented: &[u8; 32]) -> bool {
    #[cfg(test)]
    tests::COMPARISONS.with(|n| n.set(n.get() + 1));
    aws_lc_rs::constant_time::verify_slices_are_equal(stored, presented).is_ok()
}

/// The cause of a YAML error without serde-saphyr's source snippet, which
/// could quote a hash.
fn yaml_reason(err: &serde_saphyr::Error) -> String {
    let mut inner = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let text = inner.to_string();
    // Keep the first line; location is reported separately.
    text.lines().next().unwrap_or("invalid YAML").to_owned()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    thread_local! {
        /// How many hashes [`same_hash`] compared on this thread.
        pub(super) static COMPARISONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn hash_format_is_sha256_prefix_and_64_lowercase_hex() {
        // SHA-256("abc"), from FIPS 180-2.
        assert_eq!(
            hash_api_key("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(&hash_api_key("abc")), Some(sha256(b"abc")));
        let upper = hash_api_key("abc")
            .to_uppercase()
            .replace("SHA256:", "sha256:");
        assert_eq!(parse_hash(&upper), Some(sha256(b"abc")));
        assert_eq!(parse_hash("sha256:abcd"), None);
        assert_eq!(parse_hash(&format!("md5:{}", "0".repeat(64))), None);
        assert_eq!(parse_hash(&format!("sha256:{}", "g".repeat(64))), None);
    }

    #[test]
    fn generated_keys_are_prefixed_random_and_43_chars_of_base64url() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        let body = a.strip_prefix("rk_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
    }

    #[test]
    fn lookup_finds_the_right_key_and_refuses_others() {
        let (alice, bob) = (generate_api_key(), generate_api_key());
        let f = file(&format!(
            "keys:\n  - id: a\n    hash: \"{}\"\n    subject: alice\n    role: admin\n    scopes: [read, write]\n  - id: b\n    hash: \"{}\"\n    subject: bob\n",
            hash_api_key(&alice),
            hash_api_key(&bob)
        ));
        let keys = ApiKeys::load(f.path()).unwrap();
        let p = keys.verify(&alice).unwrap();
        assert_eq!(p.id, "alice");
        assert_eq!(p.kind, PrincipalKind::ApiKey { key_id: "a".into() });
        assert_eq!(p.roles, ["admin"]);
        assert_eq!(p.scopes, ["read", "write"]);
        let p = keys.verify(&bob).unwrap();
        assert_eq!((p.id.as_str(), p.roles.len()), ("bob", 0));
        assert!(keys.verify(&generate_api_key()).is_none());
        assert!(
            keys.verify(&hash_api_key(&alice)).is_none(),
            "the hash is not the key"
        );
    }

    #[test]
    fn lookup_compares_every_stored_hash_wherever_the_match_is() {
        let keys: Vec<String> = (0..50).map(|_| generate_api_key()).collect();
        let mut yaml = String::from("keys:\n");
        for (i, k) in keys.iter().enumerate() {
            yaml.push_str(&format!(
                "  - {{id: k{i}, hash: \"{}\", subject: s{i}}}\n",
                hash_api_key(k)
            ));
        }
        let f = file(&yaml);
        let loaded = ApiKeys::load(f.path()).unwrap();
        let first = keys[0].clone();
        let last = keys[49].clone();
        for (presented, subject) in [
            (first, Some("s0")),
            (last, Some("s49")),
            (generate_api_key(), None),
        ] {
            COMPARISONS.with(|n| n.set(0));
            let found = loaded.verify(&presented);
            assert_eq!(found.map(|p| p.id).as_deref(), subject);
            // No early exit: the work is the same for the first key, the
            // last key and no key at all.
            assert_eq!(COMPARISONS.with(std::cell::Cell::get), 50);
        }
    }

    #[test]
    fn debug_never_shows_the_key_or_its_hash() {
        let key = generate_api_key();
        let hash = hash_api_key(&key);
        let f = file(&format!(
            "keys:\n  - id: a\n    hash: \"{hash}\"\n    subject: alice\n"
        ));
        let keys = ApiKeys::load(f.path()).unwrap();
        let shown = format!("{keys:?} {keys:#?}");
        assert!(shown.contains("[redacted]"));
        let hex = hash.trim_start_matches(HASH_PREFIX);
        assert!(!shown.contains(hex) && !shown.contains(&key));
        // Nor the raw bytes, in Debug's array form.
        let bytes = format!("{:?}", sha256(key.as_bytes()));
        assert!(!shown.contains(bytes.trim_matches(|c| c == '[' || c == ']')));
    }

    #[test]
    fn file_errors_name_the_line_and_never_the_hash() {
        let bad = format!("sha256:{}", "z".repeat(64));
        let f = file(&format!(
            "keys:\n  - id: a\n    hash: \"{}\"\n    subject: s\n  - id: b\n    hash: \"{bad}\"\n    subject: s\n",
            hash_api_key("x")
        ));
        let e = ApiKeys::load(f.path()).unwrap_err().to_string();
        assert!(e.contains("line 5"), "{e}");
        assert!(e.contains("key b") && !e.contains(&bad), "{e}");

        let f = file("keys:\n  - id: a\n    hash: x\n    subject: s\n    colour: red\n");
        let e = ApiKeys::load(f.path()).unwrap_err().to_string();
        assert!(e.contains("colour") && e.contains("line"), "{e}");

        let dup = hash_api_key("same");
        let f = file(&format!(
            "keys:\n  - {{id: a, hash: \"{dup}\", subject: s}}\n  - {{id: b, hash: \"{dup}\", subject: t}}\n"
        ));
        let e = ApiKeys::load(f.path()).unwrap_err().to_string();
        assert!(e.contains("same hash") && !e.contains(&dup), "{e}");
    }
}
