//! The in-process switch: `mem:NAME` segments shared by every node in the
//! process that joined the same name.
//!
//! Every port's MAC is known when it attaches, so the switch needs no
//! learning: a unicast frame goes to the port owning its destination MAC (or
//! nowhere), a group frame to every port but the sender. A port with
//! impairment options passes what it sends through an [`Impairer`] first.

use super::impair::Impairer;
use super::lent::Frame;
use super::link::Link;
use super::uri::Impairment;
use super::{MacAddr, Tap, is_group};
use once_cell::sync::Lazy;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

static SEGMENTS: Lazy<Mutex<HashMap<String, Weak<Segment>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));
static NEXT_PORT: AtomicU64 = AtomicU64::new(1);

struct Port {
    id: u64,
    mac: MacAddr,
    link: Arc<Link>,
}

#[derive(Default)]
struct Segment {
    ports: RwLock<Vec<Port>>,
    /// A port that corrupts frames, a raw port (any bytes at all), a
    /// capture or a raw or ping socket has joined: senders compute
    /// checksums and receivers verify them from then on.
    checked: AtomicBool,
}

impl Segment {
    /// A TCP segment larger than the MTU (unicast): whole to a stack's
    /// port; cut, with checksums, once the segment shows or takes raw
    /// frames.
    fn deliver_large(&self, from: u64, frame: Vec<u8>, mss: usize) {
        if frame.len() < 14 {
            return;
        }
        if self.checked.load(Ordering::SeqCst) {
            super::gso::segment(&frame, mss, true, &mut |f| self.deliver(from, f));
            return;
        }
        if let Some(p) = unicast(&self.ports.read(), from, &frame) {
            p.link.deliver_large(frame);
        }
    }

    /// A frame that may carry a lent payload, unicast to a stack's port
    /// as it is, or filled first where the segment shows frames.
    fn deliver_frame(&self, from: u64, frame: Frame, mss: Option<usize>) {
        if frame.loan.is_none() || self.checked.load(Ordering::SeqCst) || is_group(&frame.bytes) {
            return match mss {
                Some(mss) => self.deliver_large(from, frame.fill(), mss),
                None => self.deliver(from, frame.fill()),
            };
        }
        if let Some(p) = unicast(&self.ports.read(), from, &frame.bytes) {
            p.link.deliver_frame(frame);
        }
    }

    fn deliver(&self, from: u64, frame: Vec<u8>) {
        if frame.len() < 14 {
            return;
        }
        let ports = self.ports.read();
        if is_group(&frame[..6]) {
            let mut targets = ports.iter().filter(|p| p.id != from).peekable();
            while let Some(p) = targets.next() {
                if targets.peek().is_none() {
                    p.link.deliver(frame);
                    return;
                }
                p.link.deliver(frame.clone());
            }
        } else if let Some(p) = unicast(&ports, from, &frame) {
            p.link.deliver(frame);
        }
    }
}

/// The port a unicast `frame` from port `from` goes to, if any.
fn unicast<'a>(ports: &'a [Port], from: u64, frame: &[u8]) -> Option<&'a Port> {
    ports
        .iter()
        .find(|p| p.mac[..] == frame[..6] && p.id != from)
}

pub struct MemTap {
    name: String,
    segment: Arc<Segment>,
    port: u64,
    link: Arc<Link>,
    impair: Option<Impairer>,
    /// Sends TCP segments larger than the MTU (unless `gso=off`).
    offload: bool,
}

impl MemTap {
    pub fn attach(name: &str, mac: MacAddr, link: Arc<Link>, impair: &Impairment) -> MemTap {
        let segment = {
            let mut all = SEGMENTS.lock();
            match all.get(name).and_then(Weak::upgrade) {
                Some(s) => s,
                None => {
                    let s = Arc::new(Segment::default());
                    all.insert(name.to_string(), Arc::downgrade(&s));
                    s
                }
            }
        };
        if impair.corrupt > 0.0 {
            segment.checked.store(true, Ordering::SeqCst);
        }
        let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        segment.ports.write().push(Port {
            id: port,
            mac,
            link: link.clone(),
        });
        let offload = !impair.mtu_frames;
        let impair = impair.any().then(|| {
            let seg = segment.clone();
            Impairer::new(impair.clone(), Arc::new(move |f| seg.deliver(port, f)))
        });
        MemTap {
            name: name.to_string(),
            segment,
            port,
            link,
            impair,
            offload,
        }
    }
}

