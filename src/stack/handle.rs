//! What app threads share with a running node's stack thread: the waker,
//! the inbox of new work, the port table and the node's addresses.

use super::dns::Lookup;
use super::ports::PortTable;
use super::route::{NetAddr, Route, Routing};
use crate::error::{Errno, Result};
use crate::socket::{Proto, Socket};
use crate::wake::StackWaker;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Work app threads hand the stack thread, taken in order.
pub(super) enum Command {
    /// A socket started connecting, listening, or was bound (datagrams).
    Socket(Arc<Socket>),
    Addr(NetAddr),
    Route(Route),
    /// The DNS servers changed.
    Dns,
    Lookup(Arc<Lookup>),
    /// Run a DHCP client on a network.
    Dhcp(usize),
    /// Join (true) or leave a multicast group on a network.
    Group(usize, IpAddr, bool),
    /// Signalled once every command before it has been applied.
    Fence(Arc<Fence>),
}

/// Lets an app thread wait until the stack has applied what it queued, so
/// calls like bind and IP_ADD_MEMBERSHIP take effect before they return.
#[derive(Default)]
pub struct Fence {
    passed: Mutex<bool>,
    cond: parking_lot::Condvar,
}

impl Fence {
    pub(super) fn pass(&self) {
        *self.passed.lock() = true;
        self.cond.notify_all();
    }
}

#[derive(Default)]
pub(super) struct Inbox {
    pub down: bool,
    pub commands: Vec<Command>,
}

/// Where a socket's TCP connection sits in its stack's table, so an app
/// call can name the connection it gave work to and the stack pumps that
/// one instead of all of them.
pub struct PumpTag {
    slot: AtomicUsize,
    /// The slot is in the touched list and not yet taken.
    queued: AtomicBool,
}

const NO_SLOT: usize = usize::MAX;

impl Default for PumpTag {
    fn default() -> Self {
        PumpTag {
            slot: AtomicUsize::new(NO_SLOT),
            queued: AtomicBool::new(false),
        }
    }
}

impl PumpTag {
    pub(super) fn set(&self, slot: usize) {
        self.slot.store(slot, Ordering::SeqCst);
        self.queued.store(false, Ordering::SeqCst);
    }

    #[cfg(test)]
    pub(super) fn slot(&self) -> Option<usize> {
        Some(self.slot.load(Ordering::SeqCst)).filter(|s| *s != NO_SLOT)
    }

    /// The connection in `slot` is gone; the socket may be tagged with a
    /// newer one, which stays.
    pub(super) fn clear(&self, slot: usize) {
        if self
            .slot
            .compare_exchange(slot, NO_SLOT, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.queued.store(false, Ordering::SeqCst);
        }
    }

    /// The stack took the slot from the touched list: the next touch
    /// queues it again.
    pub(super) fn taken(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }
}

pub struct StackHandle {
    pub node: i32,
    pub waker: Arc<StackWaker>,
    /// Connection slots app calls gave work to since the stack last looked.
    touched: Mutex<Vec<usize>>,
    /// App calls gave work to something other than an established
    /// connection (a listener, a datagram socket, the inbox): the next
    /// round looks at all of those, not only the touched connections.
    shared_work: AtomicBool,
    /// TCP ports, UDP ports, ICMP echo identifiers.
    ports: [Mutex<PortTable>; 3],
    pub(super) inbox: Mutex<Inbox>,
    down: AtomicBool,
    /// Swapped whole on change, so the stack thread reads a snapshot
    /// without holding a lock while it works.
    routing: RwLock<Arc<Routing>>,
    /// The IP MTU of each network (the loopback network last).
    pub ip_mtus: Vec<usize>,
    /// Multicast memberships: sockets per (network, group).
    groups: Mutex<HashMap<(usize, IpAddr), usize>>,
}

impl StackHandle {
    pub(super) fn new(
        node: i32,
        waker: Arc<StackWaker>,
        routing: Routing,
        ip_mtus: Vec<usize>,
    ) -> Self {
        StackHandle {
            node,
            waker,
            touched: Mutex::new(Vec::new()),
            shared_work: AtomicBool::new(false),
            ports: Default::default(),
            inbox: Mutex::new(Inbox::default()),
            down: AtomicBool::new(false),
            ip_mtus,
            groups: Mutex::new(HashMap::new()),
            routing: RwLock::new(Arc::new(routing)),
        }
    }

