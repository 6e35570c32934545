//! What comes back: responses read whole, RFC 9457 problem checks, and the
//! security log's events.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Version};
use serde_json::Value;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Protocol version.
    pub version: Version,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

/// Send a reqwest request and read the whole response.
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let version = resp.version();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap();
    Answer {
        status,
        version,
        headers,
        body,
    }
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The gateway's request id (`x-request-id`).
    pub fn request_id(&self) -> &str {
        self.header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id header: {self:?}"))
    }

    /// Assert an RFC 9457 problem response with this status and deciding
    /// rule, with every member the gateway promises, and return its body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, rule: &str) -> Value {
        assert_eq!(self.status, status, "status of {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert_eq!(p["rule"], rule, "{p}");
        assert!(
            p["type"].as_str().is_some_and(|t| !t.is_empty()),
            "type: {p}"
        );
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "title: {p}"
        );
        assert!(p["detail"].is_string(), "detail: {p}");
        assert_eq!(p["request_id"], self.request_id(), "{p}");
        p
    }
}

pub(super) fn parse_http1_response(bytes: &[u8]) -> Answer {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut rest = &bytes[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = match parts.next() {
        Some("HTTP/1.0") => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size_text = std::str::from_utf8(&rest[..end]).unwrap();
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        Bytes::from(out)
    } else {
        Bytes::copy_from_slice(rest)
    };
    Answer {
        status,
        version,
        headers,
        body,
    }
}

/// Every event the gateway wrote, in order.
#[derive(Debug)]
pub struct SecurityLog(pub Vec<Value>);

impl SecurityLog {
    /// The one event of the exchange `answer` ended (matched by request id).
    #[track_caller]
    pub fn of(&self, answer: &Answer) -> &Value {
        let id = answer.request_id();
        let events: Vec<&Value> = self.0.iter().filter(|e| e["request_id"] == id).collect();
        assert_eq!(
            events.len(),
            1,
            "expected one event for {id}: {:#?}",
            self.0
        );
        events[0]
    }

    /// Assert the exchange `answer` ended is logged with `decision` and that
    /// `rule` fired (pass `None` for "no rule fired").
    #[track_caller]
    pub fn assert(&self, answer: &Answer, decision: &str, rule: Option<&str>) -> &Value {
        let e = self.of(answer);
        assert_eq!(e["decision"], decision, "{e}");
        assert_eq!(e["status"], answer.status, "{e}");
        let rules = e["rules"].as_array().unwrap();
        match rule {
            Some(rule) => assert!(rules.iter().any(|r| r == rule), "{rule} not in {e}"),
            None => assert!(rules.is_empty(), "{e}"),
        }
        e
    }
}
