//! Received payload left in the frames it came in.
//!
//! A large segment that arrives in order is queued by smoltcp without its
//! bytes being copied into the receive buffer (`offer_placement`,
//! vendor/README.md): its frame waits here, and the reader copies from it.
//! A byte of a large segment is then copied once on the receiving side,
//! straight into the reader's memory, as the kernel's queue of packet
//! buffers does, instead of into the buffer and out again. The buffer
//! keeps the segment's room, so the window and every count stay as they
//! were; only its bytes there are stale, and never read.

use crate::tap::frames;
use crate::tap::lent::Loan;
use smoltcp::socket::tcp;
use smoltcp::storage::copy_in_pieces;
use std::collections::VecDeque;
use std::ops::Range;

/// Payloads at least this long are kept in their frames: below it the copy
/// costs less than keeping the frame.
pub const MIN_PLACED: usize = 16 * 1024;

#[derive(Default)]
pub struct Placed {
    /// Oldest first; each starts at or after the one before ends.
    held: VecDeque<Held>,
    /// Bytes dequeued from the connection so far: where its queue starts.
    read: u64,
}

struct Held {
    /// Where the payload's next byte is in the stream (in `read`'s terms).
    at: u64,
    frame: Vec<u8>,
    /// The payload's bytes not yet read, in `frame`.
    left: Range<usize>,
    /// Where the payload's bytes are when the frame does not hold them
    /// (tap/lent.rs), and where in the frame it starts.
    loan: Option<(Loan, usize)>,
}

impl Held {
    fn bytes(&self) -> &[u8] {
        match &self.loan {
            Some((loan, start)) => &loan.bytes()[self.left.start - start..self.left.end - start],
            None => &self.frame[self.left.clone()],
        }
    }
}

impl Placed {
    /// smoltcp queued `frame[payload]` without copying it, `queued` bytes
    /// past the start of the queue (at its end); its bytes are the
    /// `loan`'s if it has one.
    pub fn push(
        &mut self,
        queued: usize,
        frame: Vec<u8>,
        payload: Range<usize>,
        loan: Option<Loan>,
    ) {
        debug_assert!(payload.end <= frame.len());
        debug_assert!(
            loan.as_ref()
                .is_none_or(|l| l.bytes().len() == payload.len())
        );
        self.held.push_back(Held {
            at: self.read + queued as u64,
            loan: loan.map(|l| (l, payload.start)),
            frame,
            left: payload,
        });
    }

    /// Dequeues up to `buf.len()` bytes into `buf`: held payload from its
    /// frame, the rest from smoltcp's buffer.
    pub fn recv(&mut self, s: &mut tcp::Socket, buf: &mut [u8]) -> usize {
        let n = self.peek(s, buf);
        self.consume(s, n)
    }

    /// Copies up to `buf.len()` queued bytes into `buf`, leaving them queued.
    pub fn peek(&self, s: &mut tcp::Socket, buf: &mut [u8]) -> usize {
        let want = buf.len().min(s.recv_queue());
        let mut got = 0;
        let mut held = self.held.iter().peekable();
        while got < want {
            let at = self.read + got as u64;
            let room = &mut buf[got..want];
            let n = match held.peek() {
                Some(h) if h.at == at => {
                    let n = h.left.len().min(room.len());
                    copy_in_pieces(&mut room[..n], &h.bytes()[..n]);
                    held.next();
                    n
                }
                next => {
                    let n = next.map_or(room.len(), |h| gap(h.at, at).min(room.len()));
                    s.peek_slice_at(got, &mut room[..n])
                }
            };
            if n == 0 {
                break;
            }
            got += n;
        }
        got
    }

    /// Drops everything queued, held or not (nobody will read it).
    pub fn discard(&mut self, s: &mut tcp::Socket) {
        self.consume(s, s.recv_queue());
    }

    /// Dequeues `n` bytes unread, giving back the frames they empty;
    /// returns how many were.
    fn consume(&mut self, s: &mut tcp::Socket, n: usize) -> usize {
        let n = s.recv_skip(n).unwrap_or(0);
        self.read += n as u64;
        while let Some(h) = self.held.front_mut() {
            let end = h.at + h.left.len() as u64;
            if end > self.read {
                let gone = gap(self.read, h.at);
                h.left.start += gone;
                h.at += gone as u64;
                break;
            }
            if let Some(h) = self.held.pop_front() {
                frames::give(h.frame);
            }
        }
        n
    }
}

