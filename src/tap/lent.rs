//! Payload lent from a sender's send buffer to a receiver in the same
//! process, instead of copied into the frame between them.
//!
//! A TCP segment on an in-process wire used to cost two copies on the way
//! (send buffer to frame, frame to the reader's memory) after the one
//! into the send buffer: a kernel's loopback makes two in all. A lent
//! segment's frame carries headers only and a [`Loan`] of the bytes where
//! they are in the sender's buffer; the reader copies them from there.
//! The sender keeps lent bytes unchanged until their loans come back,
//! after their ACK too (`held`), and keeps a buffer it replaces while
//! loans are out (`park`), so a loan always reads what was sent.
//!
//! Anything that needs a lent frame's bytes (a capture, a cut, a device
//! that is not a stack of this process, a receiver that will not keep
//! the segment) fills the frame from its loan first (`Frame::fill`).

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

/// Lends one connection's send buffer bytes, and learns when they are
/// back.
pub struct Lender {
    loans: Mutex<Loans>,
    /// Tells the sender a loan came back while it was short of room.
    on_return: Box<dyn Fn() + Send + Sync>,
}

#[derive(Default)]
struct Loans {
    /// Loans out or back, oldest first, by stream position (bytes the
    /// app wrote before them): `start`, `end`, and whether back. Returned
    /// ones leave from the front.
    out: VecDeque<(u64, u64, bool)>,
    /// Where the last loan ended: no byte is lent twice.
    end: u64,
    /// Loans starting below this are of a buffer no longer the socket's.
    parked_below: u64,
    /// Storage replaced while loans of it were out; dropped once all are back.
    parked: Vec<Box<dyn Send>>,
    /// The sender was short of room when it last looked.
    waiting: bool,
}

impl Lender {
    pub fn new(on_return: Box<dyn Fn() + Send + Sync>) -> Arc<Lender> {
        Arc::new(Lender {
            loans: Mutex::default(),
            on_return,
        })
    }

    /// Lends the `len` bytes at `addr`, which the app wrote after `start`
    /// others; None if some were lent before (a resend).
    pub fn lend(self: &Arc<Self>, start: u64, addr: usize, len: usize) -> Option<Loan> {
        let mut l = self.loans.lock();
        if start < l.end {
            return None;
        }
        let end = start + len as u64;
        l.end = end;
        l.out.push_back((start, end, false));
        Some(Loan {
            lender: self.clone(),
            start,
            addr,
            len,
        })
    }

    /// How many bytes before the oldest unacknowledged one, at `una` in
    /// the stream, are still lent from the socket's buffer: no write may
    /// go over them. `short(held)` says whether the sender is then short
    /// of room; a loan coming back tells it (`on_return`).
    pub fn held(&self, una: u64, short: impl FnOnce(usize) -> bool) -> usize {
        let mut l = self.loans.lock();
        let oldest = l
            .out
            .iter()
            .find(|(start, _, back)| !back && *start >= l.parked_below)
            .map(|&(start, _, _)| start);
        let held = oldest.map_or(0, |start| una.saturating_sub(start) as usize);
        l.waiting = short(held);
        held
    }

    /// Whether any loan is out (the buffers must then stay as they are).
    pub fn lent(&self) -> bool {
        !self.loans.lock().out.is_empty()
    }

    /// Keeps `storage`, a buffer the socket no longer uses, until every
    /// loan out now is back; drops it at once if none is.
    pub fn park(&self, storage: Box<dyn Send>) {
        let mut l = self.loans.lock();
        if l.out.is_empty() {
            drop(l);
            drop(storage);
            return;
        }
        l.parked_below = l.end;
        l.parked.push(storage);
    }

    fn returned(&self, start: u64) {
        let mut l = self.loans.lock();
        let Some(i) = l.out.iter().position(|&(s, _, _)| s == start) else {
            return;
        };
        l.out[i].2 = true;
        if i != 0 {
            return;
        }
        while l.out.front().is_some_and(|&(_, _, back)| back) {
            l.out.pop_front();
        }
        let parked = if l.out.is_empty() {
            std::mem::take(&mut l.parked)
        } else {
            Vec::new()
        };
        let wake = std::mem::take(&mut l.waiting);
        drop(l);
        drop(parked);
        if wake {
            (self.on_return)();
        }
    }
}

/// Bytes of a sender's buffer a frame carries in place of its payload.
pub struct Loan {
    lender: Arc<Lender>,
    start: u64,
    addr: usize,
    len: usize,
}

