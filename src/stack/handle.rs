//! What app threads share with a running node's stack thread: the waker,
//! the inbox of new work, the port table and the node's addresses.

use super::ports::PortTable;
use crate::error::{Errno, Result};
use crate::socket::Socket;
use crate::wake::StackWaker;
use parking_lot::{Mutex, RwLock};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An address on one of the node's networks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NetAddr {
    pub net: usize,
    pub addr: IpAddr,
    pub prefix: u8,
}

impl NetAddr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
            bytes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let bits = (prefix as usize).saturating_sub(i * 8).min(8);
                    b & (0xffu16 << (8 - bits)) as u8
                })
                .collect()
        }
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                masked(&a.octets(), self.prefix) == masked(&b.octets(), self.prefix)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                masked(&a.octets(), self.prefix) == masked(&b.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

#[derive(Default)]
pub(super) struct Inbox {
    pub down: bool,
    /// Sockets that started connecting or listening.
    pub sockets: Vec<Arc<Socket>>,
    /// Addresses added while running.
    pub addrs: Vec<NetAddr>,
}

pub struct StackHandle {
    pub node: i32,
    pub waker: Arc<StackWaker>,
    pub ports: Mutex<PortTable>,
    pub(super) inbox: Mutex<Inbox>,
    down: AtomicBool,
    addrs: RwLock<Vec<NetAddr>>,
}

impl StackHandle {
    pub(super) fn new(node: i32, waker: Arc<StackWaker>, addrs: Vec<NetAddr>) -> Self {
        StackHandle {
            node,
            waker,
            ports: Mutex::new(PortTable::default()),
            inbox: Mutex::new(Inbox::default()),
            down: AtomicBool::new(false),
            addrs: RwLock::new(addrs),
        }
    }

    /// A handle with no stack thread behind it, for unit tests.
    #[cfg(test)]
    pub fn detached_for_tests() -> Self {
        StackHandle::new(-1, Arc::new(StackWaker::default()), Vec::new())
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Marks the stack stopped; nothing more is accepted into the inbox.
    /// Returns what was queued but never taken.
    pub(super) fn mark_down(&self) -> Vec<Arc<Socket>> {
        let mut inbox = self.inbox.lock();
        inbox.down = true;
        self.down.store(true, Ordering::Release);
        std::mem::take(&mut inbox.sockets)
    }

    pub fn kick(&self) {
        self.waker.kick();
    }

    /// Hands a socket that started connecting or listening to the stack.
    pub fn submit(&self, sock: Arc<Socket>) -> Result<()> {
        let mut inbox = self.inbox.lock();
        if inbox.down {
            return Err(Errno::ENETDOWN);
        }
        inbox.sockets.push(sock);
        drop(inbox);
        self.kick();
        Ok(())
    }

    pub fn add_addr(&self, addr: NetAddr) -> Result<()> {
        let mut inbox = self.inbox.lock();
        if inbox.down {
            return Err(Errno::ENETDOWN);
        }
        self.addrs.write().push(addr);
        inbox.addrs.push(addr);
        drop(inbox);
        self.kick();
        Ok(())
    }

    pub fn owns_addr(&self, ip: IpAddr) -> bool {
        self.addrs.read().iter().any(|a| a.addr == ip)
    }

    /// The network that reaches `dst`: the longest matching prefix.
    pub fn route(&self, dst: IpAddr) -> Option<usize> {
        self.addrs
            .read()
            .iter()
            .filter(|a| a.contains(dst))
            .max_by_key(|a| a.prefix)
            .map(|a| a.net)
    }

    /// The network holding the local address `ip`.
    pub fn net_of(&self, ip: IpAddr) -> Option<usize> {
        self.addrs
            .read()
            .iter()
            .find(|a| a.addr == ip)
            .map(|a| a.net)
    }

    /// Networks with an address of the given family (for wildcard listeners).
    pub fn nets_for(&self, v6: bool) -> Vec<usize> {
        let mut nets: Vec<usize> = self
            .addrs
            .read()
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

    #[test]
    fn prefix_match() {
        let a = NetAddr {
            net: 0,
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 20,
        };
        assert!(a.contains("10.1.15.9".parse().unwrap()));
        assert!(!a.contains("10.1.16.1".parse().unwrap()));
        assert!(!a.contains("fd00::1".parse().unwrap()));
        let b = NetAddr {
            net: 0,
            addr: "fd00:1::1".parse().unwrap(),
            prefix: 64,
        };
        assert!(b.contains("fd00:1::99".parse().unwrap()));
        assert!(!b.contains("fd00:2::1".parse().unwrap()));
    }
}
