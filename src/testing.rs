//! Hooks for the project's own tests and fuzz targets, not part of the C
//! API: a raw port on the in-process switch (to put any frame on a segment
//! and see what comes back), a way to wait until a node has handled what
//! reached it, and the VXLAN decapsulation on its own.

use crate::error::Result;
use crate::tap::fifo::FrameFifo;
use crate::tap::link::Link;
use crate::tap::mem::MemTap;
use crate::tap::stats::{NetStats, Snapshot};
use crate::tap::{MacAddr, Tap};
use crate::wake::StackWaker;
use std::collections::VecDeque;
use std::sync::Arc;

/// A port on `mem:NAME` that is not a node: frames go out as given.
pub struct MemPort {
    link: Arc<Link>,
    tap: MemTap,
}

/// A link that only queues what reaches it (bounded as a node's FIFO is).
fn queue_link(mtu: usize) -> Arc<Link> {
    Arc::new(Link {
        fifo: Arc::new(FrameFifo::new(
            4096,
            16 << 20,
            Arc::new(StackWaker::default()),
        )),
        stats: Arc::new(NetStats::default()),
        pcap: None,
        mtu,
    })
}

impl MemPort {
    pub fn attach(segment: &str, mac: MacAddr) -> MemPort {
        let link = queue_link(crate::tap::uri::MAX_MTU);
        let tap = MemTap::attach_raw(segment, mac, link.clone());
        MemPort { link, tap }
    }

    pub fn send(&self, frame: Vec<u8>) {
        self.tap.send(frame);
    }

    /// The frames that reached this port since the last call.
    pub fn take(&self) -> Vec<Vec<u8>> {
        let mut out = VecDeque::new();
        self.link.fifo.drain_into(&mut out);
        out.into_iter().map(|f| f.fill()).collect()
    }
}

/// The MAC of `node` on its network `net`.
pub fn node_mac(node: i32, net: i32) -> Result<MacAddr> {
    crate::node::get(node)?.mac(net)
}

/// Returns once `node`'s stack has handled every frame queued for it
/// before the call: a fence passes at the top of a loop iteration, so the
/// second one passes after the iteration that polled those frames.
pub fn settle(node: i32) -> Result<()> {
    let stack = crate::node::get(node)?.stack()?;
    stack.sync()?;
    stack.sync()
}

/// Runs `f` with `fd`'s connection held as a read or write holds it while
/// it copies: the stack's rounds meanwhile pass the connection over, its
/// segments waiting in order, and it is let go as a read lets go. `f` may
/// make rounds run on this thread, so it must keep within what a
/// connection holds back (stack/backlog.rs) and must not end the
/// connection: past those a round waits for the lock this thread holds.
pub fn with_connection_held<R>(fd: i32, f: impl FnOnce() -> R) -> Result<R> {
    Ok(crate::socket::table::get(fd)?.with_pipe_held(f))
}

/// How many times `node`'s stack thread has been woken.
pub fn stack_thread_wakes(node: i32) -> Result<u64> {
    Ok(crate::node::get(node)?.stack()?.waker.thread_wakes())
}

/// Whether `node`'s stack thread is still serving (a panic there takes it
/// down).
pub fn is_up(node: i32) -> bool {
    crate::node::get(node)
        .and_then(|n| n.stack())
        .is_ok_and(|s| !s.is_down())
}

/// Decapsulates `dgram` as the VXLAN tap does (VNI 42; from the configured
/// peer or from a stranger) and returns the frame it would hand the node,
/// with the link's counters.
pub fn vxlan_receive(dgram: &[u8], from_peer: bool) -> (Option<Vec<u8>>, Snapshot) {
    let link = queue_link(1500);
    crate::tap::vxlan::receive_for_fuzzing(dgram, from_peer, 42, &link);
    let mut out = VecDeque::new();
    link.fifo.drain_into(&mut out);
    (out.pop_front().map(|f| f.fill()), link.stats.snapshot())
}
