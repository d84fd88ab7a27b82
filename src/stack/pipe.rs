//! A TCP connection's smoltcp socket, shared by the stack and the app.
//!
//! App threads copy bytes straight into smoltcp's send buffer and out of
//! its receive buffer under this lock, which is the connection's own, not
//! the node's: a 64 KiB copy does not hold up other connections' rounds,
//! and each byte is copied once on each side instead of twice (through a
//! queue of the app socket's and again into smoltcp).
//!
//! Lock order: the node's stack lock, then a pipe, then the app socket's
//! state. The app never holds a pipe while it blocks or runs rounds.

use super::tune::Tune;
use crate::socket::SockState;
use parking_lot::{Mutex, MutexGuard};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

pub struct Pipe {
    inner: Mutex<Inner>,
}

struct Inner {
    set: SocketSet<'static>,
    /// The connection's socket; gone once the stack let go of it.
    handle: Option<SocketHandle>,
    /// How its buffers grow.
    tune: Tune,
}

pub struct PipeGuard<'a>(MutexGuard<'a, Inner>);

impl Pipe {
    /// A pipe holding `s`, in a socket set of its own (conns.rs).
    pub(super) fn new(s: tcp::Socket<'static>, tune: Tune) -> Pipe {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = Some(set.add(s));
        Pipe {
            inner: Mutex::new(Inner { set, handle, tune }),
        }
    }

    pub fn lock(&self) -> PipeGuard<'_> {
        PipeGuard(self.inner.lock())
    }
}

impl PipeGuard<'_> {
    /// The set smoltcp polls this connection in.
    pub(super) fn set(&mut self) -> &mut SocketSet<'static> {
        &mut self.0.set
    }

    fn socket(&mut self) -> Option<&mut tcp::Socket<'static>> {
        self.socket_and_tune().map(|(s, _)| s)
    }

    fn socket_and_tune(&mut self) -> Option<(&mut tcp::Socket<'static>, &mut Tune)> {
        let inner = &mut *self.0;
        let h = inner.handle?;
        Some((inner.set.get_mut(h), &mut inner.tune))
    }

    /// The stack's view with the connection's buffer tuning.
    pub(super) fn tcp_and_tune(&mut self) -> (&mut tcp::Socket<'static>, &mut Tune) {
        self.socket_and_tune()
            .expect("a live connection's socket is in its pipe")
    }

    /// The stack's view: its connection owns the socket until it ends.
    pub(super) fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.socket()
            .expect("a live connection's socket is in its pipe")
    }

    /// Takes the socket out (the connection ended).
    pub(super) fn take(&mut self) -> Option<smoltcp::socket::Socket<'static>> {
        let h = self.0.handle.take()?;
        Some(self.0.set.remove(h))
    }

    /// Copies queued bytes into `buf` (leaving them queued if `peek`);
    /// true in the second value if the read opened the window enough that
    /// the stack should tell the peer.
    pub fn read(&mut self, buf: &mut [u8], peek: bool, st: &mut SockState) -> (usize, bool) {
        let Some((s, tune)) = self.socket_and_tune() else {
            st.rx_queued = 0;
            return (0, false);
        };
        let free_before = s.recv_capacity() - s.recv_queue();
        let got = if peek {
            s.peek_slice(buf)
        } else {
            s.recv_slice(buf)
        };
        let n = got.unwrap_or(0);
        let grew = !peek && tune.after_read(s, n);
        let idle = !peek && tune.went_idle(s);
        st.rx_queued = s.recv_queue();
        st.rx_capacity = s.recv_capacity();
        // smoltcp sends a window update once the window doubled since it
        // last advertised it; while less than half the buffer was free the
        // peer may be waiting for one (a zero window among them). Beyond
        // that the peer has room and its next segment brings an ACK.
        let update = n > 0 && !peek && free_before < s.recv_capacity() / 2;
        (n, update || grew || idle)
    }

    /// Queues as much of `buf` as fits; returns how much did.
    pub fn write(&mut self, buf: &[u8], st: &mut SockState) -> usize {
        let Some((s, tune)) = self.socket_and_tune() else {
            st.tx_free = 0;
            return 0;
        };
        tune.before_write(s, buf.len());
        let n = s.send_slice(buf).unwrap_or(0);
        tune.wrote(n);
        st.tx_free = send_room(s);
        st.tx_capacity = s.send_capacity();
        n
    }
}

/// Bytes a write can queue now.
pub(super) fn send_room(s: &tcp::Socket) -> usize {
    if s.may_send() {
        s.send_capacity() - s.send_queue()
    } else {
        0
    }
}
