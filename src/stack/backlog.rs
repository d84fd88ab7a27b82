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

/// Frames held back for one connection at most; beyond them a round
/// waits for the lock. An app thread holds a pipe for one copy, and a
/// window's segments arrive in far fewer frames than this while it does.
const MAX_HELD: usize = 1024;

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
            None if self.backlog.len() < MAX_HELD => None,
            None => Some(self.pipe.lock()),
        };
        match p {
            Some(mut p) => {
                replay(&mut self.backlog, &mut p, iface, now, dev);
                p.ingress(iface, now, dev, payload);
            }
            None => self.backlog.extend(dev.take_next()),
        }
    }
}

/// Lets the connection whose pipe `p` is take the frames held back for
/// it, oldest first.
pub(super) fn replay(
    backlog: &mut VecDeque<Frame>,
    p: &mut PipeGuard,
    iface: &mut Interface,
    now: Instant,
    dev: &mut NetDevice,
) {
    while let Some(frame) = backlog.pop_front() {
        dev.put_back(frame);
        let payload = dev.peek().and_then(|peek| peek.payload());
        p.ingress(iface, now, dev, payload);
    }
}
