//! Which local ports a node's sockets hold, for EADDRINUSE and ephemeral
//! port choice. Answered on the caller's thread, without the stack thread.

use crate::error::{Errno, Result};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

const EPHEMERAL: std::ops::RangeInclusive<u16> = 49152..=65535;

struct Holder {
    lease: u64,
    addr: IpAddr,
    reuse: bool,
    listening: bool,
}

#[derive(Default)]
pub struct PortTable {
    ports: HashMap<u16, Vec<Holder>>,
    next_lease: u64,
    next_ephemeral: u16,
}

/// A held port; give it back with [`PortTable::release`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PortLease {
    pub port: u16,
    id: u64,
}

fn overlaps(a: &IpAddr, b: &IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a.is_unspecified() || b.is_unspecified() || a == b)
}

impl PortTable {
    fn conflicts(&self, port: u16, addr: &IpAddr, reuse: bool, skip: Option<u64>) -> bool {
        self.ports.get(&port).is_some_and(|holders| {
            holders.iter().any(|h| {
                Some(h.lease) != skip
                    && overlaps(&h.addr, addr)
                    && !(reuse && h.reuse && !h.listening)
            })
        })
    }

    /// Takes `port` on `addr` (0 picks a free ephemeral port).
    pub fn acquire(&mut self, addr: IpAddr, port: u16, reuse: bool) -> Result<PortLease> {
        let port = if port == 0 {
            self.pick_ephemeral(&addr)?
        } else if self.conflicts(port, &addr, reuse, None) {
            return Err(Errno::EADDRINUSE);
        } else {
            port
        };
        self.next_lease += 1;
        let id = self.next_lease;
        self.ports.entry(port).or_default().push(Holder {
            lease: id,
            addr,
            reuse,
            listening: false,
        });
        Ok(PortLease { port, id })
    }

    fn pick_ephemeral(&mut self, addr: &IpAddr) -> Result<u16> {
        let span = (EPHEMERAL.end() - EPHEMERAL.start()) as u32 + 1;
        if self.next_ephemeral == 0 {
            // A random start (RFC 6056): a node made again at the same
            // address would otherwise reuse the last one's ports, and its
            // SYNs would meet the peer's TIME-WAIT sockets of those.
            let r = RandomState::new().build_hasher().finish();
            self.next_ephemeral = EPHEMERAL.start() + (r % span as u64) as u16;
        }
        for _ in 0..span {
            if !EPHEMERAL.contains(&self.next_ephemeral) {
                self.next_ephemeral = *EPHEMERAL.start();
            }
            let port = self.next_ephemeral;
            self.next_ephemeral = self.next_ephemeral.wrapping_add(1);
            if !self.conflicts(port, addr, false, None) {
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// Marks the lease as a listener; fails if another socket could take
    /// the same connections.
    pub fn set_listening(&mut self, lease: PortLease) -> Result<()> {
        let holders = self.ports.get(&lease.port).ok_or(Errno::EINVAL)?;
        let me = holders
            .iter()
            .position(|h| h.lease == lease.id)
            .ok_or(Errno::EINVAL)?;
        let addr = holders[me].addr;
        let clash = holders
            .iter()
            .any(|h| h.lease != lease.id && overlaps(&h.addr, &addr) && h.listening);
        if clash {
            return Err(Errno::EADDRINUSE);
        }
        self.ports.get_mut(&lease.port).unwrap()[me].listening = true;
        Ok(())
    }

    pub fn release(&mut self, lease: PortLease) {
        if let Some(holders) = self.ports.get_mut(&lease.port) {
            holders.retain(|h| h.lease != lease.id);
            if holders.is_empty() {
                self.ports.remove(&lease.port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn same_port_conflicts_unless_addresses_differ_or_reuse() {
        let mut t = PortTable::default();
        let l = t.acquire(A, 80, false).unwrap();
        assert_eq!(t.acquire(A, 80, false), Err(Errno::EADDRINUSE));
        assert_eq!(t.acquire(ANY, 80, false), Err(Errno::EADDRINUSE));
        assert!(t.acquire(B, 80, false).is_ok());
        t.release(l);
        assert!(t.acquire(A, 80, false).is_ok());
    }

    #[test]
    fn reuseaddr_allows_sharing_but_not_two_listeners() {
        let mut t = PortTable::default();
        let a = t.acquire(ANY, 8080, true).unwrap();
        let b = t.acquire(ANY, 8080, true).unwrap();
        t.set_listening(a).unwrap();
        assert_eq!(t.set_listening(b), Err(Errno::EADDRINUSE));
        assert_eq!(t.acquire(ANY, 8080, true), Err(Errno::EADDRINUSE));
    }

    #[test]
    fn ephemeral_ports_are_distinct() {
        let mut t = PortTable::default();
        let x = t.acquire(ANY, 0, false).unwrap();
        let y = t.acquire(ANY, 0, false).unwrap();
        assert_ne!(x.port, y.port);
        assert!(EPHEMERAL.contains(&x.port));
    }
}
