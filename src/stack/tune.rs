//! Buffers that grow with the path, as Linux's do.
//!
//! A connection's window can never exceed its receive buffer, and what it
//! has in flight never exceeds its send buffer, so fixed buffers cap a flow
//! at buffer / RTT (512 KiB per 20 ms is 210 Mbit/s). Here both start at
//! the default and grow while the connection shows it needs more, up to
//! the node's maximum:
//! - the receive buffer, as `tcp_rcv_space_adjust` does: at the app's
//!   reads, to twice what arrives in an RTT at the rate measured since
//!   the last look, and to twice what the app asks for in a read (but
//!   no more than four times what the read found waiting);
//! - the send buffer, as `tcp_sndbuf_expand` does: when a write finds it
//!   full, to twice what the app queues in an RTT at its current rate,
//!   but no more than twice what the windows let fly.
//!
//! Holes make both need more than the rate and the handshake's RTT say:
//! data behind a hole waits in the window until the hole fills, an RTT or
//! more later on a reordering path. So the receive buffer also doubles
//! when out-of-order data reaches past three quarters of it, and the send
//! buffer grows, when a write finds it full, to what the peer's window and
//! the congestion window (with the SACKed data it holds besides) both
//! allow, plus bytes still lent to an in-process reader (tap/lent.rs) and
//! room for the write. A clean link never has out-of-order data, so the
//! receive rule never touches it.
//!
//! The RTT is the handshake's (SYN-ACK to ACK on the passive side, SYN to
//! SYN-ACK on the active one), to the microsecond. Linux's measure without
//! timestamps, the time one window's worth of data takes to arrive,
//! overstates the RTT of a fast link the CPU limits (it is then window /
//! rate), and grew the buffers of in-process flows to the maximum, which
//! cost them a third of their rate in cache misses. Rates are measured over at least a millisecond: reads
//! drain backlogs at memory speed, and counting them per RTT on a link of
//! microseconds grew eight in-process flows' buffers for nothing.
//! A size set by SO_RCVBUF or SO_SNDBUF stays as set, as on Linux.
//! Buffers only grow: a window already advertised never shrinks. Their
//! pages are mapped as data first fills them (pages.rs), and given back
//! once a connection has held nothing either way for `IDLE_RELEASE`, so
//! an idle connection costs no buffer memory, whatever it moved before.

use super::bufpool;
use crate::pages;
use smoltcp::socket::tcp;
use std::time::{Duration, Instant};

/// Slack beyond twice the rate, as Linux's 16 segments.
const SLACK: usize = 64 * 1024;
/// Rates are measured over at least this long: the stack moves segments
/// in batches, and a read can drain a backlog at memory speed.
const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// A connection whose buffers stayed empty this long gives their pages back.
const IDLE_RELEASE: Duration = Duration::from_secs(1);
/// Pages are given back only once this much went through the buffers: a
/// request and its response touch a page or two, and a countdown (and a
/// stack round to start it) per short connection cost connect/request/
/// close a quarter of its rate.
const RESIDENT_MIN: u64 = 64 * 1024;

pub struct Tune {
    /// The most each buffer may grow to; its size today when fixed.
    rx_max: usize,
    tx_max: usize,
    /// The handshake's RTT; no growth before it is known.
    rtt: Option<Duration>,
    /// Bytes the app has read and written, in all.
    copied: u64,
    written: u64,
    arrivals: Meter,
    writes: Meter,
    /// Bytes through the buffers since their pages were last given back.
    resident: u64,
    /// When the pages go back if nothing moves, and `copied + written` then.
    release_at: Option<(Instant, u64)>,
}

/// A byte count's rate, as bytes per RTT.
#[derive(Default)]
struct Meter {
    /// When the current interval began, and the count then.
    start: Option<(Instant, u64)>,
}

impl Meter {
    /// Bytes per `rtt` at the rate `total` grew since the interval began,
    /// once the interval is long enough; the next interval begins then.
    fn per_rtt(&mut self, total: u64, rtt: Duration, now: Instant) -> Option<usize> {
        let (start, then) = *self.start.get_or_insert((now, total));
        let elapsed = now.duration_since(start);
        if elapsed < rtt.max(MIN_INTERVAL) {
            return None;
        }
        self.start = Some((now, total));
        let bytes = (total - then) as f64;
        Some((bytes * rtt.as_secs_f64() / elapsed.as_secs_f64()) as usize)
    }
}