/// Bytes from `from` up to a held payload at `at`.
fn gap(at: u64, from: u64) -> usize {
    usize::try_from(at.saturating_sub(from)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::phy::{Loopback, Medium};
    use smoltcp::time::Instant;
    use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

    /// A connected pair over smoltcp's loopback, the receiving side
    /// offering to keep every segment of `len` bytes.
    struct Pair {
        iface: Interface,
        dev: Loopback,
        set: SocketSet<'static>,
        tx: smoltcp::iface::SocketHandle,
        rx: smoltcp::iface::SocketHandle,
    }

    fn pair() -> Pair {
        let mut dev = Loopback::new(Medium::Ip);
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut dev,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8)).unwrap();
        });
        let mut set = SocketSet::new(vec![]);
        let mut rx = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64]),
            tcp::SocketBuffer::new(vec![0; 64]),
        );
        rx.listen(7).unwrap();
        rx.set_ack_delay(None);
        let mut tx = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64]),
            tcp::SocketBuffer::new(vec![0; 64]),
        );
        // Each send is one segment, at once.
        tx.set_nagle_enabled(false);
        let (rx, tx) = (set.add(rx), set.add(tx));
        let cx = iface.context();
        set.get_mut::<tcp::Socket>(tx)
            .connect(cx, (IpAddress::v4(127, 0, 0, 1), 7), 9000)
            .unwrap();
        let mut p = Pair {
            iface,
            dev,
            set,
            tx,
            rx,
        };
        p.settle();
        assert!(p.set.get::<tcp::Socket>(p.rx).may_recv());
        p
    }

    impl Pair {
        fn settle(&mut self) {
            for _ in 0..8 {
                self.iface
                    .poll(Instant::from_millis(0), &mut self.dev, &mut self.set);
            }
        }

        /// Sends `data` as one segment; the receiver keeps it if `keep`.
        fn segment(&mut self, held: &mut Placed, data: &[u8], keep: bool) {
            let sent = self
                .set
                .get_mut::<tcp::Socket>(self.tx)
                .send_slice(data)
                .unwrap();
            assert_eq!(sent, data.len());
            let rx = self.set.get_mut::<tcp::Socket>(self.rx);
            let queued = rx.recv_queue();
            if keep {
                rx.offer_placement(data.len());
            }
            self.settle();
            let rx = self.set.get_mut::<tcp::Socket>(self.rx);
            if rx.take_placed() > 0 {
                // Stands for the frame the payload came in.
                let mut frame = vec![0xee; 4];
                frame.extend_from_slice(data);
                let end = frame.len();
                held.push(queued, frame, 4..end, None);
            }
        }

        fn rx(&mut self) -> &mut tcp::Socket<'static> {
            self.set.get_mut::<tcp::Socket>(self.rx)
        }
    }

    #[test]
    fn held_and_copied_payload_read_back_in_order_whatever_the_read_sizes() {
        let mut p = pair();
        let mut held = Placed::default();
        p.segment(&mut held, b"abcdef", true);
        p.segment(&mut held, b"gh", false);
        p.segment(&mut held, b"ijklm", true);
        assert_eq!(held.held.len(), 2, "the offered segments were kept");
        let mut all = [0; 13];
        assert_eq!(held.peek(p.rx(), &mut all), 13);
        assert_eq!(&all, b"abcdefghijklm");
        let mut got = Vec::new();
        for size in [4, 3, 1, 9] {
            let mut buf = vec![0; size];
            let n = held.recv(p.rx(), &mut buf);
            got.extend_from_slice(&buf[..n]);
            let mut rest = [0; 13];
            let m = held.peek(p.rx(), &mut rest);
            assert_eq!(&rest[..m], &b"abcdefghijklm"[got.len()..]);
        }
        assert_eq!(got, b"abcdefghijklm");
        assert!(held.held.is_empty());
        // What follows comes from the buffer.
        p.segment(&mut held, b"no", false);
        let mut buf = [0; 4];
        assert_eq!(held.recv(p.rx(), &mut buf), 2);
        assert_eq!(&buf[..2], b"no");
    }

    #[test]
    fn discarding_drops_held_payload_and_later_reads_stay_in_step() {
        let mut p = pair();
        let mut held = Placed::default();
        p.segment(&mut held, b"abcdef", true);
        p.segment(&mut held, b"gh", false);
        held.discard(p.rx());
        assert_eq!(p.rx().recv_queue(), 0);
        assert!(held.held.is_empty());
        p.segment(&mut held, b"ijk", true);
        p.segment(&mut held, b"lm", false);
        let mut buf = [0; 8];
        assert_eq!(held.recv(p.rx(), &mut buf), 5);
        assert_eq!(&buf[..5], b"ijklm");
    }
}
