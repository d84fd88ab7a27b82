//! Keeps app sockets and smoltcp's TCP sockets in step: connects, listen
//! backlogs, how much is queued and free each way (the bytes themselves
//! the app copies through the connection's pipe, pipe.rs), FIN and reset.
//!
//! smoltcp's listening socket takes one connection and becomes it. A
//! listener here keeps up to `backlog` smoltcp sockets listening on its
//! port; each that completes a handshake becomes an accepted connection
//! in the app socket's accept queue and is replaced by a fresh one.
//! Listening sockets hold their SYN-ACK until the pump looks at the SYN: a
//! client of the wrong family (an IPv4 client of an IPV6_V6ONLY listener)
//! is reset before it ever thinks it connected, and while the accept queue
//! is full, SYNs wait instead of being refused.

use super::Net;
use super::admit::SynRoom;
use super::backlog::Backlog;
use super::bufpool;
use super::conns::Tuple;
use super::pipe::{Pipe, PipeGuard, hold_lent, send_room};
use super::tune::Tune;
use crate::error::Errno;
use crate::socket::options::SockOpts;
use crate::socket::{Phase, Proto, SockState, Socket};
use crate::tap::lent::Lender;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::time::Duration;
use smoltcp::wire::IpListenEndpoint;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// An orphaned connection (fd closed) that makes no progress this long is reset.
const ORPHAN_TIMEOUT: Duration = Duration::from_secs(60);

/// Listening slots a listener keeps ready per network: each is a smoltcp
/// socket with its buffers, so a backlog of 4096 must not mean 4096 of
/// them up front. A SYN that finds none free gets a new one, up to the
/// backlog (admit.rs).
const READY_SLOTS: usize = 128;

pub struct Conn {
    pub sock: Arc<Socket>,
    pub net: usize,
    /// Its smoltcp socket, in a set of its own (conns.rs), shared with
    /// the app socket (pipe.rs).
    pub pipe: Arc<Pipe>,
    /// Waiting in the dirty list.
    pub(super) dirty: bool,
    /// When its timer entry says to look at it again.
    pub(super) due: Option<smoltcp::time::Instant>,
    /// (network, local, remote) as entered in the demultiplexer.
    pub(super) tuple: Option<Tuple>,
    /// Held back until this instant unless a neighbour answers first.
    pub(super) neighbour: Option<smoltcp::time::Instant>,
    /// Segments that arrived while an app thread held the pipe, oldest
    /// first (backlog.rs).
    pub(super) backlog: Backlog,
    /// Still connecting; the connect fails with ETIMEDOUT at this instant.
    pub deadline: Option<Instant>,
    /// When its SYN went, for the handshake's RTT.
    syn_sent_at: Option<Instant>,
    /// When its idle buffers' pages go back (tune.rs), if nothing moves.
    pub release_at: Option<Instant>,
    /// The app no longer owns this connection: finish it and forget it.
    detached: bool,
    fin_sent: bool,
    fin_seen: bool,
    opts_generation: u32,
}

impl Conn {
    pub(super) fn new(
        sock: Arc<Socket>,
        net: usize,
        s: tcp::Socket<'static>,
        detached: bool,
    ) -> Conn {
        let (rx_queued, rx_capacity, tx_free) = (s.recv_queue(), s.recv_capacity(), send_room(&s));
        let tx_capacity = s.send_capacity();
        // A loan coming back may be the room a writer waits for.
        let app = Arc::downgrade(&sock);
        let lender = Lender::new(Box::new(move || {
            if let Some(sock) = app.upgrade() {
                super::pipe::loans_back(&sock);
            }
        }));
        // A detached connection's socket may be its listener, whose lock
        // the caller holds.
        let (pipe, deadline, opts_generation) = if detached {
            let tune = Tune::new(&s, 0, true, true);
            (Arc::new(Pipe::new(s, tune, lender)), None, 0)
        } else {
            let mut st = sock.state.lock();
            let o = &st.opts;
            let tune = Tune::new(&s, o.tcp_buf_max, o.rcvbuf_locked, o.sndbuf_locked);
            let pipe = Arc::new(Pipe::new(s, tune, lender));
            st.pipe = Some(pipe.clone());
            st.rx_queued = rx_queued;
            st.rx_capacity = rx_capacity;
            st.tx_free = tx_free;
            st.tx_capacity = tx_capacity;
            (pipe, st.connect_deadline, st.opts_generation)
        };
        Conn {
            sock,
            net,
            pipe,
            dirty: false,
            due: None,
            tuple: None,
            neighbour: None,
            backlog: Backlog::default(),
            deadline,
            syn_sent_at: None,
            release_at: None,
            detached,
            fin_sent: false,
            fin_seen: false,
            opts_generation,
        }
    }

