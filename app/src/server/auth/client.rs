//! The client's address. The binary serves plain HTTP, so an https deployment has a reverse proxy
//! in front: only when the TCP peer is one of the `--trusted-proxies` is the one header named by
//! `--client-address-header` believed (`X-Forwarded-For` unless told otherwise), and then the
//! client is the right-most hop in it that is not a trusted proxy. Every other forwarding header
//! is ignored, whoever sent it: a proxy that sets or appends one header passes the others on from
//! the client untouched, so believing them would let a client forge its address through the
//! proxy. From an untrusted peer no header is believed at all, so none can be used to dodge a
//! limit or to write a false address into the audit log.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName};
pub use ipnet::IpNet;

pub use crate::server::config::{parse_address_header, AddressHeader};

/// The address limits and the audit log use for the current request (set by the middleware).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Parses `--trusted-proxies`: addresses or CIDR ranges, separated by commas or spaces.
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or CIDR range (like 10.0.0.0/8 or ::1)"))
        })
        .collect()
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    proxies.iter().any(|net| net.contains(&ip))
}

/// One hop as a proxy wrote it: `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:443`,
/// `"[2001:db8::1]"`. `None` for `unknown`, obfuscated names and garbage.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The hops of the `Forwarded` header's `for=` parameters, oldest first.
fn forwarded_hops(headers: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        let Ok(value) = value.to_str() else { continue };
        for element in value.split(',') {
            for pair in element.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    if k.trim().eq_ignore_ascii_case("for") {
                        out.push(v.trim().to_string());
                    }
                }
            }
        }
    }
    out
}

/// The hops of a list header (`X-Forwarded-For`, `X-Real-IP` …), oldest first; several
/// occurrences of the header read as one list, in order.
fn list_hops(headers: &HeaderMap, name: &HeaderName) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let Ok(value) = value.to_str() else { continue };
        out.extend(value.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()));
    }
    out
}

