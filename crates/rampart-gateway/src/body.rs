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
pub struct JsonError(pub String);

/// Parse JSON strictly: no duplicate keys, depth at most `max_depth`, no trailing data.
pub fn parse_json_strict(bytes: &[u8], max_depth: u32) -> Result<Value, JsonError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(JsonError("a byte order mark is not allowed in JSON".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        depth: 0,
        max: max_depth,
    }
    .deserialize(&mut de)
    .map_err(|e| JsonError(clean(&e)))?;
    de.end().map_err(|e| JsonError(clean(&e)))?;
    Ok(value)
}

fn clean(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let cut = s.find(" at line ").unwrap_or(s.len());
    format!("{} (line {}, column {})", &s[..cut], e.line(), e.column())
}

struct Strict {
    depth: u32,
    max: u32,
}

impl Strict {
    fn deeper<E: serde::de::Error>(&self) -> Result<Strict, E> {
        if self.depth >= self.max {
            return Err(E::custom(format!(
                "nesting deeper than {} levels",
                self.max
            )));
        }
        Ok(Strict {
            depth: self.depth + 1,
            max: self.max,
        })
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
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.deeper()?)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
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
        assert!(parse_json_strict(br#"{"role":"member","role":"admin"}"#, 8).is_err());
        let e = parse_json_strict(br#"{"a":[{"x":1,"x":2}]}"#, 8).unwrap_err();
        assert!(e.0.contains("duplicate key \"x\""), "{e:?}");
    }

    #[test]
    fn depth_bom_trailing_data_and_bad_utf8_are_refused() {
        let deep = "[".repeat(10) + &"]".repeat(10);
        assert!(parse_json_strict(deep.as_bytes(), 5).is_err());
        assert!(parse_json_strict(deep.as_bytes(), 10).is_ok());
        assert!(parse_json_strict(b"\xEF\xBB\xBF{}", 8).is_err());
        assert!(parse_json_strict(b"{} {}", 8).is_err());
        assert!(parse_json_strict(b"{\"a\":\"\xff\"}", 8).is_err());
        assert!(parse_json_strict(b"{\"a\":1e999}", 8).is_err());
        assert!(parse_json_strict(b"{\"a\":", 8).is_err());
    }

    #[test]
    fn ordinary_json_parses() {
        let v = parse_json_strict(br#"{"a":[1,2.5,"x",null,true]}"#, 8).unwrap();
        assert_eq!(v["a"][1], 2.5);
    }
}
