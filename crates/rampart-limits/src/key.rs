//! What a request is counted as: the values of a limit's key parts.
//!
//! A key is encoded as a sequence of `(tag, length, bytes)` parts, so no
//! choice of values can make two different keys encode alike (`a` + `bc` is
//! not `ab` + `c`, and a header value cannot pose as a claim). The encoding is
//! fed either to a keyed SipHash (in process: a secret per-process key, so a
//! client cannot craft a value that collides with someone else's bucket) or
//! to SHA-256 (Redis: every instance must derive the same key name).

use std::hash::Hasher;
use std::net::IpAddr;

use http::HeaderMap;
use rampart_config::LimitKey;
use serde_json::{Map, Value};

/// The request facts a key may be made of, as the gateway knows them after
/// authentication. Borrowed: building one costs nothing.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    /// The authenticated principal's id; `None` (or empty) for anonymous callers.
    pub principal: Option<&'a str>,
    /// The id of the API key used, when the caller authenticated with one.
    pub api_key: Option<&'a str>,
    /// The client's address, as [`crate::client_ip`] resolved it.
    pub client_ip: IpAddr,
    /// The API's name (from the config).
    pub api: &'a str,
    /// The operation's `operationId`.
    pub operation: &'a str,
    /// The verified token's claims, if any.
    pub claims: Option<&'a Map<String, Value>>,
    /// The request headers.
    pub headers: Option<&'a HeaderMap>,
    /// The parsed JSON request body, once read (see [`crate::Limiter::check_body`]).
    pub body: Option<&'a Value>,
}

impl<'a> KeyContext<'a> {
    /// A context with only what every request has: address, API, operation.
    pub fn new(client_ip: IpAddr, api: &'a str, operation: &'a str) -> Self {
        KeyContext {
            principal: None,
            api_key: None,
            client_ip,
            api,
            operation,
            claims: None,
            headers: None,
            body: None,
        }
    }
}

/// Receives the parts of an encoded key.
pub(crate) trait KeySink {
    /// One part: a tag naming its kind, then its bytes.
    fn part(&mut self, tag: u8, bytes: &[u8]);
}

/// Feeds a key to a [`Hasher`] (in-process buckets).
pub(crate) struct HashSink<H: Hasher>(pub H);

impl<H: Hasher> KeySink for HashSink<H> {
    fn part(&mut self, tag: u8, bytes: &[u8]) {
        self.0.write_u8(tag);
        self.0.write_usize(bytes.len());
        self.0.write(bytes);
    }
}

/// Collects a key's encoding (Redis buckets hash it with SHA-256).
#[derive(Default)]
pub(crate) struct BytesSink(pub Vec<u8>);

impl KeySink for BytesSink {
    fn part(&mut self, tag: u8, bytes: &[u8]) {
        self.0.push(tag);
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(bytes);
    }
}

/// Writes the key of a limit keyed on `parts` for `ctx` into `sink`.
/// Returns `false`, having written a prefix only, when a part is missing
/// (anonymous caller, absent header or claim): the limit does not apply.
pub(crate) fn compose(
    parts: &[LimitKey],
    ctx: &KeyContext<'_>,
    ipv6_prefix: u8,
    sink: &mut impl KeySink,
) -> bool {
    for part in parts {
        let present = match part {
            LimitKey::Principal => text(b'p', ctx.principal, sink),
            LimitKey::ApiKey => text(b'k', ctx.api_key, sink),
            LimitKey::Ip => {
                match grouped(ctx.client_ip, ipv6_prefix) {
                    IpAddr::V4(v4) => sink.part(b'4', &v4.octets()),
                    IpAddr::V6(v6) => sink.part(b'6', &v6.octets()),
                }
                true
            }
            LimitKey::Api => text(b'a', Some(ctx.api), sink),
            LimitKey::Operation => {
                sink.part(b'a', ctx.api.as_bytes());
                text(b'o', Some(ctx.operation), sink)
            }
            LimitKey::Claim(name) => {
                json(b'c', ctx.claims.and_then(|claims| claims.get(name)), sink)
            }
            LimitKey::Header(name) => {
                let mut any = false;
                if let Some(headers) = ctx.headers {
                    for value in headers.get_all(name.as_str()) {
                        sink.part(b'h', value.as_bytes());
                        any = true;
                    }
                }
                any
            }
            LimitKey::Body(pointer) => json(b'b', ctx.body.and_then(|b| b.pointer(pointer)), sink),
        };
        if !present {
            return false;
        }
    }
    true
}