impl Tune {
    /// Growth up to `max` each way, except where the size is `fixed`.
    pub fn new(s: &tcp::Socket, max: usize, rx_fixed: bool, tx_fixed: bool) -> Tune {
        let (rx, tx) = (s.recv_capacity(), s.send_capacity());
        Tune {
            rx_max: if rx_fixed { rx } else { max.max(rx) },
            tx_max: if tx_fixed { tx } else { max.max(tx) },
            rtt: None,
            copied: 0,
            written: 0,
            arrivals: Meter::default(),
            writes: Meter::default(),
            resident: 0,
            release_at: None,
        }
    }

    /// The handshake took `rtt`.
    pub fn handshake_rtt(&mut self, rtt: Duration) {
        self.rtt = Some(rtt);
    }

    /// After the app read `n` bytes of the `asked` it asked for: true if
    /// the receive buffer grew (the peer should hear of the larger window).
    pub fn after_read(&mut self, s: &mut tcp::Socket<'static>, n: usize, asked: usize) -> bool {
        self.copied += n as u64;
        self.resident += n as u64;
        let cap = s.recv_capacity();
        if cap >= self.rx_max || n == 0 {
            return false;
        }
        // Out-of-order data reaching near the window's end: the holes,
        // not the path, hold the sender back (reordering, or loss on a
        // fast path). The handshake's RTT does not show the time holes
        // take to fill, so the buffer doubles.
        let reach = s.recv_out_of_order_reach();
        if reach > 0 && s.recv_queue() + reach > cap / 4 * 3 {
            return grow(s, Side::Rx, 2 * cap, self.rx_max);
        }
        // A reader that takes `asked` bytes a call: while it copies them
        // out, the peer can send only into what is left of the window.
        // Twice a read's worth lets one arrive while another is copied
        // (Linux likewise keeps a buffer at twice SO_RCVLOWAT, what a
        // reader waits for). A read's worth is what it asks for, but no
        // more than twice what it found, so a reader of huge reads grows
        // the buffer only as fast as bytes come: growth needs a read that
        // found a quarter of the buffer waiting. A flow of 512 KiB reads
        // in a 512 KiB buffer moved 75 Gbit/s, in 1 MiB 100-112.
        if grow(s, Side::Rx, 2 * asked.min(2 * n), self.rx_max) {
            return true;
        }
        let Some(rtt) = self.rtt else { return false };
        let received = self.copied + s.recv_queue() as u64;
        match self.arrivals.per_rtt(received, rtt, Instant::now()) {
            // Twice what arrives in an RTT: while the window limits the
            // sender, that doubles the window each RTT, as slow start
            // doubles its congestion window.
            Some(per_rtt) => grow(s, Side::Rx, 2 * per_rtt + SLACK, self.rx_max),
            None => false,
        }
    }

