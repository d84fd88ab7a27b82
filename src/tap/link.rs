//! A node's attachment to one network, as the tap sees it: where received
//! frames go (the node's FIFO), and what every frame passing either way is
//! counted in and captured to.

use super::fifo::FrameFifo;
use super::lent::Frame;
use super::pcap::Pcap;
use super::stats::{DropReason, NetStats};
use std::sync::Arc;

/// Ethernet header plus an 802.1Q tag: what a frame may add to the MTU.
const L2_OVERHEAD: usize = 18;

pub struct Link {
    pub fifo: Arc<FrameFifo>,
    pub stats: Arc<NetStats>,
    pub pcap: Option<Arc<Pcap>>,
    pub mtu: usize,
}

impl Link {
    /// A frame from the wire for the node.
    pub fn deliver(&self, frame: Vec<u8>) {
        if frame.len() > self.mtu + L2_OVERHEAD {
            self.stats.dropped(DropReason::Oversize);
            return;
        }
        self.deliver_large(frame);
    }

    /// A TCP segment larger than the MTU, from a stack on the same
    /// in-process switch, taken whole (see `gso`).
    pub fn deliver_large(&self, frame: Vec<u8>) {
        self.deliver_frame(frame.into());
    }

    /// As `deliver_large`, for a frame that may carry a lent payload.
    pub fn deliver_frame(&self, mut frame: Frame) {
        if frame.bytes.len() < 14 {
            self.stats.dropped(DropReason::Malformed);
            return;
        }
        self.stats.rx(frame.bytes.len());
        if let Some(p) = &self.pcap {
            frame = frame.fill().into();
            p.write(&frame.bytes);
        }
        if !self.fifo.push_frame(frame) {
            self.stats.dropped(DropReason::QueueFull);
        }
    }

    /// A frame the node puts on the wire.
    pub fn sent(&self, frame: &[u8]) {
        self.stats.tx(frame.len());
        if let Some(p) = &self.pcap {
            p.write(frame);
        }
    }
}
