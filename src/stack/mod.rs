//! A node's stack: its smoltcp interfaces and sockets, and the rounds that
//! move frames and keep the app's sockets in step with smoltcp's. Rounds run
//! under the node's stack lock, on the app thread whose call gave the work
//! or on the node's stack thread, which sleeps until a frame from a tap
//! thread, a kick or smoltcp's next deadline, never on a fixed timer
//! (engine.rs).

mod admit;
mod backlog;
mod bufpool;
mod conns;
pub mod device;
mod dgram;
mod dhcp;
pub mod dns;
mod engine;
pub mod handle;
pub mod pipe;
mod placed;
pub mod ports;
pub mod route;
mod tcp;
mod tune;

use crate::error::{Errno, Result};
use crate::socket::{Phase, Proto, Socket};
use crate::tap::fifo::{DEFAULT_FIFO_BYTES, DEFAULT_FIFO_FRAMES, FrameFifo};
use crate::tap::link::Link;
use crate::tap::pcap::Pcap;
use crate::tap::stats::NetStats;
use crate::tap::uri::TapUri;
use crate::tap::{self, MacAddr, Prepared};
use crate::wake::StackWaker;
use conns::Conns;
use device::{NetDevice, Peek};
use dgram::Dgram;
use engine::Engine;
use handle::Command;
pub use handle::StackHandle;
use once_cell::sync::Lazy;
use route::{NetAddr, Route, Routing};
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{ChecksumCapabilities, Device};
use smoltcp::wire::{IpAddress, IpCidr, IpListenEndpoint};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tcp::{Listener, Step};

/// Rounds of poll-and-pump per burst, so a busy node still notices a stop
/// promptly and an app thread is not held long by others' work.
const MAX_ROUNDS: usize = 64;

/// Rounds per burst of the stack thread, which then lets go of the lock.
/// App threads only try it; one that finds it taken leaves its work to the
/// holder. A stack thread holding it for long bursts kept failing them,
/// took over the work of eight bulk flows and ran it in batches of
/// megabytes, cold in cache: a quarter of the rate, in one run of six.
const THREAD_ROUNDS: usize = 2;

/// Frames each network hands smoltcp per round.
const INGRESS_PER_ROUND: usize = 512;

static EPOCH: Lazy<Instant> = Lazy::new(Instant::now);

fn smol_now(now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(now.duration_since(*EPOCH).as_micros() as i64)
}

/// One network as the stack sees it.
pub struct Net {
    /// The largest IP packet the network carries.
    ip_mtu: usize,
    iface: Interface,
    device: NetDevice,
    sockets: SocketSet<'static>,
    /// The device's checksum capabilities, and whether they are in force
    /// now (not when the device says frames arrive intact).
    checksums: ChecksumCapabilities,
    verifying: bool,
}

impl Net {
    /// A raw or ping socket will hand packets to the app as they are: the
    /// wire carries real checksums from now on, this node's first of all.
    fn show_packets(&mut self) {
        self.device.expose();
        self.sync_checksums();
    }

    /// Computes and verifies checksums or neither, as the device says
    /// now. On an intact wire nobody verifies, so computing them for
    /// sending is waste (a tenth of a bulk flow's time at MTU 65535).
    fn sync_checksums(&mut self) {
        let verify = !self.device.intact();
        if verify == self.verifying {
            return;
        }
        self.verifying = verify;
        let caps = if verify {
            self.checksums.clone()
        } else {
            ChecksumCapabilities::ignored()
        };
        self.iface.set_checksum_caps(caps);
    }
}

impl Drop for Net {
    /// TCP sockets still here (listening slots of a stack that died) give
    /// their mapped buffers back.
    fn drop(&mut self) {
        let handles: Vec<_> = self.sockets.iter().map(|(h, _)| h).collect();
        for h in handles {
            bufpool::recycle(self.sockets.remove(h));
        }
    }
}

/// What a node brings to one network when it starts.
pub struct NetSpec {
    pub uri: TapUri,
    pub mac: MacAddr,
    pub prepared: Arc<Prepared>,
    pub stats: Arc<NetStats>,
    pub pcap: Option<Arc<Pcap>>,
}

/// A started stack: the handle app threads use, and the thread.
pub struct Running {
    pub handle: Arc<StackHandle>,
    thread: Option<JoinHandle<()>>,
}

