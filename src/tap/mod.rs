//! Taps: where a node's frames meet a wire. A tap knows frames, not sockets.
//!
//! Frames from the wire go into the node's rx [`FrameFifo`]; frames the stack
//! emits go to [`Tap::send`]. The in-process switch needs no thread of its
//! own: the sender's stack thread drops the frame straight into the
//! receiver's FIFO, which wakes the receiver's stack thread.

pub mod fifo;
pub mod frames;
pub mod gso;
mod impair;
pub mod lent;
pub mod link;
mod linux;
pub mod mem;
pub mod pcap;
mod reader;
pub mod stats;
pub mod uri;
pub(crate) mod vxlan;

use crate::error::Result;
use link::Link;
use std::net::UdpSocket;
use std::sync::Arc;
use uri::{Backend, TapUri};

pub type MacAddr = [u8; 6];

pub trait Tap: Send + Sync {
    /// Puts one Ethernet frame (without FCS) on the wire.
    fn send(&self, frame: Vec<u8>);

    /// Frames on this wire go only between stacks in this process, as
    /// memory copies: their checksums need neither computing nor verifying
    /// (the kernel's loopback skips them too). Read after the frames were
    /// dequeued.
    fn intact(&self) -> bool {
        false
    }

    /// Frames on this wire will be shown as they are (to a raw or ping
    /// socket, or a capture): from now on they carry real checksums.
    fn expose(&self) {}

    /// Whether this wire can take TCP segments larger than its MTU, for
    /// its receivers to take whole or have cut (`gso`): fixed for the
    /// wire's life, since the node's stack is told once.
    fn offloads(&self) -> bool {
        false
    }

    /// Puts a TCP segment larger than the MTU on the wire, with the size
    /// its pieces must have where it is cut. Only on a wire that
    /// `offloads`.
    fn send_large(&self, frame: Vec<u8>, mss: usize) {
        gso::segment(&frame, mss, true, &mut |f| self.send(f));
    }

    /// Whether frames may carry lent payloads here (`lent`): only to a
    /// stack in this process, as they are.
    fn lends(&self) -> bool {
        false
    }

    /// Puts a frame on the wire that may carry a lent payload, as `send`
    /// does, or `send_large` with `mss`.
    fn send_frame(&self, frame: lent::Frame, mss: Option<usize>) {
        send_filled(self, frame, mss);
    }
}

/// Puts `frame` on `tap`'s wire with its lent payload (if any) in it.
fn send_filled<T: Tap + ?Sized>(tap: &T, frame: lent::Frame, mss: Option<usize>) {
    let bytes = frame.fill();
    match mss {
        Some(mss) => tap.send_large(bytes, mss),
        None => tap.send(bytes),
    }
}

/// What a network holds from the moment it is joined until it is
/// forgotten: the overlay's bound UDP socket (so its port is known, and
/// kept across restarts).
pub enum Prepared {
    None,
    Vxlan(Arc<UdpSocket>),
}

impl Prepared {
    pub fn for_uri(uri: &TapUri) -> Result<Prepared> {
        match &uri.backend {
            Backend::Vxlan { bind, .. } => Ok(Prepared::Vxlan(vxlan::bind(*bind)?)),
            _ => Ok(Prepared::None),
        }
    }

    /// The local UDP port of an overlay network.
    pub fn port(&self) -> Option<u16> {
        match self {
            Prepared::Vxlan(s) => s.local_addr().ok().map(|a| a.port()),
            Prepared::None => None,
        }
    }
}

/// Attaches a node's interface with hardware address `mac` to the network
/// `uri` names; received frames go to `link`. Dropping the tap detaches it
/// (and stops its thread, if it has one).
pub fn open(
    uri: &TapUri,
    prepared: &Prepared,
    mac: MacAddr,
    link: Arc<Link>,
) -> Result<Box<dyn Tap>> {
    match (&uri.backend, prepared) {
        (Backend::Mem(name), _) => {
            let tap = mem::MemTap::attach(name, mac, link, &uri.impair);
            if uri.pcap.is_some() {
                tap.expose();
            }
            Ok(Box::new(tap))
        }
        (
            Backend::Vxlan {
                vni, peers, learn, ..
            },
            Prepared::Vxlan(sock),
        ) => Ok(Box::new(vxlan::VxlanTap::start(
            sock.clone(),
            *vni,
            peers.clone(),
            *learn,
            link,
        )?)),
        (Backend::Tap(name), _) => Ok(Box::new(linux::LinuxTap::open(name, link)?)),
        (Backend::Vxlan { .. }, Prepared::None) => Err(crate::error::Errno::EINVAL),
    }
}

/// True for broadcast and multicast destinations (the I/G bit).
pub fn is_group(mac: &[u8]) -> bool {
    mac.first().is_some_and(|b| b & 1 == 1)
}