    /// Before a write of `want` bytes: if it does not fit, grows the send
    /// buffer to twice what goes out in an RTT, so the buffer is not what
    /// limits what may be in flight. `held` bytes in it are acknowledged
    /// but still lent (tap/lent.rs): the peer's reader has them, as it
    /// would have them in its own buffer, so they count beside what the
    /// windows allow. Returns the old storage of a buffer that grew: loans
    /// may still read it (pipe.rs).
    pub fn before_write(
        &mut self,
        s: &mut tcp::Socket<'static>,
        want: usize,
        held: usize,
    ) -> Option<tcp::SocketBuffer<'static>> {
        let cap = s.send_capacity();
        if cap >= self.tx_max || (cap - s.send_queue()).saturating_sub(held) >= want {
            return None;
        }
        // The peer's window and the congestion window both allow more in
        // flight than this buffer holds (as when holes wait to be filled
        // on a reordering path): the buffer would be the limit. The
        // congestion window counts what is in the network; what the peer
        // SACKed is out of it but still held here.
        let in_flight = s.send_window().min(s.congestion_window() + s.send_sacked());
        // With room for this write beside them (up to the buffer's size
        // again): a buffer of just the windows' worth left the writer
        // waiting for every byte it frees, taking turns with the reader.
        let allowed = in_flight + held + want.min(cap);
        if allowed > cap {
            return grow_send(s, allowed, self.tx_max);
        }
        // The rate is taken between writes that found the buffer full,
        // so writes that fit cost nothing here. Never beyond twice what
        // the windows let fly, as Linux sizes a send buffer by the
        // congestion window: a handshake slowed by a busy stack (ten
        // thousand connects) overstates the RTT, and the buffer grew to
        // 4 MiB for a flow of microseconds, its bytes read from beyond
        // the cache (a quarter of the flow's rate with lending).
        let per_rtt = self
            .writes
            .per_rtt(self.written, self.rtt?, Instant::now())?;
        grow_send(
            s,
            (2 * per_rtt + SLACK).min(2 * in_flight + held),
            self.tx_max,
        )
    }

    /// Bytes the app has written, in all.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The app queued `n` bytes.
    pub fn wrote(&mut self, n: usize) {
        self.written += n as u64;
        self.resident += n as u64;
    }

    /// True when a read just emptied a connection whose pages could go
    /// back and no countdown runs: the stack should look at it (`on_pump`).
    pub fn went_idle(&self, s: &tcp::Socket) -> bool {
        self.resident >= RESIDENT_MIN
            && self.release_at.is_none()
            && s.recv_queue() == 0
            && s.send_queue() == 0
    }

    /// At each pump: starts, keeps or ends the countdown to giving the
    /// pages back; the instant the stack should look again, if any. The
    /// countdown runs on through traffic (it starts again when it finds
    /// bytes moved), so a busy connection is not kicked at every read.
    /// While bytes are `lent` the pages stay.
    pub fn on_pump(
        &mut self,
        s: &mut tcp::Socket<'static>,
        now: Instant,
        lent: bool,
    ) -> Option<Instant> {
        if self.resident < RESIDENT_MIN {
            self.release_at = None;
            return None;
        }
        let moved = self.copied + self.written;
        let idle = s.recv_queue() == 0 && s.send_queue() == 0;
        match self.release_at {
            Some((at, then)) if now >= at => {
                if idle && then == moved && !lent {
                    let (rx, tx) = s.idle_buffer_storage();
                    rx.into_iter().chain(tx).for_each(pages::release);
                    self.resident = 0;
                    self.release_at = None;
                    return None;
                }
                self.release_at = Some((now + IDLE_RELEASE, moved));
            }
            Some(_) => {}
            None => self.release_at = Some((now + IDLE_RELEASE, moved)),
        }
        self.release_at.map(|(at, _)| at)
    }
}

#[derive(Clone, Copy)]
enum Side {
    Rx,
    Tx,
}

/// Moves one of the socket's buffers onto storage of `want` bytes, rounded
/// up to a power of two (so the pool can reuse it) within `max`: the old
/// storage, or on failure the new one; None if it is already that large.
fn move_to_larger(
    s: &mut tcp::Socket<'static>,
    side: Side,
    want: usize,
    max: usize,
) -> Option<Result<Buffer, Buffer>> {
    let cap = match side {
        Side::Rx => s.recv_capacity(),
        Side::Tx => s.send_capacity(),
    };
    let len = want.next_power_of_two().min(max);
    if len <= cap {
        return None;
    }
    let moved = match (side, bufpool::take_slice(len)) {
        (Side::Rx, Some(buf)) => s.grow_recv_buffer(buf),
        (Side::Tx, Some(buf)) => s.grow_send_buffer(buf),
        (Side::Rx, None) => s.grow_recv_buffer(vec![0; len]),
        (Side::Tx, None) => s.grow_send_buffer(vec![0; len]),
    };
    Some(moved.map(Buffer::new).map_err(Buffer::new))
}

type Buffer = tcp::SocketBuffer<'static>;

/// Grows one of the socket's buffers (`move_to_larger`), the storage left
/// over back to the pool; true if it grew.
fn grow(s: &mut tcp::Socket<'static>, side: Side, want: usize, max: usize) -> bool {
    let Some(moved) = move_to_larger(s, side, want, max) else {
        return false;
    };
    let (Ok(spare) | Err(spare)) = moved;
    bufpool::recycle_buffer(spare);
    true
}

/// Grows the send buffer; its old storage, for the caller to keep while
/// loans read it.
fn grow_send(s: &mut tcp::Socket<'static>, want: usize, max: usize) -> Option<Buffer> {
    match move_to_larger(s, Side::Tx, want, max)? {
        Ok(old) => Some(old),
        Err(new) => {
            bufpool::recycle_buffer(new);
            None
        }
    }
}