fn add_iface_addr(iface: &mut Interface, a: &NetAddr) -> Result<()> {
    let cidr = IpCidr::new(a.addr.into(), a.prefix);
    let mut res = Ok(());
    iface.update_ip_addrs(|addrs| {
        if !addrs.contains(&cidr) && addrs.push(cidr).is_err() {
            res = Err(Errno::ENOBUFS);
        }
    });
    res
}

fn add_iface_route(iface: &mut Interface, r: &Route) {
    let cidr = IpCidr::new(r.dst.into(), r.prefix);
    let via: IpAddress = r.via.into();
    iface.routes_mut().update(|routes| {
        routes.retain(|x| x.cidr != cidr);
        let _ = routes.push(smoltcp::iface::Route {
            cidr,
            via_router: via,
            preferred_until: None,
            expires_at: None,
        });
    });
}

/// Attaches the node's taps and spawns its stack thread. Besides the
/// joined networks the node gets an internal loopback network (the last
/// one) carrying 127.0.0.1/8 and ::1.
pub fn start(
    node: i32,
    specs: &[NetSpec],
    mut routing: Routing,
    dhcp_nets: &[usize],
) -> Result<Running> {
    let waker = Arc::new(StackWaker::default());
    let now = Instant::now();
    let lo = specs.len();
    routing.addrs.extend(route::loopback_addrs(lo));
    let mut nets = Vec::with_capacity(specs.len() + 1);
    for i in 0..=lo {
        let rx = Arc::new(FrameFifo::new(
            DEFAULT_FIFO_FRAMES,
            DEFAULT_FIFO_BYTES,
            waker.clone(),
        ));
        let mut device = match specs.get(i) {
            Some(spec) => {
                let link = Arc::new(Link {
                    fifo: rx,
                    stats: spec.stats.clone(),
                    pcap: spec.pcap.clone(),
                    mtu: spec.uri.mtu,
                });
                let tap = tap::open(&spec.uri, &spec.prepared, spec.mac, link.clone())?;
                NetDevice::new(link, tap, spec.mac)
            }
            None => NetDevice::loopback(rx, tap::uri::MAX_MTU),
        };
        let mut config = Config::new(device.hardware_addr());
        config.random_seed = seed(node, i, now);
        let mut iface = Interface::new(config, &mut device, smol_now(now));
        for a in routing.addrs.iter().filter(|a| a.net == i) {
            add_iface_addr(&mut iface, a)?;
        }
        for r in routing.routes.iter().filter(|r| r.net == i) {
            add_iface_route(&mut iface, r);
        }
        let checksums = device.capabilities().checksum;
        nets.push(Net {
            ip_mtu: specs.get(i).map_or(tap::uri::MAX_MTU, |s| s.uri.mtu),
            iface,
            device,
            sockets: SocketSet::new(Vec::new()),
            checksums,
            verifying: true,
        });
    }
    let ip_mtus = nets.iter().map(|n| n.ip_mtu).collect();
    let handle = Arc::new(StackHandle::new(node, waker, routing, ip_mtus));
    let mut stack = Stack {
        handle: handle.clone(),
        nets,
        conns: Conns::default(),
        scratch: Vec::new(),
        listeners: Vec::new(),
        dgrams: Vec::new(),
        resolver: dns::Resolver::default(),
        dhcp: Vec::new(),
    };
    for &net in dhcp_nets {
        stack.dhcp.extend(dhcp::Dhcp::start(&mut stack.nets, net));
    }
    let engine = Engine::new(stack);
    let thread = std::thread::Builder::new()
        .name(format!("zts-stack-{node}"))
        .spawn(move || engine.run())
        .map_err(|_| Errno::ENOBUFS)?;
    Ok(Running {
        handle,
        thread: Some(thread),
    })
}

fn seed(node: i32, net: usize, now: Instant) -> u64 {
    let t = now.duration_since(*EPOCH).as_nanos() as u64;
    t ^ ((node as u64) << 32) ^ (net as u64) ^ std::process::id() as u64
}

impl Running {
    /// Stops the stack thread; every blocked call on its sockets returns
    /// ENETDOWN.
    pub fn stop(mut self) {
        self.handle.mark_down();
        self.handle.waker.kick_thread();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.mark_down();
            self.handle.waker.kick_thread();
            let _ = t.join();
        }
    }
}

