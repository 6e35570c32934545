//! Who a detection is about, and who is never flagged.
//!
//! Subjects are tracked by a keyed 64-bit hash of their kind and name,
//! not by the name itself: the tables hold no strings (so a tracked
//! subject costs a fixed, small amount), and the key, random per process,
//! means an attacker cannot choose names that collide or that pile into
//! one shard.

use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;

use rampart_config::{AllowEntry, IpNet};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A subject of detection, blocking and throttling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An authenticated principal.
    Principal(String),
    /// An API key, by id.
    ApiKey(String),
    /// A client address.
    Ip(IpAddr),
    /// A user name attempted at login.
    Username(String),
}

/// A borrowed [`Subject`], so lookups on the request path allocate nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRef<'a> {
    /// An authenticated principal.
    Principal(&'a str),
    /// An API key, by id.
    ApiKey(&'a str),
    /// A client address.
    Ip(IpAddr),
    /// A user name attempted at login.
    Username(&'a str),
}

impl Subject {
    /// The borrowed form.
    pub fn as_ref(&self) -> SubjectRef<'_> {
        match self {
            Subject::Principal(p) => SubjectRef::Principal(p),
            Subject::ApiKey(k) => SubjectRef::ApiKey(k),
            Subject::Ip(ip) => SubjectRef::Ip(*ip),
            Subject::Username(u) => SubjectRef::Username(u),
        }
    }
}

impl SubjectRef<'_> {
    /// The owned form.
    pub fn to_owned(self) -> Subject {
        match self {
            SubjectRef::Principal(p) => Subject::Principal(p.to_owned()),
            SubjectRef::ApiKey(k) => Subject::ApiKey(k.to_owned()),
            SubjectRef::Ip(ip) => Subject::Ip(ip),
            SubjectRef::Username(u) => Subject::Username(u.to_owned()),
        }
    }

    /// The subject's kind, as written before the colon.
    pub fn kind(self) -> &'static str {
        match self {
            SubjectRef::Principal(_) => "principal",
            SubjectRef::ApiKey(_) => "key",
            SubjectRef::Ip(_) => "ip",
            SubjectRef::Username(_) => "username",
        }
    }
}

impl fmt::Display for SubjectRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectRef::Principal(v) | SubjectRef::ApiKey(v) | SubjectRef::Username(v) => {
                write!(f, "{}:{v}", self.kind())
            }
            SubjectRef::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

impl fmt::Display for Subject {
    /// `principal:alice`, `key:ci`, `ip:192.0.2.1`, `username:bob`: the
    /// allowlist's syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Subject {
    type Err = String;

    /// Parses the [`Display`](fmt::Display) form (what an operator types to unblock).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<AllowEntry>()? {
            AllowEntry::Principal(p) => Ok(Subject::Principal(p)),
            AllowEntry::ApiKey(k) => Ok(Subject::ApiKey(k)),
            AllowEntry::Username(u) => Ok(Subject::Username(u)),
            AllowEntry::Ip(net) if net.prefix == if net.addr.is_ipv4() { 32 } else { 128 } => {
                Ok(Subject::Ip(net.addr))
            }
            AllowEntry::Ip(_) => Err("a subject is one address, not a network".to_owned()),
        }
    }
}

/// Hashes subjects with a per-process random key.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubjectHasher {
    state: std::collections::hash_map::RandomState,
}

impl SubjectHasher {
    pub(crate) fn subject(&self, subject: SubjectRef<'_>) -> u64 {
        match subject {
            SubjectRef::Principal(v) => self.state.hash_one((0u8, v)),
            SubjectRef::ApiKey(v) => self.state.hash_one((1u8, v)),
            SubjectRef::Ip(ip) => self.state.hash_one((2u8, canonical(ip))),
            SubjectRef::Username(v) => self.state.hash_one((3u8, v)),
        }
    }

    /// Hash of a string in a separate domain (operations, object ids, user names).
    pub(crate) fn item(&self, domain: u8, value: &str) -> u64 {
        self.state.hash_one((domain, value))
    }
}

/// IPv4-mapped IPv6 addresses are the IPv4 client they carry.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Subjects never flagged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Allowlist {
    principals: HashSet<String>,
    keys: HashSet<String>,
    usernames: HashSet<String>,
    networks: Vec<IpNet>,
}

impl Allowlist {
    pub(crate) fn new(entries: &[AllowEntry]) -> Self {
        let mut list = Allowlist::default();
        for entry in entries {
            match entry {
                AllowEntry::Principal(p) => {
                    list.principals.insert(p.clone());
                }
                AllowEntry::ApiKey(k) => {
                    list.keys.insert(k.clone());
                }
                AllowEntry::Username(u) => {
                    list.usernames.insert(u.clone());
                }
                AllowEntry::Ip(net) => list.networks.push(*net),
            }
        }
        list
    }

    pub(crate) fn contains(&self, subject: SubjectRef<'_>) -> bool {
        match subject {
            SubjectRef::Principal(p) => self.principals.contains(p),
            SubjectRef::ApiKey(k) => self.keys.contains(k),
            SubjectRef::Username(u) => self.usernames.contains(u),
            SubjectRef::Ip(ip) => self.networks.iter().any(|n| n.contains(ip)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_print_and_parse_back() {
        for text in [
            "principal:alice",
            "key:ci",
            "ip:192.0.2.1",
            "ip:2001:db8::1",
            "username:bob",
        ] {
            let subject: Subject = text.parse().expect(text);
            assert_eq!(subject.to_string(), text);
        }
        assert!("ip:10.0.0.0/8".parse::<Subject>().is_err());
    }

    #[test]
    fn mapped_addresses_are_one_subject() {
        let h = SubjectHasher::default();
        let v4: IpAddr = "192.0.2.1".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(
            h.subject(SubjectRef::Ip(v4)),
            h.subject(SubjectRef::Ip(mapped))
        );
        assert_ne!(
            h.subject(SubjectRef::Principal("x")),
            h.subject(SubjectRef::Username("x"))
        );
    }

    #[test]
    fn the_allowlist_matches_names_and_networks() {
        let list = Allowlist::new(&[
            "principal:svc".parse().expect("entry"),
            "ip:10.0.0.0/8".parse().expect("entry"),
        ]);
        assert!(list.contains(SubjectRef::Principal("svc")));
        assert!(!list.contains(SubjectRef::Principal("svc2")));
        assert!(list.contains(SubjectRef::Ip("10.9.8.7".parse().expect("ip"))));
        assert!(!list.contains(SubjectRef::Ip("11.0.0.1".parse().expect("ip"))));
    }
}