fn text(tag: u8, value: Option<&str>, sink: &mut impl KeySink) -> bool {
    match value {
        Some(v) if !v.is_empty() => {
            sink.part(tag, v.as_bytes());
            true
        }
        _ => false,
    }
}

/// A JSON value as key material: strings as they are, other scalars and
/// structures as their JSON text; `null` or absent is missing.
fn json(tag: u8, value: Option<&Value>, sink: &mut impl KeySink) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => text(tag, Some(s.as_str()), sink),
        Some(Value::Bool(b)) => {
            sink.part(tag, if *b { b"true" } else { b"false" });
            true
        }
        Some(other) => {
            // Numbers, arrays, objects: their JSON text (allocates; rare).
            sink.part(tag, other.to_string().as_bytes());
            true
        }
    }
}

/// The address a client is counted under: IPv4 as is (IPv4-mapped IPv6
/// included), IPv6 truncated to its `/prefix` network, since one subscriber
/// usually holds a whole /64 and could otherwise rotate through it.
pub fn grouped(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - keep).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(parts: &[LimitKey], ctx: &KeyContext<'_>) -> Option<Vec<u8>> {
        let mut sink = BytesSink::default();
        compose(parts, ctx, 64, &mut sink).then_some(sink.0)
    }

    fn ctx() -> KeyContext<'static> {
        KeyContext::new("192.0.2.1".parse().expect("ip"), "riders", "login")
    }

    #[test]
    fn parts_are_unambiguous() {
        let parts = [LimitKey::Principal, LimitKey::ApiKey];
        let a = KeyContext {
            principal: Some("ab"),
            api_key: Some("c"),
            ..ctx()
        };
        let b = KeyContext {
            principal: Some("a"),
            api_key: Some("bc"),
            ..ctx()
        };
        assert_ne!(encode(&parts, &a), encode(&parts, &b));
        // A claim and a header with the same text are different keys.
        let claims = json!({"tenant": "t1"});
        let mut headers = HeaderMap::new();
        headers.insert("x-tenant", "t1".parse().expect("value"));
        let by_claim = KeyContext {
            claims: claims.as_object(),
            ..ctx()
        };
        let by_header = KeyContext {
            headers: Some(&headers),
            ..ctx()
        };
        assert_ne!(
            encode(&[LimitKey::Claim("tenant".into())], &by_claim),
            encode(&[LimitKey::Header("x-tenant".into())], &by_header)
        );
    }

    #[test]
    fn missing_parts_make_the_limit_not_apply() {
        let anonymous = ctx();
        assert_eq!(encode(&[LimitKey::Principal], &anonymous), None);
        let empty = KeyContext {
            principal: Some(""),
            ..ctx()
        };
        assert_eq!(encode(&[LimitKey::Principal], &empty), None);
        assert_eq!(encode(&[LimitKey::Header("x-a".into())], &ctx()), None);
        let body = json!({"username": null});
        let null = KeyContext {
            body: Some(&body),
            ..ctx()
        };
        assert_eq!(encode(&[LimitKey::Body("/username".into())], &null), None);
        assert!(encode(&[LimitKey::Ip, LimitKey::Operation], &ctx()).is_some());
    }

    #[test]
    fn operation_keys_include_the_api() {
        let other_api = KeyContext {
            api: "drivers",
            ..ctx()
        };
        assert_ne!(
            encode(&[LimitKey::Operation], &ctx()),
            encode(&[LimitKey::Operation], &other_api)
        );
    }

    #[test]
    fn body_values_by_pointer() {
        let body = json!({"user": {"name": "ann", "id": 7}});
        let with = KeyContext {
            body: Some(&body),
            ..ctx()
        };
        assert!(encode(&[LimitKey::Body("/user/name".into())], &with).is_some());
        assert!(encode(&[LimitKey::Body("/user/id".into())], &with).is_some());
        assert_eq!(encode(&[LimitKey::Body("/nope".into())], &with), None);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(grouped(a, 64), grouped(b, 64));
        assert_ne!(grouped(a, 64), grouped(c, 64));
        assert_ne!(grouped(a, 128), grouped(b, 128));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(
            grouped(mapped, 64),
            "192.0.2.1".parse::<IpAddr>().expect("ip")
        );
    }
}