struct Burst {
    done: bool,
    shared: bool,
}

struct Stack {
    handle: Arc<StackHandle>,
    nets: Vec<Net>,
    conns: Conns,
    /// Storage for the connection ids a round works through.
    scratch: Vec<usize>,
    listeners: Vec<Listener>,
    dgrams: Vec<Dgram>,
    resolver: dns::Resolver,
    dhcp: Vec<dhcp::Dhcp>,
}

impl Stack {
    /// Runs rounds until nothing is left to do: `done` is false if it
    /// stopped at the bound with work left. A round looks at the touched
    /// connections and at those a frame or timer reached; listeners,
    /// datagram sockets, DHCP and DNS only in a `full` burst (the stack
    /// thread's) or once something gave them work (`shared`), so an app
    /// call's rounds do not walk a listener's 128 ready slots each time.
    fn burst(&mut self, full: bool) -> Burst {
        let mut shared = full;
        let rounds = if full { THREAD_ROUNDS } else { MAX_ROUNDS };
        for _ in 0..rounds {
            self.handle.waker.start_round();
            shared |= self.handle.take_shared_work();
            shared |= self.take_inbox();
            let now = Instant::now();
            let (more, reached) = self.poll_nets(smol_now(now), shared);
            shared |= reached;
            let busy = self.pump(now, shared) | more;
            if !busy && !self.handle.waker.has_work() {
                return Burst { done: true, shared };
            }
        }
        Burst {
            done: false,
            shared,
        }
    }

    /// Lets smoltcp handle what arrived and send what is due; true if
    /// frames are left over for the next round. Ingress is bounded per
    /// round so the pump (ACKs, app data, released SYN-ACKs) runs while a
    /// flood keeps the queue full. A segment of a known connection goes to
    /// that connection's own socket set (conns.rs), which is then pumped;
    /// the rest to the network's set, each SYN after finding room at its
    /// listener (admit.rs).
    fn poll_nets(&mut self, now: smoltcp::time::Instant, shared: bool) -> (bool, bool) {
        let mut more = false;
        let mut reached = false;
        for (i, net) in self.nets.iter_mut().enumerate() {
            let mut here = shared;
            // Before this round sends anything: a raw port or capture may
            // have joined the wire.
            net.sync_checksums();
            net.iface.poll_maintenance(now);
            let mut budget = INGRESS_PER_ROUND;
            while let Some(peek) = net.device.peek() {
                if budget == 0 {
                    more = true;
                    break;
                }
                budget -= 1;
                // After the peek: the frame is out of the queue.
                net.sync_checksums();
                let (iface, dev, sockets) = (&mut net.iface, &mut net.device, &mut net.sockets);
                if let Some(id) = self.conns.route(i, &peek)
                    && let Some(c) = self.conns.get_mut(id)
                {
                    c.ingress(iface, now, dev, peek.payload());
                    self.conns.mark(id);
                    continue;
                }
                if let Peek::Neighbour = peek {
                    self.conns.neighbour_heard(i);
                }
                if let Some(syn) = peek.syn()
                    && !self.listeners.is_empty()
                    && !admit::admit_syn(sockets, &mut self.listeners, i, &syn)
                {
                    dev.drop_next();
                    continue;
                }
                here = true;
                iface.poll_ingress_single(now, dev, sockets);
            }
            if here {
                reached = true;
                while net
                    .iface
                    .poll_egress(now, &mut net.device, &mut net.sockets)
                    != PollResult::None
                {}
            }
        }
        (more, reached)
    }

