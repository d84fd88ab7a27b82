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
//!
//! A round taking in segments or pumping a connection only tries its
//! pipe's lock, as the kernel's softirq finds a socket owned by its user:
//! one an app thread holds (copying half a megabyte takes tens of
//! microseconds) is passed over, its segments held back in order
//! (backlog.rs), and the app thread has the stack look again when it lets
//! go. Rounds that waited for the copy put the writer and the reader of a
//! bulk flow to sleep about twice per write each.

use super::bufpool::Retired;
use super::device::NetDevice;
use super::placed::{MIN_PLACED, Placed};
use super::tune::Tune;
use crate::socket::{SockState, Socket};
use crate::tap::lent::Lender;
use parking_lot::{Mutex, MutexGuard};
use smoltcp::iface::{Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};

pub struct Pipe {
    inner: Mutex<Inner>,
    /// A round found the lock taken and left this connection to be
    /// looked at again once it is let go.
    passed_over: AtomicBool,
}

struct Inner {
    set: SocketSet<'static>,
    /// The connection's socket; gone once the stack let go of it.
    handle: Option<SocketHandle>,
    /// How its buffers grow.
    tune: Tune,
    /// Received payload smoltcp left in its frames.
    placed: Placed,
    /// Lends sent payloads to receivers in this process (tap/lent.rs).
    lender: Arc<Lender>,
}

pub struct PipeGuard<'a>(MutexGuard<'a, Inner>);

/// A live connection's socket, buffer tuning, held payload and lender.
pub(super) type Parts<'a> = (
    &'a mut tcp::Socket<'static>,
    &'a mut Tune,
    &'a mut Placed,
    &'a Arc<Lender>,
);

impl Pipe {
    /// A pipe holding `s`, in a socket set of its own (conns.rs).
    pub(super) fn new(s: tcp::Socket<'static>, tune: Tune, lender: Arc<Lender>) -> Pipe {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = Some(set.add(s));
        Pipe {
            inner: Mutex::new(Inner {
                set,
                handle,
                tune,
                placed: Placed::default(),
                lender,
            }),
            passed_over: AtomicBool::new(false),
        }
    }

    pub fn lock(&self) -> PipeGuard<'_> {
        PipeGuard(self.inner.lock())
    }

    fn try_lock(&self) -> Option<PipeGuard<'_>> {
        self.inner.try_lock().map(PipeGuard)
    }

    /// The lock for a round, unless another thread holds it: the holder
    /// then learns it was passed over when it lets go (`passed_over`).
    pub(super) fn try_lock_for_round(&self) -> Option<PipeGuard<'_>> {
        if let Some(p) = self.try_lock() {
            return Some(p);
        }
        self.passed_over.store(true, Ordering::SeqCst);
        // Pairs with the fence in `passed_over`: either the holder, after
        // letting go, sees the mark, or this second try gets the lock.
        fence(Ordering::SeqCst);
        self.try_lock()
    }

    /// After the caller let go of the lock (or failed to take it):
    /// whether a round passed the connection over meanwhile, and so must
    /// look at it again. Whoever clears the mark must have the stack
    /// look (`touch`), whatever else it does.
    pub fn passed_over(&self) -> bool {
        fence(Ordering::SeqCst);
        self.passed_over.load(Ordering::SeqCst) && self.passed_over.swap(false, Ordering::SeqCst)
    }
}