    pub fn lock(&self) -> PipeGuard<'_> {
        self.pipe.lock()
    }

    pub fn is_detached(&self) -> bool {
        self.detached
    }

    /// The app let go of it and smoltcp finished with it (a reset or a
    /// FIN exchange sent while the stack was sending, not pumping); `p`
    /// is its pipe.
    pub fn done(&self, p: &mut PipeGuard) -> bool {
        self.detached && finished(p.tcp())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.backlog.clear();
        let mut p = self.lock();
        match p.take() {
            // Its send buffer stays until the bytes lent from it are back.
            Some(smoltcp::socket::Socket::Tcp(s)) if p.lent() => {
                let (rx, tx) = s.into_buffers();
                bufpool::recycle_buffer(rx);
                p.retire(tx);
            }
            Some(s) => bufpool::recycle(s),
            None => {}
        }
    }
}

/// Takes a listening slot's smoltcp socket out of its network's set.
fn take_slot(nets: &mut [Net], net: usize, h: SocketHandle) -> tcp::Socket<'static> {
    match nets[net].sockets.remove(h) {
        smoltcp::socket::Socket::Tcp(s) => s,
        _ => unreachable!("listening slots are TCP sockets"),
    }
}

pub struct Listener {
    pub sock: Arc<Socket>,
    pub(super) slots: Vec<(usize, SocketHandle)>,
    /// Slots whose SYN-ACK was let go, and when, oldest first (handles
    /// are per network).
    pub(super) released: Vec<((usize, SocketHandle), Instant)>,
    pub(super) nets: Vec<usize>,
    pub(super) endpoint: IpListenEndpoint,
    /// SYN flood defence (see admit.rs).
    pub(super) syn_room: SynRoom,
}

pub enum Step {
    /// Keep it; true when bytes or state moved (smoltcp may have output).
    Keep(bool),
    Remove,
}

fn new_tcp(opts: &SockOpts, v6: bool) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(bufpool::take(opts.rcvbuf), bufpool::take(opts.sndbuf));
    s.set_congestion_control(CongestionControl::Cubic);
    if !opts.rcvbuf_locked {
        s.set_recv_capacity_max(opts.tcp_buf_max);
    }
    apply_opts(&mut s, opts, v6);
    s
}

/// Applies the app's options. smoltcp has one keepalive interval and one
/// idle timeout: probes go every TCP_KEEPIDLE seconds of silence, and the
/// connection is dropped after TCP_KEEPIDLE + TCP_KEEPINTVL * TCP_KEEPCNT
/// seconds without an answer.
fn apply_opts(s: &mut tcp::Socket, opts: &SockOpts, v6: bool) {
    s.set_nagle_enabled(!opts.nodelay);
    if opts.keepalive {
        s.set_keep_alive(Some(Duration::from_secs(opts.keepidle as u64)));
        let give_up = opts.keepidle as u64 + (opts.keepintvl * opts.keepcnt) as u64;
        s.set_timeout(Some(Duration::from_secs(give_up)));
    } else {
        s.set_keep_alive(None);
        s.set_timeout(None);
    }
    s.set_hop_limit(Some(if v6 { opts.hops } else { opts.ttl }));
}

/// Presents an address the way the app's socket family expects it
/// (IPv4 peers of an IPv6 socket as v4-mapped addresses).
fn for_domain(domain: i32, ep: smoltcp::wire::IpEndpoint) -> SocketAddr {
    let ip: IpAddr = ep.addr.into();
    let ip = match ip {
        IpAddr::V4(v4) if domain == libc::AF_INET6 => IpAddr::V6(v4.to_ipv6_mapped()),
        other => other,
    };
    SocketAddr::new(ip, ep.port)
}

/// The TCP segment size on a network with this IP MTU.
fn mss(ip_mtu: usize, local: Option<SocketAddr>) -> usize {
    let ip_header = match local {
        Some(SocketAddr::V4(_)) => 20,
        _ => 40,
    };
    ip_mtu.saturating_sub(ip_header + 20)
}

fn fail(sock: &Socket, st: &mut SockState, e: Errno) {
    st.phase = Phase::Fresh;
    st.so_error = Some(e);
    sock.notify(st);
}

/// Starts the connect a socket asked for; `None` if it failed at once.
pub fn open_conn(nets: &mut [Net], net: usize, sock: &Arc<Socket>) -> Option<Conn> {
    let mut st = sock.state.lock();
    if st.closed || st.phase != Phase::Connecting {
        return None;
    }
    let (Some(peer), Some(local)) = (st.peer, st.local) else {
        fail(sock, &mut st, Errno::EINVAL);
        return None;
    };
    let Some(n) = nets.get_mut(net) else {
        fail(sock, &mut st, Errno::ENETUNREACH);
        return None;
    };
    let mut s = new_tcp(&st.opts, sock.domain == libc::AF_INET6);
    let local_ep = IpListenEndpoint {
        addr: (!local.ip().is_unspecified()).then(|| local.ip().into()),
        port: local.port(),
    };
    if s.connect(n.iface.context(), peer, local_ep).is_err() {
        bufpool::recycle_tcp(s);
        fail(sock, &mut st, Errno::ENETUNREACH);
        return None;
    }
    drop(st);
    let mut c = Conn::new(sock.clone(), net, s, false);
    c.syn_sent_at = Some(Instant::now());
    Some(c)
}