impl MemTap {
    /// A port whose frames come from no stack (tests, fuzzing): every
    /// node on the segment verifies checksums from now on.
    pub fn attach_raw(name: &str, mac: MacAddr, link: Arc<Link>) -> MemTap {
        let tap = MemTap::attach(name, mac, link, &Impairment::default());
        tap.expose();
        tap
    }
}

impl Tap for MemTap {
    /// Frames between stacks in this process are memory copies; unless
    /// the segment corrupts, shows or takes raw frames, they arrive intact.
    fn intact(&self) -> bool {
        !self.segment.checked.load(Ordering::SeqCst)
    }

    /// Every node on the segment computes and verifies checksums from the
    /// start of its next round. Frames already queued without them fail
    /// verification once their receiver has switched (TCP resends them).
    fn expose(&self) {
        self.segment.checked.store(true, Ordering::SeqCst);
    }

    fn send(&self, frame: Vec<u8>) {
        match &self.impair {
            Some(i) => i.send(frame, &self.link.stats),
            None => self.segment.deliver(self.port, frame),
        }
    }

    fn offloads(&self) -> bool {
        self.offload
    }

    /// Whole to the peer's stack, as the kernel's veth passes GSO packets;
    /// cut into the MTU's frames first where impairment acts on frames
    /// (a loss of 1% is of 1% of the MTU's frames), and checksummed where
    /// they are shown.
    fn send_large(&self, frame: Vec<u8>, mss: usize) {
        match &self.impair {
            Some(i) => {
                let checksums = !self.intact();
                super::gso::segment(&frame, mss, checksums, &mut |f| i.send(f, &self.link.stats));
            }
            None => self.segment.deliver_large(self.port, frame, mss),
        }
    }

    /// Between stacks of this process, untouched on the way.
    fn lends(&self) -> bool {
        self.impair.is_none() && self.intact()
    }

    fn send_frame(&self, frame: Frame, mss: Option<usize>) {
        match &self.impair {
            Some(_) => super::send_filled(self, frame, mss),
            None => self.segment.deliver_frame(self.port, frame, mss),
        }
    }
}

impl Drop for MemTap {
    fn drop(&mut self) {
        // Stop the delay line before leaving the segment.
        self.impair = None;
        self.segment.ports.write().retain(|p| p.id != self.port);
        // The last port out forgets the segment's name too.
        let mut all = SEGMENTS.lock();
        if Arc::strong_count(&self.segment) == 1 {
            all.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tap::fifo::FrameFifo;
    use crate::wake::StackWaker;

    fn link() -> Arc<Link> {
        Arc::new(Link {
            fifo: Arc::new(FrameFifo::new(16, 1 << 16, Arc::new(StackWaker::default()))),
            stats: Default::default(),
            pcap: None,
            mtu: 1500,
        })
    }

    fn frame(dst: MacAddr, src: MacAddr) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00, 1, 2, 3]);
        f
    }

    fn count(l: &Link) -> usize {
        let mut out = Default::default();
        l.fifo.drain_into(&mut out);
        out.len()
    }

    fn attach(name: &str, mac: MacAddr, l: &Arc<Link>) -> MemTap {
        MemTap::attach(name, mac, l.clone(), &Impairment::default())
    }

    #[test]
    fn unicast_reaches_only_its_mac_and_broadcast_all_but_sender() {
        let (la, lb, lc) = (link(), link(), link());
        let a = attach("unit-switch", [2, 0, 0, 0, 0, 1], &la);
        let _b = attach("unit-switch", [2, 0, 0, 0, 0, 2], &lb);
        let _c = attach("unit-switch", [2, 0, 0, 0, 0, 3], &lc);
        a.send(frame([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&la), count(&lb), count(&lc)), (0, 1, 0));
        a.send(frame([0xff; 6], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&la), count(&lb), count(&lc)), (0, 1, 1));
        a.send(frame([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&la), count(&lb), count(&lc)), (0, 0, 0));
        assert_eq!(lb.stats.snapshot().rx_frames, 2);
    }

    #[test]
    fn segments_are_separate_by_name() {
        let (la, lb) = (link(), link());
        let a = attach("unit-seg-x", [2, 0, 0, 0, 1, 1], &la);
        let _b = attach("unit-seg-y", [2, 0, 0, 0, 1, 2], &lb);
        a.send(frame([0xff; 6], [2, 0, 0, 0, 1, 1]));
        assert_eq!(count(&lb), 0);
    }
}
