//! The client's address, through trusted proxies only.
//!
//! Each proxy appends the address it received the request from to
//! `X-Forwarded-For` (or `Forwarded`). Everything left of what our own
//! proxies appended was written by the client and proves nothing. So we
//! start from the TCP peer and walk the header right to left *only while the
//! hop we stand on is a trusted proxy*; the first address that is not one is
//! the client. With no trusted proxies the header is never read, and a
//! request cannot choose the address it is limited (or logged) under.
//!
//! Only the configured header is read: a header the proxies do not write
//! passes through them untouched, so its rightmost entry would be the
//! client's own claim.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;
use rampart_config::{ClientIpConfig, ForwardedHeader};

/// Most header entries walked; a longer proxy chain is a misconfiguration
/// or an attack, and the walk stops at the last trusted hop.
const MAX_HOPS: usize = 32;

/// Trusted proxies and the header they write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Networks whose peers may report a client address.
    pub networks: Vec<IpNet>,
    /// The header they append to.
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    /// From the `client_ip` section of the config.
    pub fn from_config(config: &ClientIpConfig) -> Self {
        TrustedProxies {
            networks: config.trusted_proxies.iter().map(|n| n.0).collect(),
            header: config.header,
        }
    }

    /// The client address of a request from `peer` carrying `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_ip_via(peer, headers, &self.networks, self.header)
    }

    fn trusts(networks: &[IpNet], ip: IpAddr) -> bool {
        networks.iter().any(|n| n.contains(&ip))
    }
}

/// The client address of a request from `peer`, reading `X-Forwarded-For`
/// through the `trusted` proxies (see [`TrustedProxies`] for `Forwarded`).
/// With no trusted proxies, the peer itself.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    client_ip_via(peer, headers, trusted, ForwardedHeader::XForwardedFor)
}

fn client_ip_via(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let mut current = peer.to_canonical();
    if trusted.is_empty() || !TrustedProxies::trusts(trusted, current) {
        return current;
    }
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    // Later header lines were appended later: walk lines, then entries,
    // from the right.
    let lines = headers.get_all(name).iter().rev();
    let entries = lines.flat_map(|line| {
        // A line that is not text cannot be trusted; stop at it.
        let text = line.to_str().unwrap_or("\u{0}");
        text.rsplit(',')
    });
    for entry in entries.take(MAX_HOPS) {
        let parsed = match header {
            ForwardedHeader::XForwardedFor => parse_node(entry),
            ForwardedHeader::Forwarded => forwarded_for(entry).and_then(parse_node),
        };
        match parsed {
            Some(ip) => {
                current = ip.to_canonical();
                if !TrustedProxies::trusts(trusted, current) {
                    return current;
                }
            }
            // Garbage, `unknown` or an obfuscated node: the hop we stand on
            // (a trusted proxy) is the best we know.
            None => return current,
        }
    }
    current
}

/// The `for=` parameter of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`,
/// `[2001:db8::1]`, with an optional `:port`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("net")).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(client_ip(ip("192.0.2.1"), &h, &[]), ip("192.0.2.1"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let h = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(
            client_ip(ip("192.0.2.1"), &h, &nets(&["10.0.0.0/8"])),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged "6.6.6.6"; our proxies appended 203.0.113.9 and 10.0.0.2.
        let h = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Ports and brackets.
        let h = headers("x-forwarded-for", &["[2001:db8::7]:4711, 10.0.0.2:80"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("2001:db8::7"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers("x-forwarded-for", &["unknown, 10.0.0.3"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.3"));
        let h = headers("x-forwarded-for", &[""]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_only_when_configured() {
        let proxies = TrustedProxies {
            networks: nets(&["10.0.0.0/8"]),
            header: ForwardedHeader::Forwarded,
        };
        let mut h = headers(
            "forwarded",
            &["for=6.6.6.6, for=\"[2001:db8::9]:80\";proto=https, For=10.0.0.4"],
        );
        h.append("x-forwarded-for", "7.7.7.7".parse().expect("value"));
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("2001:db8::9"));
        // The default header ignores `Forwarded`...
        let xff = TrustedProxies {
            header: ForwardedHeader::XForwardedFor,
            ..proxies.clone()
        };
        assert_eq!(xff.client_ip(ip("10.0.0.1"), &h), ip("7.7.7.7"));
        // ...and obfuscated identifiers stop the walk.
        let h = headers("forwarded", &["for=_hidden, for=10.0.0.4"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.4"));
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    proptest! {
        /// No header makes an untrusted peer anything but itself.
        #[test]
        fn untrusted_peers_cannot_be_spoofed(junk in "[ -~]{0,200}", peer in any_ip()) {
            let trusted = nets(&["10.0.0.0/8"]);
            prop_assume!(!trusted[0].contains(&peer.to_canonical()));
            let mut h = HeaderMap::new();
            if let Ok(v) = junk.parse() {
                h.insert("x-forwarded-for", v);
            }
            prop_assert_eq!(client_ip(peer, &h, &trusted), peer.to_canonical());
            prop_assert_eq!(client_ip(peer, &h, &[]), peer.to_canonical());
        }

        /// Behind a chain of trusted proxies, whatever the client prepends,
        /// the result is the address the first proxy saw.
        #[test]
        fn the_client_is_what_the_first_proxy_saw(
            forged in proptest::collection::vec("[ -+\\--~]{0,20}", 0..5),
            client in any::<[u8; 4]>(),
            hops in proptest::collection::vec(any::<[u8; 3]>(), 1..5),
        ) {
            let client = IpAddr::from(client);
            let trusted = nets(&["10.0.0.0/8"]);
            prop_assume!(!trusted[0].contains(&client));
            let proxies: Vec<IpAddr> =
                hops.iter().map(|h| IpAddr::from([10, h[0], h[1], h[2]])).collect();
            // The client's own header, then each proxy appends its peer.
            let mut entries: Vec<String> = forged.clone();
            entries.push(client.to_string());
            for p in &proxies[..proxies.len() - 1] {
                entries.push(p.to_string());
            }
            let mut h = HeaderMap::new();
            if let Ok(v) = entries.join(", ").parse() {
                h.insert("x-forwarded-for", v);
                let peer = proxies[proxies.len() - 1];
                prop_assert_eq!(client_ip(peer, &h, &trusted), client);
            }
        }
    }
}