    /// Applies what app threads queued; true if there was anything.
    fn take_inbox(&mut self) -> bool {
        let commands = std::mem::take(&mut self.handle.inbox.lock().commands);
        let any = !commands.is_empty();
        for c in commands {
            match c {
                Command::Socket(sock) => self.register(sock),
                Command::Addr(a) => {
                    if let Some(net) = self.nets.get_mut(a.net) {
                        let _ = add_iface_addr(&mut net.iface, &a);
                    }
                }
                Command::Route(r) => {
                    if let Some(net) = self.nets.get_mut(r.net) {
                        add_iface_route(&mut net.iface, &r);
                    }
                }
                Command::Dns => {
                    let routing = self.handle.routing();
                    self.resolver.servers_changed(&mut self.nets, &routing);
                }
                Command::Lookup(l) => {
                    let routing = self.handle.routing();
                    self.resolver.start(&mut self.nets, &routing, l);
                }
                Command::Dhcp(net) => {
                    if !self.dhcp.iter().any(|d| d.net() == net) {
                        self.dhcp.extend(dhcp::Dhcp::start(&mut self.nets, net));
                    }
                }
                Command::Fence(f) => f.pass(),
                Command::Group(net, group, join) => {
                    if let Some(net) = self.nets.get_mut(net) {
                        let iface = &mut net.iface;
                        let _ = if join {
                            iface.join_multicast_group(IpAddress::from(group))
                        } else {
                            iface.leave_multicast_group(IpAddress::from(group))
                        };
                    }
                }
            }
        }
        any
    }

    fn register(&mut self, sock: Arc<Socket>) {
        if sock.proto != Proto::Tcp {
            let routing = self.handle.routing();
            if let Some(d) = dgram::open(&mut self.nets, &routing, &sock) {
                self.dgrams.push(d);
                // Whatever the app queued before the stack saw the socket.
                let _ = dgram::pump(&mut self.nets, &routing, self.dgrams.last_mut().unwrap());
            }
            return;
        }
        let (phase, local, peer) = {
            let st = sock.state.lock();
            (st.phase, st.local, st.peer)
        };
        match phase {
            Phase::Connecting => {
                let net = peer.and_then(|p| self.handle.route(p.ip())).unwrap_or(0);
                if let Some(c) = tcp::open_conn(&mut self.nets, net, &sock) {
                    self.conns.insert(c);
                }
            }
            Phase::Listening => {
                let Some(local) = local else { return };
                // A wildcard listener listens on every network, including
                // ones whose address comes later (DHCP); connections of the
                // wrong family are refused when they complete.
                let (nets, addr) = if local.ip().is_unspecified() {
                    ((0..self.nets.len()).collect(), None)
                } else {
                    let net = self
                        .handle
                        .routing()
                        .net_of(local.ip())
                        .into_iter()
                        .collect();
                    (net, Some(local.ip().into()))
                };
                let endpoint = IpListenEndpoint {
                    addr,
                    port: local.port(),
                };
                // Open the listening slots now, before this round's frames
                // are polled, and tell the app it listens.
                let mut l = Listener::new(sock, nets, endpoint);
                let mut born = Vec::new();
                if let Step::Keep(_) = tcp::pump_listener(&mut self.nets, &mut l, &mut born) {
                    self.listeners.push(l);
                }
                for c in born {
                    self.conns.insert(c);
                }
            }
            Phase::Fresh | Phase::Bound | Phase::Connected => {}
        }
    }

    /// Brings app sockets and smoltcp's sockets in step; true if
    /// anything moved (so smoltcp may have more to send). Of the
    /// connections, only those with work (conns.rs).
    fn pump(&mut self, now: Instant, shared: bool) -> bool {
        let smol = smol_now(now);
        let mut moved = self.pump_conns(now, smol);
        if !shared {
            return moved;
        }
        let mut born = Vec::new();
        let mut i = 0;
        while i < self.listeners.len() {
            match tcp::pump_listener(&mut self.nets, &mut self.listeners[i], &mut born) {
                Step::Keep(m) => {
                    moved |= m;
                    i += 1;
                }
                Step::Remove => {
                    self.listeners.swap_remove(i);
                }
            }
        }
        for c in born {
            moved = true;
            self.conns.insert(c);
        }
        for d in &mut self.dhcp {
            if d.pump(&mut self.nets, &self.handle) {
                moved = true;
                self.conns.mark_net(d.net());
            }
        }
        if self.resolver.busy() {
            moved |= self.resolver.pump(&mut self.nets);
        }
        if !self.dgrams.is_empty() {
            let routing = self.handle.routing();
            let mut i = 0;
            while i < self.dgrams.len() {
                match dgram::pump(&mut self.nets, &routing, &mut self.dgrams[i]) {
                    Step::Keep(m) => {
                        moved |= m;
                        i += 1;
                    }
                    Step::Remove => {
                        self.dgrams.swap_remove(i);
                    }
                }
            }
        }
        moved
    }