/// Loans of `sock`'s connection came back while its writer was short of
/// room: tells the writer the room there is now, from the thread that
/// gave them back (the reader's, as a kernel's reader frees the room a
/// writer waits for), or through the stack where a lock is taken. This
/// thread may hold other connections' locks, so it only tries these.
pub(super) fn loans_back(sock: &Arc<Socket>) {
    let Some(pipe) = sock.state.try_lock().and_then(|st| st.pipe.clone()) else {
        sock.stack.touch(sock);
        return;
    };
    let told = || -> Option<()> {
        let mut p = pipe.try_lock()?;
        let room = p.room()?;
        let mut st = sock.state.try_lock()?;
        drop(p);
        if st.room_for_writes(room) {
            sock.notify(&st);
        }
        Some(())
    };
    if told().is_none() | pipe.passed_over() {
        sock.stack.touch(sock);
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
        let Some((s, ..)) = self.parts().filter(|_| payload.is_some()) else {
            iface.poll_ingress_single(now, dev, &mut self.0.set);
            return;
        };
        let queued = s.recv_queue();
        let len = payload.as_ref().map_or(0, |r| r.len());
        if dev.next_is_lent() {
            s.require_placement(len);
        } else {
            s.offer_placement(len);
        }
        dev.keep_next();
        iface.poll_ingress_single(now, dev, &mut self.0.set);
        let kept = dev.take_kept();
        let Some((s, _, placed, _)) = self.parts() else {
            return;
        };
        match (s.take_placed(), kept, payload) {
            (n, Some((frame, loan)), Some(payload)) if n > 0 => {
                placed.push(queued, frame, payload, loan)
            }
            // Queued uncopied with no frame to read it from: never hand
            // the reader the buffer's stale bytes.
            (n, None, _) if n > 0 => s.abort(),
            (_, kept, _) => kept
                .into_iter()
                .for_each(|(f, _)| crate::tap::frames::give(f)),
        }
    }

    /// Lets smoltcp send what this connection has to send, its large
    /// payloads lent where the device takes them to this process.
    pub(super) fn egress(
        &mut self,
        iface: &mut Interface,
        now: smoltcp::time::Instant,
        dev: &mut NetDevice,
    ) {
        let lends = dev.lends();
        if let Some((s, tune, _, lender)) = self.parts() {
            s.set_payload_lending(if lends { MIN_PLACED } else { 0 });
            if lends {
                dev.lend_from(Some((lender.clone(), una(s, tune))));
            }
        }
        while iface.poll_egress(now, dev, &mut self.0.set) != PollResult::None {}
        dev.lend_from(None);
    }

    /// Bytes a write can queue now, the lent ones kept aside (noting
    /// whether the writer is short of room, `hold_lent`).
    fn room(&mut self) -> Option<usize> {
        let (s, tune, _, lender) = self.parts()?;
        let held = hold_lent(s, tune, lender);
        Some(send_room(s).saturating_sub(held))
    }

    /// Whether bytes of this connection are lent out now.
    pub(super) fn lent(&self) -> bool {
        self.0.lender.lent()
    }

    /// Keeps `storage` of this connection's send buffer until no loan
    /// reads it.
    pub(super) fn retire(&self, storage: tcp::SocketBuffer<'static>) {
        retire(&self.0.lender, storage);
    }

    fn socket(&mut self) -> Option<&mut tcp::Socket<'static>> {
        self.parts().map(|(s, ..)| s)
    }

    fn parts(&mut self) -> Option<Parts<'_>> {
        let inner = &mut *self.0;
        let h = inner.handle?;
        Some((
            inner.set.get_mut(h),
            &mut inner.tune,
            &mut inner.placed,
            &inner.lender,
        ))
    }

    /// The stack's view with the connection's buffer tuning and the
    /// payload held for it.
    pub(super) fn tcp_and_tune(&mut self) -> Parts<'_> {
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
        let Some((s, tune, placed, _)) = self.parts() else {
            st.rx_queued = 0;
            return (0, false);
        };
        let free_before = s.recv_capacity() - s.recv_queue();
        let n = if peek {
            placed.peek(s, buf)
        } else {
            placed.recv(s, buf)
        };
        let grew = !peek && tune.after_read(s, n, buf.len());
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
        let Some((s, tune, _, lender)) = self.parts() else {
            st.tx_free = 0;
            return 0;
        };
        let held = hold_lent(s, tune, lender);
        if let Some(old) = tune.before_write(s, buf.len(), held) {
            retire(lender, old);
        }
        let n = s.send_slice(buf).unwrap_or(0);
        tune.wrote(n);
        let held = hold_lent(s, tune, lender);
        st.tx_free = send_room(s).saturating_sub(held);
        st.tx_capacity = s.send_capacity();
        n
    }
}

/// Keeps `storage`, once a send buffer's, until no loan of `lender`'s
/// reads it.
fn retire(lender: &Lender, storage: tcp::SocketBuffer<'static>) {
    lender.park(Box::new(Retired::new(storage)));
}

/// Bytes the app wrote before the oldest unacknowledged one.
fn una(s: &tcp::Socket, tune: &Tune) -> u64 {
    tune.written() - s.send_queue() as u64
}

/// Keeps the bytes still lent after their ACK from being written over;
/// how many there are.
pub(super) fn hold_lent(s: &mut tcp::Socket<'static>, tune: &Tune, lender: &Lender) -> usize {
    let cap = s.send_capacity();
    let room = send_room(s);
    let held = lender.held(una(s, tune), |held| room.saturating_sub(held) * 3 < cap);
    s.set_send_held(held);
    held
}

/// Bytes a write can queue now.
pub(super) fn send_room(s: &tcp::Socket) -> usize {
    if s.may_send() {
        s.send_capacity() - s.send_queue()
    } else {
        0
    }
}
