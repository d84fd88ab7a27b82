//! What app threads share with a running node's stack thread: the waker,
//! the inbox of new work, the port table and the node's addresses.

use super::ports::PortTable;
use super::route::{NetAddr, Route, Routing};
use crate::error::{Errno, Result};
use crate::socket::{Proto, Socket};
use crate::wake::StackWaker;
use parking_lot::{Mutex, RwLock};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
pub(super) struct Inbox {
    pub down: bool,
    /// Sockets that started connecting or listening.
    pub sockets: Vec<Arc<Socket>>,
    /// Addresses and routes added while running.
    pub addrs: Vec<NetAddr>,
    pub routes: Vec<Route>,
}

pub struct StackHandle {
    pub node: i32,
    pub waker: Arc<StackWaker>,
    /// TCP ports, UDP ports, ICMP echo identifiers.
    ports: [Mutex<PortTable>; 3],
    pub(super) inbox: Mutex<Inbox>,
    down: AtomicBool,
    routing: RwLock<Routing>,
}

impl StackHandle {
    pub(super) fn new(node: i32, waker: Arc<StackWaker>, routing: Routing) -> Self {
        StackHandle {
            node,
            waker,
            ports: Default::default(),
            inbox: Mutex::new(Inbox::default()),
            down: AtomicBool::new(false),
            routing: RwLock::new(routing),
        }
    }

    /// A handle with no stack thread behind it, for unit tests.
    #[cfg(test)]
    pub fn detached_for_tests() -> Self {
        StackHandle::new(-1, Arc::new(StackWaker::default()), Routing::default())
    }

    /// The table of local ports (or ICMP identifiers) for `proto`; raw
    /// sockets have none.
    pub fn ports(&self, proto: Proto) -> Option<&Mutex<PortTable>> {
        match proto {
            Proto::Tcp => Some(&self.ports[0]),
            Proto::Udp => Some(&self.ports[1]),
            Proto::Ping => Some(&self.ports[2]),
            Proto::Raw(_) => None,
        }
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
        self.routing.write().addrs.push(addr);
        inbox.addrs.push(addr);
        drop(inbox);
        self.kick();
        Ok(())
    }

    pub fn add_route(&self, route: Route) -> Result<()> {
        let mut inbox = self.inbox.lock();
        if inbox.down {
            return Err(Errno::ENETDOWN);
        }
        self.routing.write().routes.push(route);
        inbox.routes.push(route);
        drop(inbox);
        self.kick();
        Ok(())
    }

    /// The node's addresses and routes, read-locked.
    pub fn routing(&self) -> parking_lot::RwLockReadGuard<'_, Routing> {
        self.routing.read()
    }

    pub fn owns_addr(&self, ip: IpAddr) -> bool {
        self.routing.read().owns(ip)
    }

    pub fn route(&self, dst: IpAddr) -> Option<usize> {
        self.routing.read().route(dst)
    }
}
