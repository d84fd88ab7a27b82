//! Segments held back for a connection an app thread holds (pipe.rs), as
//! the kernel queues segments for a socket its user owns: the round goes
//! on, and the connection takes them, in order, when next pumped.

use super::device::NetDevice;
use super::pipe::PipeGuard;
use super::tcp::Conn;
use crate::tap::lent::Frame;
use smoltcp::iface::Interface;
use smoltcp::time::Instant;
use std::collections::VecDeque;

/// What one connection may hold back at most, in frames and in their
/// bytes; beyond either a round waits for the lock. An app thread holds
/// a pipe for one copy, and far less arrives meanwhile on a well-behaved
/// path; the bounds keep a flood from queueing here, out of the FIFO's.
const MAX_FRAMES: usize = 1024;
const MAX_BYTES: usize = 4 << 20;

/// Frames that arrived for a connection while its pipe was held.
#[derive(Default)]
pub struct Backlog {
    frames: VecDeque<Frame>,
    /// The frames' storage, in bytes.
    bytes: usize,
}

impl Backlog {
    fn full(&self) -> bool {
        self.frames.len() >= MAX_FRAMES || self.bytes >= MAX_BYTES
    }

    fn push(&mut self, frame: Frame) {
        self.bytes += frame.bytes.capacity();
        self.frames.push_back(frame);
    }

    fn pop(&mut self) -> Option<Frame> {
        let frame = self.frames.pop_front()?;
        self.bytes -= frame.bytes.capacity();
        Some(frame)
    }

    /// Gives the frames' storage back (the connection is gone).
    pub fn clear(&mut self) {
        while let Some(frame) = self.pop() {
            crate::tap::frames::give(frame.bytes);
        }
    }

    /// Lets the connection whose pipe `p` is take the frames held back
    /// for it, oldest first.
    pub(super) fn replay(
        &mut self,
        p: &mut PipeGuard,
        iface: &mut Interface,
        now: Instant,
        dev: &mut NetDevice,
    ) {
        while let Some(frame) = self.pop() {
            dev.put_back(frame);
            let payload = dev.peek().and_then(|peek| peek.payload());
            p.ingress(iface, now, dev, payload);
        }
    }
}

impl Conn {
    /// Lets the connection take the device's next frame, whose whole
    /// segment's payload is at `payload`; while an app thread holds the
    /// connection, the frame waits behind any held back before it.
    pub(super) fn ingress(
        &mut self,
        iface: &mut Interface,
        now: Instant,
        dev: &mut NetDevice,
        payload: Option<std::ops::Range<usize>>,
    ) {
        let p = match self.pipe.try_lock_for_round() {
            Some(p) => Some(p),
            None if !self.backlog.full() => None,
            None => Some(self.pipe.lock()),
        };
        match p {
            Some(mut p) => {
                self.backlog.replay(&mut p, iface, now, dev);
                p.ingress(iface, now, dev, payload);
            }
            None => {
                if let Some(frame) = dev.take_next() {
                    self.backlog.push(frame);
                }
            }
        }
    }
}
