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

use super::device::NetDevice;
use super::placed::{MIN_PLACED, Placed};
use super::tune::Tune;
use crate::socket::SockState;
use parking_lot::{Mutex, MutexGuard};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use std::ops::Range;

pub struct Pipe {
    inner: Mutex<Inner>,
}

struct Inner {
    set: SocketSet<'static>,
    /// The connection's socket; gone once the stack let go of it.
    handle: Option<SocketHandle>,
    /// How its buffers grow.
    tune: Tune,
    /// Received payload smoltcp left in its frames.
    placed: Placed,
}

pub struct PipeGuard<'a>(MutexGuard<'a, Inner>);

impl Pipe {
    /// A pipe holding `s`, in a socket set of its own (conns.rs).
    pub(super) fn new(s: tcp::Socket<'static>, tune: Tune) -> Pipe {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = Some(set.add(s));
        Pipe {
            inner: Mutex::new(Inner {
                set,
                handle,
                tune,
                placed: Placed::default(),
            }),
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

    /// Lets smoltcp take the device's next frame, which is this
    /// connection's, with a whole segment's payload at `payload` (its
    /// peek): a large one stays in the frame (placed.rs).
    pub(super) fn ingress(
        &mut self,
        iface: &mut Interface,
        now: smoltcp::time::Instant,
        dev: &mut NetDevice,
        payload: Option<Range<usize>>,
    ) {
        let payload = payload.filter(|r| dev.keeps_for(r, MIN_PLACED));
        let Some((s, _, _)) = self.parts().filter(|_| payload.is_some()) else {
            iface.poll_ingress_single(now, dev, &mut self.0.set);
            return;
        };
        let queued = s.recv_queue();
        s.offer_placement(payload.as_ref().map_or(0, |r| r.len()));
        dev.keep_next();
        iface.poll_ingress_single(now, dev, &mut self.0.set);
        let kept = dev.take_kept();
        let Some((s, _, placed)) = self.parts() else {
            return;
        };
        match (s.take_placed(), kept, payload) {
            (n, Some(frame), Some(payload)) if n > 0 => placed.push(queued, frame, payload),
            // Queued uncopied with no frame to read it from: never hand
            // the reader the buffer's stale bytes.
            (n, None, _) if n > 0 => s.abort(),
            (_, kept, _) => kept.into_iter().for_each(crate::tap::frames::give),
        }
    }

    fn socket(&mut self) -> Option<&mut tcp::Socket<'static>> {
        self.parts().map(|(s, _, _)| s)
    }

    fn parts(&mut self) -> Option<(&mut tcp::Socket<'static>, &mut Tune, &mut Placed)> {
        let inner = &mut *self.0;
        let h = inner.handle?;
        Some((inner.set.get_mut(h), &mut inner.tune, &mut inner.placed))
    }

    /// The stack's view with the connection's buffer tuning and the
    /// payload held for it.
    pub(super) fn tcp_and_tune(&mut self) -> (&mut tcp::Socket<'static>, &mut Tune, &mut Placed) {
        self.parts()
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
        let Some((s, tune, placed)) = self.parts() else {
            st.rx_queued = 0;
            return (0, false);
        };
        let free_before = s.recv_capacity() - s.recv_queue();
        let n = if peek {
            placed.peek(s, buf)
        } else {
            placed.recv(s, buf)
        };
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
        let Some((s, tune, _)) = self.parts() else {
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
