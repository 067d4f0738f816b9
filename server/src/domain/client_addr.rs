//! Who the client is, for abuse limits (the HTTP extractor is `crate::http::extract::ClientIp`): the TCP peer, or — when that peer is one of
//! `server.trusted_proxies` — the rightmost address in the proxy's forwarding header that is not
//! itself a trusted proxy. Headers from any other peer are ignored: anyone can send them.
//!
//! Limits key on a *prefix*, not an address ([`bucket_key`]): an IPv6 host usually holds a whole
//! /64, so keying per address would hand it 2^64 buckets.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Which header a trusted proxy writes the client address into (`server.forwarded_header`).
/// One only: a proxy appends to its own header but passes the other through untouched, so
/// reading both would let a client choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// The proxies whose forwarding header is believed, parsed once when the configuration loads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Networks of trusted peers (a bare address is a /32 or /128).
    pub nets: Vec<IpNet>,
    /// The header they write.
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses `"10.0.0.0/8"` or a bare address; the error says what a valid entry looks like.
    pub fn parse_net(s: &str) -> Result<IpNet, String> {
        let t = s.trim();
        t.parse::<IpNet>()
            .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                format!("{s:?} is not an IP address or CIDR network; write e.g. \"127.0.0.1/32\", \"10.0.0.0/8\" or \"::1\"")
            })
    }

    /// True when `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request whose TCP peer is `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<Option<IpAddr>> = match self.header {
            ForwardedHeader::XForwardedFor => header_items(headers, "x-forwarded-for")
                .map(parse_hop)
                .collect(),
            ForwardedHeader::Forwarded => header_items(headers, "forwarded")
                .map(|element| {
                    element
                        .split(';')
                        .filter_map(|pair| pair.trim().split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                        .and_then(|(_, v)| parse_hop(v))
                })
                .collect(),
        };
        // Right to left: each trusted hop vouches for the one before it. The first untrusted
        // address is the client; a hop we cannot read ends the walk at the last one we trust.
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// The comma-separated items of every `name` header line, in order. Split on bytes: a client's
/// own item with a non-ASCII byte must not hide the items our proxy appended to the same line (it
/// would drop the real address and key the client as the proxy); such an item reads as unparsable.
fn header_items<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|item| std::str::from_utf8(item).unwrap_or("\u{0}"))
        .map(str::trim)
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`, quoted or not.
/// `unknown` and obfuscated identifiers (`_hidden`) are `None`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    let ip = s.parse::<IpAddr>().ok().or_else(|| {
        s.parse::<SocketAddr>().ok().map(|a| a.ip()).or_else(|| {
            s.strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .and_then(|(a, _)| a.parse().ok())
        })
    })?;
    Some(ip.to_canonical())
}

/// The key a client's limits are counted under: an IPv4 address (IPv4-mapped IPv6 included) as
/// is, an IPv6 address by its /64 network.
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(nets: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            nets: nets
                .iter()
                .map(|n| TrustedProxies::parse_net(n).unwrap())
                .collect(),
            header,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_ipv4_by_address() {
        assert_eq!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(bucket_key(ip("2001:db8:1:2::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(bucket_key(ip("192.0.2.7")), bucket_key(ip("192.0.2.8")));
        assert_eq!(
            bucket_key(ip("::ffff:192.0.2.7")),
            ip("192.0.2.7"),
            "mapped is IPv4"
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let t = proxies(&[], ForwardedHeader::XForwardedFor);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(t.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let t = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert_eq!(t.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn a_non_ascii_item_of_the_client_cannot_hide_the_address_our_proxy_appended() {
        // nginx's `$proxy_add_x_forwarded_for`: the client's own value, then the real address,
        // on one line. A byte ≥ 0x80 in the client's part must not drop the whole line (which
        // would key the client as the proxy).
        let p = proxies(&["10.0.0.1/32"], ForwardedHeader::XForwardedFor);
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff, 203.0.113.9").unwrap(),
        );
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let t = proxies(&["10.0.0.0/8", "::1"], ForwardedHeader::XForwardedFor);
        // The client forged the first entry; the proxy appended what it saw.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ]);
        assert_eq!(t.client(ip("::ffff:10.0.0.1"), &h), ip("203.0.113.9"));
        // No header: the proxy itself; only trusted hops: the farthest one.
        assert_eq!(t.client(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        // Garbage where the client should be: stop at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, garbage, 10.0.0.2")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.2"));
        // The other header is not read.
        let h = headers(&[("forwarded", "for=203.0.113.9")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn rfc_7239_forwarded_for_is_read_when_configured() {
        let t = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.2;by=10.0.0.1",
        )]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "For=\"192.0.2.43:47011\"")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("192.0.2.43"));
        let h = headers(&[
            ("forwarded", "for=_hidden"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn networks_parse_with_clear_errors() {
        assert!(TrustedProxies::parse_net("10.0.0.0/8").is_ok());
        assert!(TrustedProxies::parse_net("::1").is_ok());
        assert_eq!(
            TrustedProxies::parse_net("127.0.0.1").unwrap(),
            "127.0.0.1/32".parse::<IpNet>().unwrap()
        );
        let e = TrustedProxies::parse_net("10.0.0.0/33").unwrap_err();
        assert!(e.contains("CIDR") && e.contains("10.0.0.0/8"), "{e}");
        assert!(TrustedProxies::parse_net("localhost").is_err());
    }
}
