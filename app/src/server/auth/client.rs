//! The client's address. The binary serves plain HTTP, so an https deployment has a reverse proxy
//! in front: only when the TCP peer is one of the `--trusted-proxies` are `X-Forwarded-For` /
//! `Forwarded` believed, and then the client is the right-most hop that is not a trusted proxy.
//! From anyone else those headers are ignored, so they cannot be used to dodge a limit or to
//! write a false address into the audit log.

use std::net::IpAddr;

use http::HeaderMap;
pub use ipnet::IpNet;

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

fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else { continue };
        out.extend(value.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()));
    }
    out
}

/// The client of a request that arrived from `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let hops = {
        let f = forwarded_hops(headers);
        if f.is_empty() {
            x_forwarded_for_hops(headers)
        } else {
            f
        }
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

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        let spoof = h(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(resolve(ip("203.0.113.9"), &spoof, &proxies), ip("203.0.113.9"));
        assert_eq!(resolve(ip("203.0.113.9"), &spoof, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client put a fake hop first; our proxies appended the real one.
        let xff = h(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 192.168.1.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &xff, &proxies), ip("198.51.100.7"));
        let two_headers = h(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(resolve(ip("10.0.0.2"), &two_headers, &proxies), ip("198.51.100.8"));
        let fwd = h(&[("forwarded", r#"for=1.2.3.4, for="[2001:db8::7]:443";proto=https, for=10.1.1.1"#)]);
        assert_eq!(resolve(ip("10.0.0.2"), &fwd, &proxies), ip("2001:db8::7"));
        let port = h(&[("forwarded", "for=198.51.100.9:5000")]);
        assert_eq!(resolve(ip("10.0.0.2"), &port, &proxies), ip("198.51.100.9"));
    }

    #[test]
    fn unreadable_or_missing_hops_stop_at_the_last_trusted_proxy() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap();
        assert_eq!(resolve(ip("10.0.0.2"), &h(&[]), &proxies), ip("10.0.0.2"));
        let garbage = h(&[("x-forwarded-for", "1.2.3.4, unknown, 10.0.0.3")]);
        assert_eq!(resolve(ip("10.0.0.2"), &garbage, &proxies), ip("10.0.0.3"));
        let mapped = parse_trusted_proxies("127.0.0.1").unwrap();
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h(&[("x-forwarded-for", "198.51.100.1")]), &mapped),
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
}
