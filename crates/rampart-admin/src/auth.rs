//! Who may use the admin listener, and how a browser proves it.
//!
//! Two ways in, both rooted in the one admin token:
//!
//! - **API clients** send `Authorization: Bearer <token>`. A browser never
//!   attaches that header by itself, so these requests cannot be forged
//!   from another site and need no CSRF token.
//! - **The dashboard** trades the token for a session at `POST /login`. The
//!   session is a random 256-bit id in a cookie that is `HttpOnly` (scripts
//!   cannot read it), `SameSite=Strict` (other sites' pages do not send it),
//!   and `Secure` when the operator says the dashboard is reached over TLS.
//!   Every write made with the cookie must also carry the session's CSRF
//!   token in `X-CSRF-Token`, and is refused when the browser reports a
//!   cross-site origin: SameSite alone does not cover old browsers or
//!   sibling subdomains.
//!
//! Sessions are kept server-side (only a hash of the id), so logging out or
//! restarting ends them, and there are at most [`MAX_SESSIONS`] of them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The admin token. Its `Debug` never shows it.
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// Shortest admin token accepted.
pub const MIN_TOKEN_LEN: usize = 32;

impl Token {
    /// Wrap a token, refusing short ones.
    pub fn new(text: &str) -> Result<Token, String> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the admin token must be at least {MIN_TOKEN_LEN} characters"
            ));
        }
        Ok(Token(t.as_bytes().to_vec()))
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &[u8]) -> bool {
        ct_eq(&self.0, presented)
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The session cookie's name. The `__Host-` prefix (only when `Secure`)
/// pins it to this host and path `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-rampart_session"
    } else {
        "rampart_session"
    }
}

/// Most live sessions; the oldest is dropped past this.
pub const MAX_SESSIONS: usize = 256;

/// How long a session lives without use.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

struct Session {
    csrf: String,
    last_used: Instant,
}

/// Dashboard sessions, keyed by the SHA-256 of their id.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

/// A new session: the cookie value and the CSRF token.
pub struct NewSession {
    /// The session id (the cookie's value).
    pub id: String,
    /// The CSRF token writes must carry.
    pub csrf: String,
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "the system random source failed".to_owned())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn key(id: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, id.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

impl Sessions {
    /// Start a session.
    pub fn create(&self) -> Result<NewSession, String> {
        let id = random_token()?;
        let csrf = random_token()?;
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_used) < IDLE_TIMEOUT);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            key(&id),
            Session {
                csrf: csrf.clone(),
                last_used: now,
            },
        );
        Ok(NewSession { id, csrf })
    }

    /// The CSRF token of a live session, refreshing its idle timer. The
    /// lookup is by hash, so the id is never compared byte by byte.
    pub fn touch(&self, id: &str) -> Option<String> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let k = key(id);
        let now = Instant::now();
        match map.get_mut(&k) {
            Some(s) if now.duration_since(s.last_used) < IDLE_TIMEOUT => {
                s.last_used = now;
                Some(s.csrf.clone())
            }
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    /// End a session.
    pub fn end(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&key(id));
    }
}

/// The session id in a request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value that opens a session.
pub fn set_cookie(id: &str, secure: bool) -> Option<HeaderValue> {
    let secure_attr = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure_attr}",
        cookie_name(secure),
        IDLE_TIMEOUT.as_secs()
    ))
    .ok()
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "__Host-rampart_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("rampart_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The bearer token presented, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().as_bytes())
}

/// Whether the method changes state (and so needs CSRF protection).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser says this request came from another site.
///
/// `Sec-Fetch-Site` is authoritative where sent (every current browser);
/// otherwise an `Origin` that is not this host's is cross-site. A request
/// with neither header did not come from a modern browser's cross-site
/// form or script.
pub fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// Whether the presented CSRF token is the session's (constant time).
pub fn csrf_matches(expected: &str, headers: &HeaderMap) -> bool {
    headers
        .get("x-csrf-token")
        .map(|v| ct_eq(expected.as_bytes(), v.as_bytes()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_refused_and_debug_never_shows_one() {
        assert!(Token::new("short").is_err());
        let t = Token::new(&"x".repeat(40)).unwrap();
        assert_eq!(format!("{t:?}"), "Token(redacted)");
        assert!(t.matches("x".repeat(40).as_bytes()));
        assert!(!t.matches("x".repeat(39).as_bytes()));
        assert!(!t.matches("y".repeat(40).as_bytes()));
    }

    #[test]
    fn sessions_start_end_and_carry_their_csrf_token() {
        let s = Sessions::default();
        let a = s.create().unwrap();
        let b = s.create().unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.id.len(), 43, "256 bits, base64url");
        assert_eq!(s.touch(&a.id), Some(a.csrf.clone()));
        s.end(&a.id);
        assert_eq!(s.touch(&a.id), None);
        assert_eq!(s.touch("not-a-session"), None);
        assert_eq!(s.touch(&b.id), Some(b.csrf));
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::default();
        let first = s.create().unwrap();
        for _ in 0..MAX_SESSIONS {
            s.create().unwrap();
        }
        assert_eq!(s.touch(&first.id), None, "the oldest session was dropped");
        assert!(s.map.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_tls() {
        let plain = set_cookie("abc", false).unwrap();
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("rampart_session=abc;"));
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let tls = set_cookie("abc", true).unwrap();
        let tls = tls.to_str().unwrap();
        assert!(tls.starts_with("__Host-rampart_session=abc;"));
        assert!(tls.ends_with("; Secure"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rampart_session=xyz; b=2"),
        );
        assert_eq!(session_cookie(&h, false).as_deref(), Some("xyz"));
        assert_eq!(session_cookie(&h, true), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(
            !cross_site(&h),
            "no browser headers: not a browser's cross-site request"
        );
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9090"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9090"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&h), "Sec-Fetch-Site wins where sent");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&h), "a sibling subdomain is not this origin");
    }
}