impl Loan {
    pub fn bytes(&self) -> &[u8] {
        // The bytes are in a send buffer that stays allocated while the
        // loan is out (`Lender::park`), and the sender does not write over
        // them before the loan is back (`Lender::held`).
        // SAFETY: valid for reads, and nobody writes them meanwhile.
        unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        self.lender.returned(self.start);
    }
}

/// A frame on its way to a node: its bytes, and where a lent payload is.
pub struct Frame {
    pub bytes: Vec<u8>,
    pub loan: Option<Loan>,
}

impl From<Vec<u8>> for Frame {
    fn from(bytes: Vec<u8>) -> Frame {
        Frame { bytes, loan: None }
    }
}

impl Frame {
    /// Where a lent payload belongs: the frame's last bytes (a TCP
    /// segment's payload ends its IP packet, and no padding follows one
    /// this long).
    pub fn payload_range(&self) -> Option<Range<usize>> {
        let len = self.loan.as_ref()?.len;
        Some(self.bytes.len() - len..self.bytes.len())
    }

    /// The frame with its payload in it, the loan given back.
    pub fn fill(mut self) -> Vec<u8> {
        if let (Some(r), Some(loan)) = (self.payload_range(), self.loan.take()) {
            smoltcp::storage::copy_in_pieces(&mut self.bytes[r], loan.bytes());
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn lender() -> (Arc<Lender>, Arc<AtomicUsize>) {
        let told = Arc::new(AtomicUsize::new(0));
        let t = told.clone();
        let lender = Lender::new(Box::new(move || {
            t.fetch_add(1, Ordering::SeqCst);
        }));
        (lender, told)
    }

    #[test]
    fn acknowledged_bytes_stay_held_until_their_loans_are_back() {
        let (lender, _) = lender();
        let buf = [7u8; 300];
        let a = lender.lend(0, buf.as_ptr() as usize, 100).unwrap();
        let b = lender.lend(100, buf[100..].as_ptr() as usize, 100).unwrap();
        assert_eq!(b.bytes(), &buf[100..200]);
        // Nothing lent twice (a resend is copied).
        assert!(lender.lend(50, 0, 10).is_none());
        // Acknowledged up to 150: all of it is read from the buffer still.
        assert_eq!(lender.held(150, |_| false), 150);
        assert_eq!(lender.held(80, |_| false), 80);
        // Back out of order: the older loan still holds from its start.
        drop(b);
        assert_eq!(lender.held(150, |_| false), 150);
        drop(a);
        assert_eq!(lender.held(150, |_| false), 0);
        assert!(!lender.lent());
    }

    #[test]
    fn a_sender_short_of_room_is_told_once_when_loans_come_back() {
        let (lender, told) = lender();
        let a = lender.lend(0, 1, 100).unwrap();
        let b = lender.lend(100, 1, 100).unwrap();
        assert_eq!(lender.held(200, |held| held > 0), 200);
        drop(b);
        assert_eq!(told.load(Ordering::SeqCst), 0, "the oldest is still out");
        drop(a);
        assert_eq!(told.load(Ordering::SeqCst), 1);
        let c = lender.lend(200, 1, 100).unwrap();
        assert_eq!(lender.held(300, |_| false), 100);
        drop(c);
        assert_eq!(told.load(Ordering::SeqCst), 1, "not short: not told");
    }

    struct Flag(Arc<AtomicUsize>);

    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn replaced_storage_waits_for_its_loans_and_holds_nothing_in_the_new() {
        let (lender, _) = lender();
        let dropped = Arc::new(AtomicUsize::new(0));
        lender.park(Box::new(Flag(dropped.clone())));
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "no loan out: at once");
        let a = lender.lend(0, 1, 100).unwrap();
        lender.park(Box::new(Flag(dropped.clone())));
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        // The loan reads the old storage: the new buffer holds nothing for it.
        assert_eq!(lender.held(100, |_| false), 0);
        let b = lender.lend(100, 1, 100).unwrap();
        assert_eq!(lender.held(200, |_| false), 100);
        drop(a);
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "a loan is still out");
        drop(b);
        assert_eq!(dropped.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_frame_filled_from_its_loan_has_its_payload_at_its_end() {
        let (lender, _) = lender();
        let payload = *b"payload";
        let loan = lender.lend(0, payload.as_ptr() as usize, payload.len());
        let frame = Frame {
            bytes: vec![0; 20],
            loan,
        };
        assert_eq!(frame.payload_range(), Some(13..20));
        let bytes = frame.fill();
        assert_eq!(&bytes[13..], b"payload");
        assert!(!lender.lent());
    }
}
