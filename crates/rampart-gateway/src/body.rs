//! Bodies: the one bounded reader every phase uses, the strict JSON parser,
//! and the body type the gateway returns.
//!
//! A body is only buffered when a phase needs to read it (JSON validation),
//! and never past its cap; everything else streams. JSON is parsed strictly:
//! duplicate object keys are refused, because "first wins" in one parser and
//! "last wins" in another is exactly the differential an attacker uses to get
//! `{"role":"member","role":"admin"}` past a gateway. Nesting depth is capped
//! so a hostile body cannot exhaust the stack.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Errors bodies can carry through the proxy.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response the gateway produces.
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// A complete body from bytes.
pub fn full(bytes: Bytes) -> BoxBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> BoxBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    /// More than the limit arrived. Carries what was read so far.
    TooLarge(Bytes),
    /// The peer took longer than the timeout.
    Timeout,
    /// The connection failed mid-body.
    Io(String),
}

/// Read a whole body, at most `limit` bytes, within `timeout`. On
/// [`ReadError::TooLarge`] the body is left positioned after what was read, so
/// a caller in monitor mode can still pass everything on (see [`prepend`]).
pub async fn read_bounded<B>(
    body: &mut B,
    limit: u64,
    timeout: Duration,
) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: fmt::Display,
{
    // Reserve what the peer announced (Content-Length), within the limit, so
    // the buffer is allocated once.
    let hint = body.size_hint().lower().min(limit);
    let fut = async {
        let mut buf = BytesMut::with_capacity(usize::try_from(hint).unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ReadError::Io(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if (buf.len() + data.len()) as u64 > limit {
                    buf.extend_from_slice(&data);
                    return Err(ReadError::TooLarge(buf.freeze()));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ReadError::Timeout),
    }
}

/// The error a [`with_deadline`] body ends with when its time is up.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

/// `body`, streamed, but ended with [`BodyTimeout`] if it is not complete
/// within `timeout` from now.
///
/// Bodies that are not buffered (non-JSON media types, monitor and off
/// modes) are streamed to the upstream as they arrive; without a deadline a
/// client trickling one byte at a time (slow POST) would hold a client
/// connection and an upstream connection for as long as it liked. With it,
/// the upstream request fails, and the exchange ends with a 408.
pub fn with_deadline<B>(body: B, timeout: Duration) -> BoxBody
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + timeout;
    let frames = Box::pin(http_body_util::BodyStream::new(body.map_err(Into::into)));
    let limited = futures_util::stream::unfold(Some(frames), move |state| async move {
        let mut frames = state?;
        match tokio::time::timeout_at(deadline, frames.next()).await {
            Ok(Some(frame)) => Some((frame, Some(frames))),
            Ok(None) => None,
            Err(_) => Some((Err(BoxError::from(BodyTimeout)), None)),
        }
    });
    BodyExt::boxed(http_body_util::StreamBody::new(limited))
}

/// A body that yields `prefix` and then the rest of `body`.
pub fn prepend<B>(prefix: Bytes, body: B) -> BoxBody
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    use futures_util::StreamExt;
    let head =
        futures_util::stream::once(
            async move { Ok::<_, BoxError>(http_body::Frame::data(prefix)) },
        );
    let rest = http_body_util::BodyStream::new(body.map_err(Into::into));
    BodyExt::boxed(http_body_util::StreamBody::new(head.chain(rest)))
}

/// A JSON parse failure, with a message fit for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What is wrong, with line and column.
    pub message: String,
    /// Whether a cap (depth, array length, string length) was exceeded,
    /// rather than the JSON being malformed.
    pub over_cap: bool,
}

/// The caps a JSON body is parsed under. They hold while parsing, so an
/// oversized array or string is refused before it is built in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Deepest nesting of arrays and objects.
    pub max_depth: u32,
    /// Most elements of an array, or members of an object.
    pub max_items: usize,
    /// Longest string (keys included), in bytes.
    pub max_string_bytes: usize,
}

impl JsonLimits {
    /// The caps in `limits`.
    pub fn from_config(limits: &rampart_config::Limits) -> Self {
        JsonLimits {
            max_depth: limits.max_json_depth,
            max_items: limits.max_json_array_items,
            max_string_bytes: limits.max_json_string_bytes,
        }
    }

    /// Only a depth cap (tests and tools).
    pub fn depth(max_depth: u32) -> Self {
        JsonLimits {
            max_depth,
            max_items: usize::MAX,
            max_string_bytes: usize::MAX,
        }
    }
}

/// Marks the parse errors that come from a cap, so they are told apart
/// from malformed JSON (413 rather than 400).
const CAP_MARK: &str = "[cap] ";

/// Parse JSON strictly: no duplicate keys, no trailing data, and within
/// the caps of `limits`.
pub fn parse_json_strict(bytes: &[u8], limits: &JsonLimits) -> Result<Value, JsonError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(JsonError {
            message: "a byte order mark is not allowed in JSON".into(),
            over_cap: false,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        depth: 0,
        limits: *limits,
    }
    .deserialize(&mut de)
    .map_err(|e| error(&e))?;
    de.end().map_err(|e| error(&e))?;
    Ok(value)
}