    /// A handle with no stack thread behind it, for unit tests.
    #[cfg(test)]
    pub fn detached_for_tests() -> Self {
        StackHandle::new(
            -1,
            Arc::new(StackWaker::default()),
            Routing::default(),
            Vec::new(),
        )
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
    /// Wakes whoever waits on work queued but never taken.
    pub(super) fn mark_down(&self) {
        let commands = {
            let mut inbox = self.inbox.lock();
            inbox.down = true;
            self.down.store(true, Ordering::Release);
            std::mem::take(&mut inbox.commands)
        };
        // Socket locks are taken only after the inbox lock is released:
        // app threads take them in the other order.
        for c in commands {
            match c {
                Command::Socket(sock) => {
                    let st = sock.state.lock();
                    sock.notify(&st);
                }
                Command::Lookup(l) => l.finish(Err(super::dns::LookupError::Down)),
                Command::Fence(f) => f.pass(),
                _ => {}
            }
        }
    }

    /// Queues work for the stack thread; ENETDOWN once it stopped.
    pub(super) fn send(&self, c: Command) -> Result<()> {
        let mut inbox = self.inbox.lock();
        if inbox.down {
            return Err(Errno::ENETDOWN);
        }
        inbox.commands.push(c);
        drop(inbox);
        self.kick_shared();
        Ok(())
    }

    /// Asks for a round that looks at listeners and datagram sockets too
    /// (room in an accept queue, a new backlog, room in a datagram queue).
    pub fn kick_shared(&self) {
        self.shared_work.store(true, Ordering::SeqCst);
        self.waker.kick();
    }

    /// Whether app calls asked for such a round since the last call.
    pub(super) fn take_shared_work(&self) -> bool {
        self.shared_work.swap(false, Ordering::SeqCst)
    }

    /// Leaves the work to the stack thread, which takes whatever queued up
    /// meanwhile in one round. For datagrams: a sender of small datagrams
    /// doing each one's rounds itself, and waking the receiver for each,
    /// managed 0.70x the kernel's rate; batched by the stack thread, 1.12x.
    pub fn kick_thread(&self) {
        self.waker.kick_thread();
    }

    /// Wakes the stack for work an app call gave this socket's connection
    /// (bytes queued or room made, close, shutdown, options). A socket the
    /// stack has not adopted yet needs no mark: adopting pumps it.
    pub fn touch(&self, sock: &Socket) {
        let slot = sock.pump.slot.load(Ordering::SeqCst);
        if slot == NO_SLOT {
            // A listener, a datagram socket, or a connection not adopted.
            self.kick_shared();
            return;
        }
        if !sock.pump.queued.swap(true, Ordering::SeqCst) {
            self.touched.lock().push(slot);
        }
        self.waker.kick();
    }

    /// The slots touched since the last call.
    pub(super) fn take_touched(&self, into: &mut Vec<usize>) {
        std::mem::swap(&mut *self.touched.lock(), into);
    }

    /// Hands a socket that started connecting or listening, or a bound
    /// datagram socket, to the stack.
    pub fn submit(&self, sock: Arc<Socket>) -> Result<()> {
        self.send(Command::Socket(sock))
    }

    /// Waits until the stack has applied every command queued so far.
    pub fn sync(&self) -> Result<()> {
        let fence = Arc::new(Fence::default());
        self.send(Command::Fence(fence.clone()))?;
        crate::wake::settle();
        let mut passed = fence.passed.lock();
        while !*passed {
            // The stack passes every fence it takes, and mark_down every
            // one it never took; the timeout only re-checks for a stack
            // thread that died.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            if fence.cond.wait_until(&mut passed, deadline).timed_out() && self.is_down() {
                return Err(Errno::ENETDOWN);
            }
        }
        Ok(())
    }

    pub fn add_addr(&self, addr: NetAddr) -> Result<()> {
        self.send(Command::Addr(addr))?;
        self.routing_mut().addrs.push(addr);
        Ok(())
    }

    pub fn add_route(&self, route: Route) -> Result<()> {
        self.send(Command::Route(route))?;
        let mut routing = self.routing_mut();
        routing
            .routes
            .retain(|r| !(r.dst == route.dst && r.prefix == route.prefix));
        routing.routes.push(route);
        Ok(())
    }

    pub fn set_dns(&self, servers: Vec<IpAddr>) -> Result<()> {
        self.routing_mut().dns = servers;
        self.send(Command::Dns)
    }

    /// Starts a DNS query; the stack finishes `lookup`.
    pub fn lookup(&self, lookup: Arc<Lookup>) -> Result<()> {
        self.send(Command::Lookup(lookup))
    }

    /// Counts a socket's membership of `group` on `net`; the network joins
    /// on the first and leaves after the last.
    pub fn multicast(&self, net: usize, group: IpAddr, join: bool) -> Result<()> {
        let mut groups = self.groups.lock();
        let count = groups.entry((net, group)).or_insert(0);
        let first_or_last = if join {
            *count += 1;
            *count == 1
        } else {
            *count = count.saturating_sub(1);
            *count == 0
        };
        if *count == 0 {
            groups.remove(&(net, group));
        }
        drop(groups);
        if first_or_last {
            self.send(Command::Group(net, group, join))?;
            self.sync()?;
        }
        Ok(())
    }

    pub fn start_dhcp(&self, net: usize) -> Result<()> {
        self.send(Command::Dhcp(net))
    }

    pub(super) fn routing_mut(&self) -> parking_lot::MappedRwLockWriteGuard<'_, Routing> {
        parking_lot::RwLockWriteGuard::map(self.routing.write(), Arc::make_mut)
    }

    /// A snapshot of the node's addresses and routes (no lock held).
    pub fn routing(&self) -> Arc<Routing> {
        self.routing.read().clone()
    }

    pub fn owns_addr(&self, ip: IpAddr) -> bool {
        self.routing.read().owns(ip)
    }

    pub fn route(&self, dst: IpAddr) -> Option<usize> {
        self.routing.read().route(dst)
    }
}
