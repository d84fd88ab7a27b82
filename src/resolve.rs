//! getaddrinfo for zts nodes: numeric addresses, "localhost", the node's
//! hosts table, then DNS over the node's networks to the servers set with
//! zts_dns_add (A and AAAA, asked in parallel).

use crate::node::Node;
use crate::stack::dns::{Lookup, LookupError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// An EAI_* code (negative, glibc's values).
pub type Eai = i32;

/// Longest an app waits for DNS, past smoltcp's own retries.
const LOOKUP_LIMIT: Duration = Duration::from_secs(15);

const KNOWN_FLAGS: i32 = libc::AI_PASSIVE
    | libc::AI_CANONNAME
    | libc::AI_NUMERICHOST
    | libc::AI_NUMERICSERV
    | libc::AI_V4MAPPED
    | libc::AI_ALL
    | libc::AI_ADDRCONFIG;

/// Well-known services by name (there is no /etc/services to read on a
/// virtual host): (name, port, TCP, UDP).
const SERVICES: &[(&str, u16, bool, bool)] = &[
    ("echo", 7, true, true),
    ("ftp", 21, true, false),
    ("ssh", 22, true, false),
    ("telnet", 23, true, false),
    ("smtp", 25, true, false),
    ("domain", 53, true, true),
    ("bootps", 67, false, true),
    ("bootpc", 68, false, true),
    ("http", 80, true, false),
    ("ntp", 123, false, true),
    ("https", 443, true, false),
    ("mdns", 5353, false, true),
];

#[derive(Copy, Clone, Debug, Default)]
pub struct Hints {
    pub flags: i32,
    pub family: i32,
    pub socktype: i32,
    pub protocol: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub family: i32,
    pub socktype: i32,
    pub protocol: i32,
    pub addr: SocketAddr,
    pub canonname: Option<String>,
}

fn port_of(service: Option<&str>, hints: &Hints) -> Result<u16, Eai> {
    let Some(service) = service else {
        return Ok(0);
    };
    if let Ok(p) = service.parse::<u16>() {
        return Ok(p);
    }
    if hints.flags & libc::AI_NUMERICSERV != 0 {
        return Err(libc::EAI_NONAME);
    }
    SERVICES
        .iter()
        .find(|(name, _, tcp, udp)| {
            *name == service
                && match hints.socktype {
                    libc::SOCK_STREAM => *tcp,
                    libc::SOCK_DGRAM => *udp,
                    _ => true,
                }
        })
        .map(|s| s.1)
        .ok_or(libc::EAI_SERVICE)
}

fn wanted(family: i32, ip: &IpAddr) -> bool {
    match family {
        libc::AF_INET => ip.is_ipv4(),
        libc::AF_INET6 => ip.is_ipv6(),
        _ => true,
    }
}

/// Fits addresses to the requested family, mapping IPv4 into IPv6 when
/// AI_V4MAPPED asks for it and no IPv6 address was found.
fn fit(addrs: Vec<IpAddr>, hints: &Hints) -> Vec<IpAddr> {
    let direct: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|a| wanted(hints.family, a))
        .collect();
    if hints.family == libc::AF_INET6
        && hints.flags & libc::AI_V4MAPPED != 0
        && (direct.is_empty() || hints.flags & libc::AI_ALL != 0)
    {
        let mapped = addrs.iter().filter_map(|a| match a {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(_) => None,
        });
        return direct.iter().copied().chain(mapped).collect();
    }
    direct
}

