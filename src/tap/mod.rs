//! Taps: where a node's frames meet a wire. A tap knows frames, not sockets.
//!
//! Frames from the wire go into the node's rx [`FrameFifo`]; frames the stack
//! emits go to [`Tap::send`]. The in-process switch needs no thread of its
//! own: the sender's stack thread drops the frame straight into the
//! receiver's FIFO, which wakes the receiver's stack thread.

pub mod fifo;
pub mod mem;
pub mod uri;

use crate::error::Result;
use fifo::FrameFifo;
use std::sync::Arc;
use uri::{Backend, TapUri};

pub type MacAddr = [u8; 6];

pub trait Tap: Send + Sync {
    /// Puts one Ethernet frame (without FCS) on the wire.
    fn send(&self, frame: Vec<u8>);
}

/// Attaches a node's interface with hardware address `mac` to the network
/// `uri` names; received frames go to `rx`. Dropping the tap detaches it.
pub fn open(uri: &TapUri, mac: MacAddr, rx: Arc<FrameFifo>) -> Result<Box<dyn Tap>> {
    match &uri.backend {
        Backend::Mem(name) => Ok(Box::new(mem::MemTap::attach(name, mac, rx))),
    }
}

/// True for broadcast and multicast destinations (the I/G bit).
pub fn is_group(mac: &[u8]) -> bool {
    mac.first().is_some_and(|b| b & 1 == 1)
}