/// smoltcp is done with the connection.
fn finished(s: &tcp::Socket) -> bool {
    match s.state() {
        State::Closed => s.remote_endpoint().is_none(),
        State::TimeWait => !s.can_recv(),
        _ => false,
    }
}

/// Keeps the app socket and the connection in step; `p` is its pipe.
pub fn pump_conn(ip_mtu: usize, c: &mut Conn, p: &mut PipeGuard, now: Instant) -> Step {
    let (s, tune, placed, lender) = p.tcp_and_tune();
    if c.detached {
        // Its connect (if any) ended: no deadline keeps waking it.
        c.deadline = None;
        // Nobody reads any more: drop what arrives so the window stays open.
        placed.discard(s);
        return if finished(s) {
            Step::Remove
        } else {
            Step::Keep(false)
        };
    }
    let sock = c.sock.clone();
    let mut st = sock.state.lock();
    let mut moved = false;
    let mut changed = false;

    if st.opts_generation != c.opts_generation {
        apply_opts(s, &st.opts, sock.domain == libc::AF_INET6);
        c.opts_generation = st.opts_generation;
    }
    let state = s.state();
    if matches!(
        state,
        State::CloseWait | State::LastAck | State::Closing | State::TimeWait
    ) {
        c.fin_seen = true;
    }

    if st.phase == Phase::Connecting {
        match state {
            State::SynSent | State::SynReceived => {
                if c.deadline.is_some_and(|d| now >= d) {
                    s.abort();
                    c.detached = true;
                    c.deadline = None;
                    fail(&sock, &mut st, Errno::ETIMEDOUT);
                    return Step::Keep(true);
                }
            }
            State::Closed => {
                c.detached = true;
                c.deadline = None;
                fail(&sock, &mut st, Errno::ECONNREFUSED);
                return Step::Keep(true);
            }
            _ => {
                st.phase = Phase::Connected;
                st.local = s.local_endpoint().map(|ep| for_domain(sock.domain, ep));
                st.mss = mss(ip_mtu, st.local);
                c.deadline = None;
                if let Some(at) = c.syn_sent_at.take() {
                    tune.handshake_rtt(now.duration_since(at));
                }
                changed = true;
            }
        }
    }

    if st.closed {
        if st.abort_on_close {
            s.abort();
            c.detached = true;
            return Step::Keep(true);
        }
        // What is queued goes out before the FIN.
        s.close();
        s.set_timeout(Some(ORPHAN_TIMEOUT));
        c.detached = true;
        return Step::Keep(true);
    }

    if st.phase == Phase::Connected {
        if st.shut_rd && s.recv_queue() > 0 {
            placed.discard(s);
            moved = true;
        }
        // App threads read and write smoltcp's buffers themselves; tell
        // the ones waiting when there is more to read or room to write.
        let held = hold_lent(s, tune, lender);
        let (rx_queued, tx_free) = (s.recv_queue(), send_room(s).saturating_sub(held));
        changed |= rx_queued > st.rx_queued;
        st.rx_queued = rx_queued;
        st.tx_capacity = s.send_capacity();
        changed |= st.room_for_writes(tx_free);
        if c.fin_seen && !st.rx_eof {
            st.rx_eof = true;
            changed = true;
        }
        if st.shut_wr && !c.fin_sent {
            s.close();
            c.fin_sent = true;
            moved = true;
        }
        if s.state() == State::Closed && !(c.fin_seen && c.fin_sent) && !st.reset {
            // Closed without both FINs: the peer reset us (or keepalive gave up).
            st.reset = true;
            st.rx_eof = true;
            st.so_error = Some(Errno::ECONNRESET);
            changed = true;
        }
    }

    if changed {
        sock.notify(&st);
    }
    let connected = st.phase == Phase::Connected;
    drop(st);
    c.release_at = if connected {
        tune.on_pump(s, now, lender.lent())
    } else {
        None
    };
    // Received bytes live only in smoltcp's buffer: the app reads them
    // first (after a reset, say).
    if finished(s) && s.recv_queue() == 0 {
        Step::Remove
    } else {
        Step::Keep(moved)
    }
}

