//! Sockets as the app sees them: per-fd state and the condition variable
//! app threads block on. A TCP socket's bytes live in its connection's
//! smoltcp buffers, which app calls read and write through the connection's
//! pipe (stack/pipe.rs); datagram sockets queue whole messages here.

pub mod datagrams;
mod dgram;
pub mod options;
pub mod poll;
mod sockopt;
mod stream;
pub mod table;
pub mod waiter;
pub mod watch;

use crate::error::{Errno, Result};
use crate::stack::StackHandle;
use crate::stack::handle::PumpTag;
use crate::stack::pipe::Pipe;
use crate::stack::ports::PortLease;
use datagrams::DatagramQueue;
use options::SockOpts;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use waiter::Waker;

/// What a socket speaks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    /// A ping socket (SOCK_DGRAM with IPPROTO_ICMP or IPPROTO_ICMPV6).
    Ping,
    /// SOCK_RAW with this IP protocol number.
    Raw(u8),
}

impl Proto {
    pub fn sotype(self) -> i32 {
        match self {
            Proto::Tcp => libc::SOCK_STREAM,
            Proto::Udp | Proto::Ping => libc::SOCK_DGRAM,
            Proto::Raw(_) => libc::SOCK_RAW,
        }
    }

    pub fn number(self, domain: i32) -> i32 {
        match self {
            Proto::Tcp => libc::IPPROTO_TCP,
            Proto::Udp => libc::IPPROTO_UDP,
            Proto::Ping if domain == libc::AF_INET6 => libc::IPPROTO_ICMPV6,
            Proto::Ping => libc::IPPROTO_ICMP,
            Proto::Raw(p) => p as i32,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not connected and not listening (new, or after a failed connect).
    Fresh,
    /// A datagram socket with a local port, known to the stack.
    Bound,
    Listening,
    Connecting,
    Connected,
}

pub struct SockState {
    pub phase: Phase,
    /// The fd was closed; the stack finishes (or resets) the connection.
    pub closed: bool,
    /// Close sends a reset instead of a FIN (SO_LINGER {1, 0}, or an
    /// accepted connection its listener closed before accepting it).
    pub abort_on_close: bool,
    /// SO_ERROR: reported once, by the next call or by SO_ERROR.
    pub so_error: Option<Errno>,
    /// The peer reset the connection: writes fail with EPIPE.
    pub reset: bool,
    /// The TCP connection's smoltcp socket, once connecting or accepted.
    pub pipe: Option<Arc<Pipe>>,
    /// Bytes waiting in the connection's receive buffer, as of the last
    /// look under its pipe (the stack's pump, or a read).
    pub rx_queued: usize,
    pub rx_capacity: usize,
    /// Bytes a write can queue, as of the last look under the pipe.
    pub tx_free: usize,
    /// The connection's send buffer size (it grows, stack/tune.rs).
    pub tx_capacity: usize,
    /// Datagram sockets queue whole messages instead of bytes.
    pub rx_dgrams: DatagramQueue,
    pub tx_dgrams: DatagramQueue,
    /// The peer's FIN (or a reset) arrived: once the queued bytes are
    /// read, reads return 0.
    pub rx_eof: bool,
    pub shut_rd: bool,
    pub shut_wr: bool,
    /// A datagram socket's stack left datagrams in smoltcp because
    /// `rx_dgrams` was full; a read that makes room must kick the stack.
    pub rx_stalled: bool,
    pub accept_queue: VecDeque<Arc<Socket>>,
    pub backlog: usize,
    /// The stack has this listener's slots listening: connects succeed.
    pub listen_ready: bool,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    pub lease: Option<PortLease>,
    pub opts: SockOpts,
    /// Bumped when an option the stack applies to smoltcp changes.
    pub opts_generation: u32,
    pub connect_deadline: Option<Instant>,
    /// Multicast groups this socket joined, per network.
    pub groups: Vec<(usize, std::net::IpAddr)>,
    /// TCP_MAXSEG: the segment size of the established connection.
    pub mss: usize,
    pub waiters: Vec<Arc<dyn Waker>>,
}

impl SockState {
    /// A TCP socket has room worth waking a writer for: at least half as
    /// much free as queued, Linux's `sk_stream_is_writeable`. A writer
    /// woken for every freed segment would write a sliver and block again.
    pub fn writable(&self) -> bool {
        self.tx_free > 0 && self.tx_free * 3 >= self.tx_capacity
    }

    /// Records the room a write has now; true if it grew to room worth
    /// waking a writer for.
    pub fn room_for_writes(&mut self, free: usize) -> bool {
        let more = free > self.tx_free;
        self.tx_free = free;
        more && self.writable()
    }
}

pub struct Socket {
    /// AF_INET or AF_INET6.
    pub domain: i32,
    pub proto: Proto,
    pub stack: Arc<StackHandle>,
    pub state: Mutex<SockState>,
    pub cond: Condvar,
    /// Calls in progress through the fd table; the fd is not reused until 0.
    pub(crate) calls: AtomicUsize,
    /// Where the stack keeps this socket's connection (TCP).
    pub(crate) pump: PumpTag,
    /// Notifications so far: a waiter that let go of the state sees
    /// whether one came meanwhile.
    notified: AtomicU64,
}

impl Socket {
    pub fn new(stack: Arc<StackHandle>, domain: i32, proto: Proto, opts: SockOpts) -> Arc<Socket> {
        Arc::new(Socket {
            domain,
            proto,
            stack,
            state: Mutex::new(SockState {
                phase: Phase::Fresh,
                closed: false,
                abort_on_close: false,
                so_error: None,
                reset: false,
                pipe: None,
                rx_queued: 0,
                rx_capacity: opts.rcvbuf,
                tx_free: 0,
                tx_capacity: opts.sndbuf,
                rx_dgrams: DatagramQueue::new(opts.rcvbuf),
                tx_dgrams: DatagramQueue::new(opts.sndbuf),
                rx_eof: false,
                shut_rd: false,
                shut_wr: false,
                rx_stalled: false,
                accept_queue: VecDeque::new(),
                backlog: 0,
                listen_ready: false,
                local: None,
                peer: None,
                lease: None,
                opts,
                opts_generation: 0,
                connect_deadline: None,
                mss: 536,
                groups: Vec::new(),
                waiters: Vec::new(),
            }),
            cond: Condvar::new(),
            calls: AtomicUsize::new(0),
            notified: AtomicU64::new(0),
            pump: PumpTag::default(),
        })
    }

    /// Wakes every thread waiting on this socket, directly or through poll.
    pub fn notify(&self, st: &SockState) {
        self.notified.fetch_add(1, Ordering::Relaxed);
        self.cond.notify_all();
        for w in &st.waiters {
            w.wake();
        }
    }

    /// EBADF once the fd is closed, ENETDOWN once the node stopped.
    pub fn check_open(&self, st: &SockState) -> Result<()> {
        if st.closed {
            Err(Errno::EBADF)
        } else if self.stack.is_down() {
            Err(Errno::ENETDOWN)
        } else {
            Ok(())
        }
    }

    /// Blocks until notified or `deadline`; false on timeout.
    /// Stack work this thread owes is done first (which may be what it
    /// waits for), and counts as a wakeup: callers check again.
    pub fn wait(&self, st: &mut MutexGuard<'_, SockState>, deadline: Option<Instant>) -> bool {
        if crate::wake::owes() {
            MutexGuard::unlocked(st, crate::wake::settle);
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        // Frames for this node may be waiting for a round (another
        // thread's, or the stack thread's once woken): run it here rather
        // than sleep until then, and with SO_BUSY_POLL look for the
        // wakeup a while longer.
        let busy = Duration::from_micros(st.opts.busy_poll.into());
        if (!busy.is_zero() || self.stack.waker.has_work())
            && self.busy_poll(st, Instant::now() + busy, deadline)
        {
            return true;
        }
        match deadline {
            Some(d) => !self.cond.wait_until(st, d).timed_out(),
            None => {
                self.cond.wait(st);
                true
            }
        }
    }

    /// Looks for a notification until `until` (once, if that has passed)
    /// with the state let go, running the node's pending rounds when
    /// nobody is, and yielding the core to any thread that can use it;
    /// true if one came or a round ran. The state being let go, a
    /// notification meanwhile would be missed by a wait after this one
    /// returned false: hence the counter. A thread that slept costs its
    /// waker a futex call and, on an idle core of a virtual machine, tens
    /// of microseconds before it runs again (SO_BUSY_POLL).
    fn busy_poll(
        &self,
        st: &mut MutexGuard<'_, SockState>,
        until: Instant,
        deadline: Option<Instant>,
    ) -> bool {
        let until = deadline.map_or(until, |d| d.min(until));
        let seen = self.notified.load(Ordering::Relaxed);
        let woke = MutexGuard::unlocked(st, || {
            loop {
                if self.notified.load(Ordering::Relaxed) != seen || self.stack.waker.help() {
                    return true;
                }
                if Instant::now() >= until {
                    return false;
                }
                std::thread::yield_now();
            }
        });
        woke || self.notified.load(Ordering::Relaxed) != seen
    }

    /// The current poll(2) events of this socket.
    pub fn readiness(&self) -> i16 {
        let st = self.state.lock();
        if st.closed {
            return libc::POLLNVAL;
        }
        if self.stack.is_down() {
            return libc::POLLERR | libc::POLLHUP;
        }
        let mut ev = 0;
        if st.so_error.is_some() {
            ev |= libc::POLLERR;
        }
        if self.proto != Proto::Tcp {
            if !st.rx_dgrams.is_empty() || st.shut_rd {
                ev |= libc::POLLIN;
            }
            if st.tx_dgrams.has_room() && !st.shut_wr {
                ev |= libc::POLLOUT;
            }
            return ev;
        }
        match st.phase {
            Phase::Listening => {
                if !st.accept_queue.is_empty() {
                    ev |= libc::POLLIN;
                }
            }
            Phase::Connected => {
                let lowat = st.opts.rcvlowat.min(st.rx_capacity).max(1);
                if st.rx_queued >= lowat || st.rx_eof || st.shut_rd {
                    ev |= libc::POLLIN;
                }
                if st.rx_eof {
                    ev |= libc::POLLRDHUP;
                }
                if st.reset || (st.rx_eof && st.shut_wr) {
                    ev |= libc::POLLHUP;
                }
                if st.reset || st.shut_wr || st.writable() {
                    ev |= libc::POLLOUT;
                }
            }
            Phase::Connecting => {}
            Phase::Fresh | Phase::Bound => ev |= libc::POLLOUT | libc::POLLHUP,
        }
        ev
    }
}

/// One received message: its length (the whole datagram's when MSG_TRUNC
/// was asked for), where it came from, and whether it was cut short.
pub struct Received {
    pub len: usize,
    pub from: Option<SocketAddr>,
    pub truncated: bool,
}

impl Socket {
    pub fn connect(self: &Arc<Self>, addr: SocketAddr) -> Result<()> {
        match self.proto {
            Proto::Tcp => self.stream_connect(addr),
            _ => self.dgram_connect(addr),
        }
    }

    /// recv/recvfrom/recvmsg with MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL and
    /// MSG_TRUNC.
    pub fn recv_from(&self, buf: &mut [u8], flags: i32) -> Result<Received> {
        match self.proto {
            Proto::Tcp => Ok(Received {
                len: self.stream_recv(buf, flags)?,
                from: None,
                truncated: false,
            }),
            _ => self.dgram_recv(buf, flags),
        }
    }

    /// send/sendto/sendmsg; `to` is ignored on a stream socket, as by Linux.
    pub fn send_to(
        self: &Arc<Self>,
        buf: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> Result<usize> {
        match self.proto {
            Proto::Tcp => self.stream_send(buf, flags),
            _ => self.dgram_send(buf, flags, to),
        }
    }
}

/// The absolute deadline for a wait of `timeout` starting now.
pub fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t)
}