fn dns(node: &Node, name: &str, hints: &Hints) -> Result<Vec<IpAddr>, Eai> {
    let handle = node.stack().map_err(|_| libc::EAI_AGAIN)?;
    let mut kinds = Vec::new();
    if hints.family != libc::AF_INET6 || hints.flags & libc::AI_V4MAPPED != 0 {
        kinds.push(false);
    }
    if hints.family != libc::AF_INET {
        kinds.push(true);
    }
    let lookups: Vec<_> = kinds.into_iter().map(|v6| Lookup::new(name, v6)).collect();
    for l in &lookups {
        handle.lookup(l.clone()).map_err(|_| libc::EAI_AGAIN)?;
    }
    let deadline = Instant::now() + LOOKUP_LIMIT;
    let mut found = Vec::new();
    let mut worst = None;
    for l in &lookups {
        match l.wait(deadline) {
            Ok(mut addrs) => found.append(&mut addrs),
            Err(e) => worst = Some(e),
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }
    Err(match worst {
        Some(LookupError::Timeout | LookupError::Down) => libc::EAI_AGAIN,
        _ => libc::EAI_NONAME,
    })
}

fn addresses(node: Option<&Node>, host: Option<&str>, hints: &Hints) -> Result<Vec<IpAddr>, Eai> {
    let v4_any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let v6_any = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let v4_lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6_lo = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let Some(host) = host else {
        let all = if hints.flags & libc::AI_PASSIVE != 0 {
            vec![v4_any, v6_any]
        } else {
            vec![v4_lo, v6_lo]
        };
        return Ok(fit(all, hints));
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(fit(vec![ip], hints));
    }
    if hints.flags & libc::AI_NUMERICHOST != 0 {
        return Err(libc::EAI_NONAME);
    }
    let name = host.trim_end_matches('.');
    if name.eq_ignore_ascii_case("localhost") {
        return Ok(fit(vec![v4_lo, v6_lo], hints));
    }
    let Some(node) = node else {
        return Err(libc::EAI_NONAME);
    };
    let known = node.hosts_lookup(name);
    if !known.is_empty() {
        return Ok(fit(known, hints));
    }
    dns(node, name, hints).map(|found| fit(found, hints))
}

/// Resolves `host` and `service` as getaddrinfo(3) does, on `node` (None:
/// only numeric hosts and localhost).
pub fn getaddrinfo(
    node: Option<&Node>,
    host: Option<&str>,
    service: Option<&str>,
    hints: &Hints,
) -> Result<Vec<Answer>, Eai> {
    if host.is_none() && service.is_none() {
        return Err(libc::EAI_NONAME);
    }
    if hints.flags & !KNOWN_FLAGS != 0 {
        return Err(libc::EAI_BADFLAGS);
    }
    if ![libc::AF_UNSPEC, libc::AF_INET, libc::AF_INET6].contains(&hints.family) {
        return Err(libc::EAI_FAMILY);
    }
    let socktypes: Vec<(i32, i32)> = match (hints.socktype, hints.protocol) {
        (0, 0) => vec![
            (libc::SOCK_STREAM, libc::IPPROTO_TCP),
            (libc::SOCK_DGRAM, libc::IPPROTO_UDP),
            (libc::SOCK_RAW, 0),
        ],
        (0, libc::IPPROTO_TCP) | (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => {
            vec![(libc::SOCK_STREAM, libc::IPPROTO_TCP)]
        }
        (0, libc::IPPROTO_UDP) | (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => {
            vec![(libc::SOCK_DGRAM, libc::IPPROTO_UDP)]
        }
        (libc::SOCK_RAW, p) => vec![(libc::SOCK_RAW, p)],
        (libc::SOCK_STREAM | libc::SOCK_DGRAM, _) => return Err(libc::EAI_SERVICE),
        _ => return Err(libc::EAI_SOCKTYPE),
    };
    let port = port_of(service, hints)?;
    if port != 0 && hints.socktype == libc::SOCK_RAW {
        return Err(libc::EAI_SERVICE);
    }
    let addrs = addresses(node, host, hints)?;
    if addrs.is_empty() {
        return Err(libc::EAI_NONAME);
    }
    let mut out = Vec::new();
    for ip in addrs {
        for &(socktype, protocol) in &socktypes {
            if socktype == libc::SOCK_RAW && service.is_some() {
                continue;
            }
            out.push(Answer {
                family: if ip.is_ipv4() {
                    libc::AF_INET
                } else {
                    libc::AF_INET6
                },
                socktype,
                protocol,
                addr: SocketAddr::new(ip, port),
                canonname: None,
            });
        }
    }
    if hints.flags & libc::AI_CANONNAME != 0
        && let (Some(first), Some(host)) = (out.first_mut(), host)
    {
        first.canonname = Some(host.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(family: i32) -> Hints {
        Hints {
            family,
            socktype: libc::SOCK_STREAM,
            ..Hints::default()
        }
    }

    #[test]
    fn numeric_hosts_and_services() {
        let r = getaddrinfo(None, Some("10.1.2.3"), Some("8080"), &stream(0)).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].addr, "10.1.2.3:8080".parse().unwrap());
        assert_eq!(r[0].protocol, libc::IPPROTO_TCP);
        let r = getaddrinfo(None, Some("fd00::1"), Some("http"), &stream(libc::AF_INET6)).unwrap();
        assert_eq!(r[0].addr, "[fd00::1]:80".parse().unwrap());
        assert_eq!(
            getaddrinfo(None, Some("10.1.2.3"), None, &stream(libc::AF_INET6)),
            Err(libc::EAI_NONAME)
        );
        let mapped = Hints {
            flags: libc::AI_V4MAPPED,
            ..stream(libc::AF_INET6)
        };
        let r = getaddrinfo(None, Some("10.1.2.3"), None, &mapped).unwrap();
        assert_eq!(r[0].addr, "[::ffff:10.1.2.3]:0".parse().unwrap());
    }

    #[test]
    fn errors_are_the_eai_codes() {
        assert_eq!(
            getaddrinfo(None, None, None, &Hints::default()),
            Err(libc::EAI_NONAME)
        );
        let bad_flags = Hints {
            flags: 0x4000_0000,
            ..Hints::default()
        };
        assert_eq!(
            getaddrinfo(None, Some("1.2.3.4"), None, &bad_flags),
            Err(libc::EAI_BADFLAGS)
        );
        let bad_family = Hints {
            family: libc::AF_UNIX,
            ..Hints::default()
        };
        assert_eq!(
            getaddrinfo(None, Some("1.2.3.4"), None, &bad_family),
            Err(libc::EAI_FAMILY)
        );
        let bad_type = Hints {
            socktype: 99,
            ..Hints::default()
        };
        assert_eq!(
            getaddrinfo(None, Some("1.2.3.4"), None, &bad_type),
            Err(libc::EAI_SOCKTYPE)
        );
        assert_eq!(
            getaddrinfo(None, Some("1.2.3.4"), Some("no-such-service"), &stream(0)),
            Err(libc::EAI_SERVICE)
        );
        let numeric = Hints {
            flags: libc::AI_NUMERICHOST,
            ..Hints::default()
        };
        assert_eq!(
            getaddrinfo(None, Some("example"), None, &numeric),
            Err(libc::EAI_NONAME)
        );
    }

    #[test]
    fn passive_and_loopback_defaults() {
        let passive = Hints {
            flags: libc::AI_PASSIVE,
            ..stream(libc::AF_INET)
        };
        let r = getaddrinfo(None, None, Some("7"), &passive).unwrap();
        assert_eq!(r[0].addr, "0.0.0.0:7".parse().unwrap());
        let r = getaddrinfo(None, Some("localhost"), Some("7"), &stream(0)).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|a| a.addr.ip().is_loopback()));
        let all = getaddrinfo(None, Some("127.0.0.1"), None, &Hints::default()).unwrap();
        assert_eq!(all.len(), 3, "stream, datagram and raw");
    }
}