impl Listener {
    pub fn new(sock: Arc<Socket>, nets: Vec<usize>, endpoint: IpListenEndpoint) -> Self {
        Listener {
            sock,
            slots: Vec::new(),
            released: Vec::new(),
            nets,
            syn_room: SynRoom::default(),
            endpoint,
        }
    }

    /// Releases every listening slot.
    pub fn close(&mut self, nets: &mut [Net]) {
        for (n, h) in self.slots.drain(..) {
            bufpool::recycle(nets[n].sockets.remove(h));
        }
    }
}

/// Harvests completed handshakes into the accept queue (new connections go
/// to `born`) and keeps the listening slots topped up.
pub fn pump_listener(nets: &mut [Net], l: &mut Listener, born: &mut Vec<Conn>) -> Step {
    let sock = l.sock.clone();
    let mut st = sock.state.lock();
    if st.closed || st.phase != Phase::Listening || sock.stack.is_down() {
        drop(st);
        l.close(nets);
        return Step::Remove;
    }
    let mut changed = false;
    let mut moved = false;
    let mut i = 0;
    while i < l.slots.len() {
        let (n, h) = l.slots[i];
        let s = nets[n].sockets.get_mut::<tcp::Socket>(h);
        match s.state() {
            State::Listen => {
                i += 1;
                continue;
            }
            State::SynReceived if l.released.iter().any(|(s, _)| *s == (n, h)) => {
                i += 1;
                continue;
            }
            State::SynReceived => {
                let v4 = s
                    .remote_endpoint()
                    .is_some_and(|r| matches!(r.addr, smoltcp::wire::IpAddress::Ipv4(_)));
                if (sock.domain == libc::AF_INET && !v4) || (v4 && st.opts.v6only) {
                    // Nobody listens for this family: refuse, as a host would.
                    s.abort();
                    l.slots.swap_remove(i);
                    born.push(Conn::new(sock.clone(), n, take_slot(nets, n, h), true));
                    moved = true;
                    continue;
                }
                if st.accept_queue.len() < st.backlog {
                    s.pause_synack(false);
                    l.released.push(((n, h), Instant::now()));
                    moved = true;
                }
                i += 1;
                continue;
            }
            State::Closed | State::TimeWait => {
                bufpool::recycle(nets[n].sockets.remove(h));
            }
            _ => {
                let (Some(local), Some(remote)) = (s.local_endpoint(), s.remote_endpoint()) else {
                    s.abort();
                    l.slots.swap_remove(i);
                    born.push(Conn::new(sock.clone(), n, take_slot(nets, n, h), true));
                    continue;
                };
                l.syn_room.completed(remote.addr);
                let mut opts = st.opts.clone();
                opts.nonblocking = false;
                let child = Socket::new(sock.stack.clone(), sock.domain, Proto::Tcp, opts);
                {
                    let mut cs = child.state.lock();
                    cs.phase = Phase::Connected;
                    cs.mss = mss(nets[n].ip_mtu, Some(for_domain(libc::AF_INET, local)));
                    cs.local = Some(for_domain(sock.domain, local));
                    cs.peer = Some(for_domain(sock.domain, remote));
                    cs.opts_generation = st.opts_generation;
                }
                let c = Conn::new(child.clone(), n, take_slot(nets, n, h), false);
                // Its SYN-ACK went when released; the ACK just came.
                if let Some((_, at)) = l.released.iter().find(|(s, _)| *s == (n, h)) {
                    c.lock().tcp_and_tune().1.handshake_rtt(at.elapsed());
                }
                born.push(c);
                st.accept_queue.push_back(child);
                changed = true;
                moved = true;
            }
        }
        l.slots.swap_remove(i);
    }

    let slots = &l.slots;
    l.released.retain(|(slot, _)| slots.contains(slot));
    l.syn_room.forget_gone(slots);
    let want = st
        .backlog
        .saturating_sub(st.accept_queue.len())
        .min(READY_SLOTS);
    for &n in &l.nets {
        let have = l.slots.iter().filter(|(sn, _)| *sn == n).count();
        for _ in have..want {
            let Some(s) = listening_slot(&st.opts, sock.domain, l.endpoint) else {
                break;
            };
            l.slots.push((n, nets[n].sockets.add(s)));
        }
    }
    if !st.listen_ready {
        st.listen_ready = true;
        changed = true;
    }
    if changed {
        sock.notify(&st);
    }
    Step::Keep(moved)
}

/// A fresh smoltcp socket listening for one connection of a listener,
/// holding its SYN-ACK until the pump looks.
pub(super) fn listening_slot(
    opts: &SockOpts,
    domain: i32,
    endpoint: IpListenEndpoint,
) -> Option<tcp::Socket<'static>> {
    let mut s = new_tcp(opts, domain == libc::AF_INET6);
    if s.listen(endpoint).is_err() {
        bufpool::recycle_tcp(s);
        return None;
    }
    s.pause_synack(true);
    Some(s)
}
