//! One request and its response, as evidence.
//!
//! Credentials never enter an [`Exchange`]: the client records which
//! identity sent the request (`alice`), and the reproduction prints the
//! shell variable `$ALICE` where the token would be. Forged tokens made by
//! the JWT checks are recorded in full: they are the evidence, and they
//! hold no secret of the target's.

use serde::Serialize;
use serde_json::Value;

/// How a request was authenticated, without the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Auth {
    /// No credentials at all.
    None,
    /// An identity's own credentials: the header they go in and the identity's name.
    Identity {
        /// The identity's name (`alice`).
        name: String,
        /// The header name (`authorization`, `x-api-key`).
        header: String,
        /// Prefix before the credential (`Bearer `), or empty.
        prefix: String,
    },
    /// A token the scanner forged (alg none, tampered, expired...): not a secret.
    Forged {
        /// The full token.
        token: String,
    },
}

/// A request as sent and the response as received (body capped).
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// Method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Credentials used.
    pub auth: Auth,
    /// Extra request headers (never credentials).
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Response status (0 when the request failed at the transport level).
    pub status: u16,
    /// Response headers worth keeping as evidence (lowercase names).
    pub response_headers: Vec<(String, String)>,
    /// The response body, cut at [`BODY_EVIDENCE_LIMIT`] characters.
    pub response_body: String,
    /// The response body parsed as JSON, when it is JSON.
    #[serde(skip)]
    pub json: Option<Value>,
    /// Wall time of the exchange, in milliseconds.
    pub elapsed_ms: u64,
}

/// How much of a response body is kept as evidence.
pub const BODY_EVIDENCE_LIMIT: usize = 2048;

impl Exchange {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A response header's value (names compare lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A copy-pasteable curl command. Identities appear as shell variables
    /// (`$ALICE`), so a report can be shared without sharing a token.
    pub fn curl(&self) -> String {
        let mut out = String::from("curl -si");
        if self.method != "GET" {
            out.push_str(" -X ");
            out.push_str(&self.method);
        }
        match &self.auth {
            Auth::None => {}
            Auth::Identity {
                name,
                header,
                prefix,
            } => {
                let var = name.to_ascii_uppercase().replace(['-', '.'], "_");
                out.push_str(" -H ");
                out.push_str(&double_quote(&format!("{header}: {prefix}${var}")));
            }
            Auth::Forged { token } => {
                out.push_str(" -H ");
                out.push_str(&single_quote(&format!("authorization: Bearer {token}")));
            }
        }
        for (name, value) in &self.headers {
            out.push_str(" -H ");
            out.push_str(&single_quote(&format!("{name}: {value}")));
        }
        if let Some(body) = &self.body {
            out.push_str(" --data-raw ");
            out.push_str(&single_quote(body));
        }
        out.push(' ');
        out.push_str(&single_quote(&self.url));
        out
    }
}

/// Quote for `sh` so nothing expands.
fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quote for `sh` so `$VAR` expands and nothing else does.
fn double_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(auth: Auth) -> Exchange {
        Exchange {
            method: "PATCH".into(),
            url: "http://127.0.0.1:1/api/riders/2".into(),
            auth,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(r#"{"display_name":"it's"}"#.into()),
            status: 200,
            response_headers: vec![],
            response_body: String::new(),
            json: None,
            elapsed_ms: 1,
        }
    }

    #[test]
    fn curl_names_the_identity_never_its_token() {
        let c = exchange(Auth::Identity {
            name: "bob".into(),
            header: "authorization".into(),
            prefix: "Bearer ".into(),
        })
        .curl();
        assert_eq!(
            c,
            "curl -si -X PATCH -H \"authorization: Bearer $BOB\" -H 'content-type: application/json' --data-raw '{\"display_name\":\"it'\\''s\"}' 'http://127.0.0.1:1/api/riders/2'"
        );
    }

    #[test]
    fn curl_without_credentials_sends_none() {
        let c = exchange(Auth::None).curl();
        assert!(!c.contains("authorization"), "{c}");
    }
}