fn error(e: &serde_json::Error) -> JsonError {
    let s = e.to_string();
    let cut = s.find(" at line ").unwrap_or(s.len());
    let text = &s[..cut];
    let (over_cap, text) = match text.strip_prefix(CAP_MARK) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    JsonError {
        message: format!("{text} (line {}, column {})", e.line(), e.column()),
        over_cap,
    }
}

struct Strict {
    depth: u32,
    limits: JsonLimits,
}

impl Strict {
    fn deeper<E: serde::de::Error>(&self) -> Result<Strict, E> {
        if self.depth >= self.limits.max_depth {
            return Err(E::custom(format!(
                "{CAP_MARK}nesting deeper than {} levels",
                self.limits.max_depth
            )));
        }
        Ok(Strict {
            depth: self.depth + 1,
            limits: self.limits,
        })
    }

    fn string<E: serde::de::Error>(&self, len: usize) -> Result<(), E> {
        if len > self.limits.max_string_bytes {
            return Err(E::custom(format!(
                "{CAP_MARK}a string longer than {} bytes",
                self.limits.max_string_bytes
            )));
        }
        Ok(())
    }

    fn items<E: serde::de::Error>(&self, n: usize) -> Result<(), E> {
        if n > self.limits.max_items {
            return Err(E::custom(format!(
                "{CAP_MARK}more than {} items in one array or object",
                self.limits.max_items
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v.len())?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.string(v.len())?;
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.deeper()?)? {
            out.push(v);
            self.items(out.len())?;
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.string(k.len())?;
            self.items(out.len() + 1)?;
            if out.contains_key(&k) {
                let shown: String = k.chars().take(64).collect();
                return Err(A::Error::custom(format!("duplicate key \"{shown}\"")));
            }
            let v = map.next_value_seed(self.deeper()?)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(
            parse_json_strict(
                br#"{"role":"member","role":"admin"}"#,
                &JsonLimits::depth(8)
            )
            .is_err()
        );
        let e = parse_json_strict(br#"{"a":[{"x":1,"x":2}]}"#, &JsonLimits::depth(8)).unwrap_err();
        assert!(e.message.contains("duplicate key \"x\""), "{e:?}");
        assert!(!e.over_cap);
    }

    #[test]
    fn depth_bom_trailing_data_and_bad_utf8_are_refused() {
        let deep = "[".repeat(10) + &"]".repeat(10);
        assert!(parse_json_strict(deep.as_bytes(), &JsonLimits::depth(5)).is_err());
        assert!(parse_json_strict(deep.as_bytes(), &JsonLimits::depth(10)).is_ok());
        assert!(parse_json_strict(b"\xEF\xBB\xBF{}", &JsonLimits::depth(8)).is_err());
        assert!(parse_json_strict(b"{} {}", &JsonLimits::depth(8)).is_err());
        assert!(parse_json_strict(b"{\"a\":\"\xff\"}", &JsonLimits::depth(8)).is_err());
        assert!(parse_json_strict(b"{\"a\":1e999}", &JsonLimits::depth(8)).is_err());
        assert!(parse_json_strict(b"{\"a\":", &JsonLimits::depth(8)).is_err());
    }

    #[test]
    fn array_object_and_string_caps_hold_just_over_and_not_at() {
        let caps = JsonLimits {
            max_depth: 8,
            max_items: 3,
            max_string_bytes: 5,
        };
        assert!(parse_json_strict(b"[1,2,3]", &caps).is_ok());
        let e = parse_json_strict(b"[1,2,3,4]", &caps).unwrap_err();
        assert!(
            e.over_cap && e.message.contains("more than 3 items"),
            "{e:?}"
        );
        assert!(parse_json_strict(br#"{"a":1,"b":2,"c":3}"#, &caps).is_ok());
        assert!(
            parse_json_strict(br#"{"a":1,"b":2,"c":3,"d":4}"#, &caps)
                .unwrap_err()
                .over_cap
        );
        assert!(parse_json_strict(br#"["12345"]"#, &caps).is_ok());
        let e = parse_json_strict(br#"["123456"]"#, &caps).unwrap_err();
        assert!(
            e.over_cap && e.message.contains("longer than 5 bytes"),
            "{e:?}"
        );
        assert!(
            parse_json_strict(br#"{"abcdef":1}"#, &caps)
                .unwrap_err()
                .over_cap,
            "keys count too"
        );
        // Escapes are measured decoded.
        assert!(parse_json_strict(br#"["\u0041\u0042"]"#, &caps).is_ok());
        let deep = "[".repeat(9) + &"]".repeat(9);
        assert!(
            parse_json_strict(deep.as_bytes(), &caps)
                .unwrap_err()
                .over_cap
        );
        assert!(!parse_json_strict(b"[1,", &caps).unwrap_err().over_cap);
    }

    #[test]
    fn ordinary_json_parses() {
        let v =
            parse_json_strict(br#"{"a":[1,2.5,"x",null,true]}"#, &JsonLimits::depth(8)).unwrap();
        assert_eq!(v["a"][1], 2.5);
    }
}