    /// Pumps the connections an app call touched, a packet reached or a
    /// timer called for, then lets each send.
    fn pump_conns(&mut self, now: Instant, smol: smoltcp::time::Instant) -> bool {
        // The lists trade their storage with the handle's and the table's,
        // so a round allocates nothing.
        let mut ids = std::mem::take(&mut self.scratch);
        self.handle.take_touched(&mut ids);
        for id in ids.drain(..) {
            self.conns.touched(id);
        }
        self.conns.mark_due(smol);
        self.conns.take_dirty(&mut ids);
        let mut moved = false;
        for id in ids.drain(..) {
            let Some(c) = self.conns.get_mut(id) else {
                continue;
            };
            c.dirty = false;
            let net = &mut self.nets[c.net];
            let pipe = c.pipe.clone();
            // An app thread holds it (or another node's round, giving a
            // loan back): the holder has the stack look again when it
            // lets go (pipe.rs).
            let Some(mut p) = pipe.try_lock_for_round() else {
                continue;
            };
            c.backlog
                .replay(&mut p, &mut net.iface, smol, &mut net.device);
            let step = tcp::pump_conn(net.ip_mtu, c, &mut p, now);
            let before = p.tcp().state();
            p.egress(&mut net.iface, smol, &mut net.device);
            let changed = p.tcp().state() != before;
            let mut at = net.iface.poll_at(smol, p.set());
            let done = c.done(&mut p);
            drop(p);
            if matches!(step, Step::Remove) || done {
                self.conns.remove(id);
                continue;
            }
            moved |= matches!(step, Step::Keep(true)) || changed;
            for d in [c.deadline, c.release_at].into_iter().flatten() {
                let d = smol_now(d);
                at = Some(at.map_or(d, |a| a.min(d)));
            }
            self.conns.schedule(id, smol, at);
            if changed {
                // A timer moved smoltcp on (closed, timed out): the pump
                // must see it.
                self.conns.mark(id);
            }
        }
        self.scratch = ids;
        moved
    }

    /// How long the thread may sleep: smoltcp's next deadline or the
    /// nearest connect timeout, whichever is first.
    /// Of the networks' own sockets only if `shared`: rounds that did not
    /// look at them did not move their timers.
    fn delay(&mut self, shared: bool) -> Option<Duration> {
        let now = Instant::now();
        let smol = smol_now(now);
        let mut delay: Option<Duration> = None;
        let mut earliest = |d: Duration| delay = Some(delay.map_or(d, |x| x.min(d)));
        for net in self.nets.iter_mut().filter(|_| shared) {
            if let Some(d) = net.iface.poll_delay(smol, &net.sockets) {
                earliest(Duration::from_micros(d.total_micros()));
            }
        }
        if self.conns.has_dirty() {
            return Some(Duration::ZERO);
        }
        if let Some(at) = self.conns.next_due() {
            // smoltcp's Instant difference is absolute: a past time is now.
            let wait = if at > smol {
                (at - smol).total_micros()
            } else {
                0
            };
            earliest(Duration::from_micros(wait));
        }
        delay
    }

    /// Resets every connection (so peers learn at once) and wakes every
    /// caller blocked on this node's sockets.
    fn teardown(&mut self) {
        let now = smol_now(Instant::now());
        for c in self.conns.drain() {
            let mut p = c.lock();
            p.tcp().abort();
            let net = &mut self.nets[c.net];
            net.iface.poll_egress(now, &mut net.device, p.set());
            drop(p);
            let st = c.sock.state.lock();
            c.sock.notify(&st);
        }
        for net in &mut self.nets {
            net.iface.poll(now, &mut net.device, &mut net.sockets);
        }
        for mut l in self.listeners.drain(..) {
            l.close(&mut self.nets);
            let st = l.sock.state.lock();
            l.sock.notify(&st);
        }
        self.resolver.abandon(&mut self.nets);
        for mut d in self.dhcp.drain(..) {
            d.stop(&mut self.nets, &self.handle);
        }
        for mut d in self.dgrams.drain(..) {
            d.close(&mut self.nets);
            let st = d.sock.state.lock();
            d.sock.notify(&st);
        }
    }
}