/// The client of a request that arrived from `peer`: from `header` alone, and only when `peer`
/// is one of the `proxies`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet], header: &AddressHeader) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let hops = match header {
        AddressHeader::Forwarded => forwarded_hops(headers),
        AddressHeader::List(name) => list_hops(headers, name),
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted(ip, proxies) => client = ip,
            Some(ip) => return ip,
            // A hop we can't read: the last proxy we trust is as far as we can see.
            None => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff() -> AddressHeader {
        AddressHeader::default()
    }

    fn header(name: &str) -> AddressHeader {
        parse_address_header(name).unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        let spoof = h(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8"), ("x-real-ip", "9.9.9.9")]);
        for configured in [xff(), header("forwarded"), header("x-real-ip")] {
            assert_eq!(resolve(ip("203.0.113.9"), &spoof, &proxies, &configured), ip("203.0.113.9"), "{configured}");
            assert_eq!(resolve(ip("203.0.113.9"), &spoof, &[], &configured), ip("203.0.113.9"), "{configured}");
        }
    }

    #[test]
    fn a_forged_forwarded_is_ignored_when_x_forwarded_for_is_configured() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        // The client sent Forwarded itself; the proxy appended the real address to X-Forwarded-For.
        let forged = h(&[("forwarded", "for=1.2.3.4"), ("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(resolve(ip("10.0.0.2"), &forged, &proxies, &xff()), ip("198.51.100.7"));
        // With no X-Forwarded-For at all, the proxy is as far as we can see.
        let only_forged = h(&[("forwarded", "for=1.2.3.4")]);
        assert_eq!(resolve(ip("10.0.0.2"), &only_forged, &proxies, &xff()), ip("10.0.0.2"));
    }

    #[test]
    fn a_forged_x_forwarded_for_is_ignored_when_forwarded_is_configured() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        let fwd = header("Forwarded");
        assert_eq!(fwd, AddressHeader::Forwarded);
        let forged = h(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=198.51.100.7;proto=https")]);
        assert_eq!(resolve(ip("10.0.0.2"), &forged, &proxies, &fwd), ip("198.51.100.7"));
        let only_forged = h(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(resolve(ip("10.0.0.2"), &only_forged, &proxies, &fwd), ip("10.0.0.2"));
    }

    #[test]
    fn x_real_ip_is_believed_alone_when_configured() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        let real_ip = header("X-Real-IP");
        let forged = h(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8"), ("x-real-ip", "198.51.100.9")]);
        assert_eq!(resolve(ip("10.0.0.2"), &forged, &proxies, &real_ip), ip("198.51.100.9"));
        let none = h(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(resolve(ip("10.0.0.2"), &none, &proxies, &real_ip), ip("10.0.0.2"));
        // Any other header a proxy is set up to write.
        let cdn = header("cf-connecting-ip");
        let sent = h(&[("x-forwarded-for", "1.2.3.4"), ("cf-connecting-ip", "2001:db8::5")]);
        assert_eq!(resolve(ip("10.0.0.2"), &sent, &proxies, &cdn), ip("2001:db8::5"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client put a fake hop first; our proxies appended the real one.
        let list = h(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 192.168.1.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &list, &proxies, &xff()), ip("198.51.100.7"));
        let two_headers = h(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(resolve(ip("10.0.0.2"), &two_headers, &proxies, &xff()), ip("198.51.100.8"));
        let fwd = h(&[("forwarded", r#"for=1.2.3.4, for="[2001:db8::7]:443";proto=https, for=10.1.1.1"#)]);
        assert_eq!(resolve(ip("10.0.0.2"), &fwd, &proxies, &header("forwarded")), ip("2001:db8::7"));
        let port = h(&[("forwarded", "for=198.51.100.9:5000")]);
        assert_eq!(resolve(ip("10.0.0.2"), &port, &proxies, &header("forwarded")), ip("198.51.100.9"));
        let chained = h(&[("x-real-ip", "1.2.3.4, 198.51.100.3, 10.9.9.9")]);
        assert_eq!(resolve(ip("10.0.0.2"), &chained, &proxies, &header("x-real-ip")), ip("198.51.100.3"));
    }

    #[test]
    fn unreadable_or_missing_hops_stop_at_the_last_trusted_proxy() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        assert_eq!(resolve(ip("10.0.0.2"), &h(&[]), &proxies, &xff()), ip("10.0.0.2"));
        let garbage = h(&[("x-forwarded-for", "1.2.3.4, unknown, 10.0.0.3")]);
        assert_eq!(resolve(ip("10.0.0.2"), &garbage, &proxies, &xff()), ip("10.0.0.3"));
        let mapped = parse_trusted_proxies("127.0.0.1").unwrap();
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h(&[("x-forwarded-for", "198.51.100.1")]), &mapped, &xff()),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn bad_proxy_lists_name_the_entry() {
        let e = parse_trusted_proxies("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
        assert_eq!(parse_trusted_proxies("").unwrap(), vec![]);
        assert_eq!(parse_trusted_proxies("::1 127.0.0.1").unwrap().len(), 2);
    }

    #[test]
    fn address_headers_are_header_names_and_bad_ones_say_the_rule() {
        assert_eq!(header("x-forwarded-for"), AddressHeader::default());
        assert_eq!(header(" X-Forwarded-For "), AddressHeader::default());
        assert_eq!(header("FORWARDED"), AddressHeader::Forwarded);
        assert_eq!(header("X-Real-IP").to_string(), "x-real-ip");
        for bad in ["", "  ", "x forwarded for", "x-forwarded-for,forwarded", "x_real_ip", "x-real-ip:", "\u{e9}t\u{e9}", &"x".repeat(65)] {
            let e = parse_address_header(bad).unwrap_err();
            assert!(e.contains("letters, digits and -") && e.contains("x-forwarded-for, forwarded or x-real-ip"), "{bad:?}: {e}");
        }
    }
}
