//! The in-process switch: `mem:NAME` segments shared by every node in the
//! process that joined the same name.
//!
//! Every port's MAC is known when it attaches, so the switch needs no
//! learning: a unicast frame goes to the port owning its destination MAC (or
//! nowhere), a group frame to every port but the sender.

use super::fifo::FrameFifo;
use super::{MacAddr, Tap, is_group};
use once_cell::sync::Lazy;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

static SEGMENTS: Lazy<Mutex<HashMap<String, Weak<Segment>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));
static NEXT_PORT: AtomicU64 = AtomicU64::new(1);

struct Port {
    id: u64,
    mac: MacAddr,
    rx: Arc<FrameFifo>,
}

#[derive(Default)]
struct Segment {
    ports: RwLock<Vec<Port>>,
}

impl Segment {
    fn deliver(&self, from: u64, frame: Vec<u8>) {
        if frame.len() < 14 {
            return;
        }
        let ports = self.ports.read();
        if is_group(&frame[..6]) {
            let mut targets = ports.iter().filter(|p| p.id != from).peekable();
            while let Some(p) = targets.next() {
                if targets.peek().is_none() {
                    p.rx.push(frame);
                    return;
                }
                p.rx.push(frame.clone());
            }
        } else if let Some(p) = ports
            .iter()
            .find(|p| p.mac[..] == frame[..6] && p.id != from)
        {
            p.rx.push(frame);
        }
    }
}

pub struct MemTap {
    segment: Arc<Segment>,
    port: u64,
}

impl MemTap {
    pub fn attach(name: &str, mac: MacAddr, rx: Arc<FrameFifo>) -> MemTap {
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
        let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        segment.ports.write().push(Port { id: port, mac, rx });
        MemTap { segment, port }
    }
}

impl Tap for MemTap {
    fn send(&self, frame: Vec<u8>) {
        self.segment.deliver(self.port, frame);
    }
}

impl Drop for MemTap {
    fn drop(&mut self) {
        self.segment.ports.write().retain(|p| p.id != self.port);
        let mut all = SEGMENTS.lock();
        all.retain(|_, s| s.strong_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake::StackWaker;

    fn fifo() -> Arc<FrameFifo> {
        Arc::new(FrameFifo::new(16, 1 << 16, Arc::new(StackWaker::default())))
    }

    fn frame(dst: MacAddr, src: MacAddr) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00, 1, 2, 3]);
        f
    }

    fn count(f: &FrameFifo) -> usize {
        let mut out = Default::default();
        f.drain_into(&mut out);
        out.len()
    }

    #[test]
    fn unicast_reaches_only_its_mac_and_broadcast_all_but_sender() {
        let (fa, fb, fc) = (fifo(), fifo(), fifo());
        let a = MemTap::attach("unit-switch", [2, 0, 0, 0, 0, 1], fa.clone());
        let _b = MemTap::attach("unit-switch", [2, 0, 0, 0, 0, 2], fb.clone());
        let _c = MemTap::attach("unit-switch", [2, 0, 0, 0, 0, 3], fc.clone());
        a.send(frame([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&fa), count(&fb), count(&fc)), (0, 1, 0));
        a.send(frame([0xff; 6], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&fa), count(&fb), count(&fc)), (0, 1, 1));
        a.send(frame([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 1]));
        assert_eq!((count(&fa), count(&fb), count(&fc)), (0, 0, 0));
    }

    #[test]
    fn segments_are_separate_by_name() {
        let (fa, fb) = (fifo(), fifo());
        let a = MemTap::attach("unit-seg-x", [2, 0, 0, 0, 1, 1], fa);
        let _b = MemTap::attach("unit-seg-y", [2, 0, 0, 0, 1, 2], fb.clone());
        a.send(frame([0xff; 6], [2, 0, 0, 0, 1, 1]));
        assert_eq!(count(&fb), 0);
    }
}
