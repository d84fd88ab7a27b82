//! A node's addresses and routes, and the choice of network for a
//! destination: the longest matching prefix among the networks' own
//! subnets and the added routes (a /0 route is the default).

use crate::error::{Errno, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address on one of the node's networks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NetAddr {
    pub net: usize,
    pub addr: IpAddr,
    pub prefix: u8,
}

/// Traffic to `dst/prefix` goes through `via` on network `net`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub net: usize,
    pub dst: IpAddr,
    pub prefix: u8,
    pub via: IpAddr,
}

/// Whether `ip` lies in `net/prefix`.
pub fn in_prefix(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    fn masked<const N: usize>(bytes: [u8; N], prefix: u8) -> [u8; N] {
        let mut out = bytes;
        for (i, b) in out.iter_mut().enumerate() {
            let bits = (prefix as usize).saturating_sub(i * 8).min(8);
            *b &= (0xffu16 << (8 - bits)) as u8;
        }
        out
    }
    match (net, ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => masked(a.octets(), prefix) == masked(b.octets(), prefix),
        (IpAddr::V6(a), IpAddr::V6(b)) => masked(a.octets(), prefix) == masked(b.octets(), prefix),
        _ => false,
    }
}

/// Parses "10.0.0.1/24" or "fd00::1/64".
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/').ok_or(Errno::EINVAL)?;
    let addr: IpAddr = addr.parse().map_err(|_| Errno::EINVAL)?;
    let prefix: u8 = prefix.parse().map_err(|_| Errno::EINVAL)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max || addr.is_multicast() {
        return Err(Errno::EINVAL);
    }
    Ok((addr, prefix))
}

/// The loopback addresses every node has, on its internal loopback network.
pub fn loopback_addrs(net: usize) -> [NetAddr; 2] {
    [
        NetAddr {
            net,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix: 8,
        },
        NetAddr {
            net,
            addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
            prefix: 128,
        },
    ]
}

#[derive(Clone, Debug, Default)]
pub struct Routing {
    pub addrs: Vec<NetAddr>,
    pub routes: Vec<Route>,
    /// DNS servers, in order of preference.
    pub dns: Vec<IpAddr>,
}

impl Routing {
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.addr == ip)
    }

    /// The network holding the local address `ip`.
    pub fn net_of(&self, ip: IpAddr) -> Option<usize> {
        self.addrs.iter().find(|a| a.addr == ip).map(|a| a.net)
    }

    /// The network that reaches `dst`, or None (ENETUNREACH).
    pub fn route(&self, dst: IpAddr) -> Option<usize> {
        if let Some(net) = self.net_of(dst) {
            return Some(net);
        }
        let connected = self
            .addrs
            .iter()
            .filter(|a| in_prefix(a.addr, a.prefix, dst))
            .map(|a| (a.prefix, a.net));
        let routed = self
            .routes
            .iter()
            .filter(|r| in_prefix(r.dst, r.prefix, dst))
            .map(|r| (r.prefix, r.net));
        // Longest prefix wins; a connected subnet beats a route of equal length.
        connected
            .map(|(p, n)| (p, 1, n))
            .chain(routed.map(|(p, n)| (p, 0, n)))
            .max_by_key(|(p, connected, _)| (*p, *connected))
            .map(|(_, _, n)| n)
    }

    /// The network whose subnet holds the gateway `via`.
    pub fn net_for_gateway(&self, via: IpAddr) -> Option<usize> {
        self.addrs
            .iter()
            .filter(|a| in_prefix(a.addr, a.prefix, via))
            .max_by_key(|a| a.prefix)
            .map(|a| a.net)
    }

    /// Whether `net` is the node's internal loopback network.
    pub fn is_loopback_net(&self, net: usize) -> bool {
        self.addrs
            .iter()
            .any(|a| a.net == net && a.addr.is_loopback())
    }

    /// Networks with an address of the given family.
    pub fn nets_for(&self, v6: bool) -> Vec<usize> {
        let mut nets: Vec<usize> = self
            .addrs
            .iter()
            .filter(|a| a.addr.is_ipv6() == v6)
            .map(|a| a.net)
            .collect();
        nets.sort_unstable();
        nets.dedup();
        nets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefix_match() {
        assert!(in_prefix(ip("10.1.2.3"), 20, ip("10.1.15.9")));
        assert!(!in_prefix(ip("10.1.2.3"), 20, ip("10.1.16.1")));
        assert!(!in_prefix(ip("10.1.2.3"), 20, ip("fd00::1")));
        assert!(in_prefix(ip("fd00:1::1"), 64, ip("fd00:1::99")));
        assert!(!in_prefix(ip("fd00:1::1"), 64, ip("fd00:2::1")));
        assert!(in_prefix(ip("0.0.0.0"), 0, ip("192.0.2.1")));
    }

    #[test]
    fn longest_prefix_then_default_route() {
        let r = Routing {
            addrs: vec![
                NetAddr {
                    net: 0,
                    addr: ip("10.0.0.2"),
                    prefix: 24,
                },
                NetAddr {
                    net: 1,
                    addr: ip("10.1.0.2"),
                    prefix: 16,
                },
            ],
            routes: vec![
                Route {
                    net: 1,
                    dst: ip("0.0.0.0"),
                    prefix: 0,
                    via: ip("10.1.0.1"),
                },
                Route {
                    net: 0,
                    dst: ip("10.1.5.0"),
                    prefix: 24,
                    via: ip("10.0.0.1"),
                },
            ],
            dns: Vec::new(),
        };
        assert_eq!(r.route(ip("10.0.0.77")), Some(0));
        assert_eq!(r.route(ip("10.1.9.9")), Some(1));
        assert_eq!(r.route(ip("10.1.5.9")), Some(0));
        assert_eq!(r.route(ip("192.0.2.1")), Some(1));
        assert_eq!(r.route(ip("fd00::1")), None);
        assert_eq!(r.net_for_gateway(ip("10.1.0.1")), Some(1));
    }

    #[test]
    fn cidr_parsing() {
        assert_eq!(parse_cidr("10.0.0.1/24"), Ok((ip("10.0.0.1"), 24)));
        assert_eq!(parse_cidr("fd00::1/64"), Ok((ip("fd00::1"), 64)));
        for bad in [
            "10.0.0.1",
            "10.0.0.1/33",
            "fd00::1/129",
            "x/1",
            "224.0.0.1/4",
        ] {
            assert_eq!(parse_cidr(bad), Err(Errno::EINVAL), "{bad}");
        }
    }
}
