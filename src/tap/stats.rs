//! Per-network frame counters, shared by the tap and the node.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a frame was dropped.
#[derive(Copy, Clone, Debug)]
pub enum DropReason {
    /// The node's receive queue was full.
    QueueFull,
    /// VXLAN: the sender is not a configured peer (and learn=0).
    NotPeer,
    /// Too short, a bad header, or the wrong VNI.
    Malformed,
    /// Larger than the network's MTU allows.
    Oversize,
    /// Lost on purpose by the in-process switch's impairment.
    Impaired,
    /// The OS refused to send it.
    SendFailed,
}

#[derive(Default)]
pub struct NetStats {
    pub rx_frames: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_frames: AtomicU64,
    pub tx_bytes: AtomicU64,
    drops: [AtomicU64; 6],
}

/// A copy of the counters at one moment.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub drop_queue_full: u64,
    pub drop_not_peer: u64,
    pub drop_malformed: u64,
    pub drop_oversize: u64,
    pub drop_impaired: u64,
    pub drop_send_failed: u64,
}

impl NetStats {
    pub fn rx(&self, len: usize) {
        self.rx_frames.fetch_add(1, Ordering::Relaxed);
        self.rx_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub fn tx(&self, len: usize) {
        self.tx_frames.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub fn dropped(&self, why: DropReason) {
        self.drops[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let d = |w: DropReason| self.drops[w as usize].load(Ordering::Relaxed);
        Snapshot {
            rx_frames: self.rx_frames.load(Ordering::Relaxed),
            rx_bytes: self.rx_bytes.load(Ordering::Relaxed),
            tx_frames: self.tx_frames.load(Ordering::Relaxed),
            tx_bytes: self.tx_bytes.load(Ordering::Relaxed),
            drop_queue_full: d(DropReason::QueueFull),
            drop_not_peer: d(DropReason::NotPeer),
            drop_malformed: d(DropReason::Malformed),
            drop_oversize: d(DropReason::Oversize),
            drop_impaired: d(DropReason::Impaired),
            drop_send_failed: d(DropReason::SendFailed),
        }
    }
}
