//! The node's TCP connections, each in a smoltcp socket set of its own and
//! found by 4-tuple.
//!
//! smoltcp finds a packet's socket by asking every socket in the set it is
//! given, and sends by visiting every socket in it: with 10,000
//! connections in one set, each packet cost 10,000 checks and each pass
//! of the stack loop visited every connection. Here a packet goes straight
//! to its connection's set, and only connections with work are pumped:
//! those a packet reached, those an app call touched (StackHandle::touch),
//! and those whose timer is due (smoltcp's poll_at, the connect deadline).
//! Segments for no known connection (SYNs to listeners among them) go to
//! the network's own set, as before.

use super::device::{FragKey, Peek};
use super::tcp::Conn;
use smoltcp::socket::tcp::State;
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// (network, local endpoint, remote endpoint).
pub type Tuple = (usize, IpEndpoint, IpEndpoint);

/// Fragmented datagrams whose first fragment named a connection: later
/// fragments (no ports in them) follow it, so the datagram is reassembled
/// against the right set.
const FRAG_ROUTES: usize = 64;

#[derive(Default)]
pub struct Conns {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    by_tuple: HashMap<Tuple, usize>,
    frags: VecDeque<(usize, FragKey, usize)>,
    dirty: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Connections holding a packet back until a neighbour answers, and
    /// their network.
    neighbour_wait: Vec<(usize, usize)>,
}

/// How long smoltcp keeps a socket from sending after its neighbour went
/// unresolved (its `DISCOVERY_SILENT_TIME`): a socket whose next poll is
/// exactly this far off waits for a neighbour, not for a timer of its own.
const NEIGHBOUR_SILENCE: smoltcp::time::Duration = smoltcp::time::Duration::from_millis(1000);

impl Conns {
    /// Adopts a connection; it is pumped in this round.
    pub fn insert(&mut self, mut c: Conn) -> usize {
        let id = self.free.pop().unwrap_or(self.slots.len());
        let s = c.socket();
        c.tuple = s
            .local_endpoint()
            .zip(s.remote_endpoint())
            .map(|(l, r)| (c.net, l, r));
        if let Some(t) = c.tuple {
            self.by_tuple.insert(t, id);
        }
        c.sock.pump.set(Some(id));
        if id == self.slots.len() {
            self.slots.push(Some(c));
        } else {
            self.slots[id] = Some(c);
        }
        self.mark(id);
        id
    }

    pub fn remove(&mut self, id: usize) -> Option<Conn> {
        let c = self.slots.get_mut(id)?.take()?;
        if let Some(t) = c.tuple
            && self.by_tuple.get(&t) == Some(&id)
        {
            self.by_tuple.remove(&t);
        }
        c.sock.pump.set(None);
        self.free.push(id);
        Some(c)
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut Conn> {
        self.slots.get_mut(id)?.as_mut()
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Conn> + '_ {
        self.by_tuple.clear();
        self.free.clear();
        self.dirty.clear();
        self.timers.clear();
        self.neighbour_wait.clear();
        self.slots.drain(..).flatten()
    }

    /// Queues a connection for the next pump.
    pub fn mark(&mut self, id: usize) {
        if let Some(c) = self.get_mut(id)
            && !c.dirty
        {
            c.dirty = true;
            self.dirty.push(id);
        }
    }

    /// An app call touched this slot (it may have been reused since).
    pub fn touched(&mut self, id: usize) {
        if let Some(c) = self.get_mut(id) {
            c.sock.pump.taken();
            self.mark(id);
        }
    }

    /// Moves the dirty list into `into` (which must be empty).
    pub fn take_dirty(&mut self, into: &mut Vec<usize>) {
        std::mem::swap(&mut self.dirty, into);
    }

    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Marks the connections whose timer is due.
    pub fn mark_due(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(c) = self.get_mut(id)
                && c.due == Some(at)
            {
                c.due = None;
                self.mark(id);
            }
        }
    }

    /// Sets when the connection wants looking at next, `now` being when
    /// it last sent. smoltcp looks at a socket waiting for a neighbour
    /// only when the interface learns one; its own set is not polled
    /// then, so it waits here to be marked (`neighbour_heard`).
    pub fn schedule(&mut self, id: usize, now: Instant, at: Option<Instant>) {
        let Some(c) = self.get_mut(id) else { return };
        let waits = at.is_some() && (at == Some(now + NEIGHBOUR_SILENCE) || at == c.neighbour);
        c.neighbour = if waits { at } else { None };
        if waits {
            let net = c.net;
            self.neighbour_wait.push((net, id));
        }
        let Some(c) = self.get_mut(id) else { return };
        if c.due == at {
            return;
        }
        c.due = at;
        if let Some(at) = at {
            self.timers.push(Reverse((at, id)));
        }
    }

    /// An ARP or neighbour discovery frame arrived on `net`: connections
    /// waiting for a neighbour there try again.
    pub fn neighbour_heard(&mut self, net: usize) {
        if self.neighbour_wait.is_empty() {
            return;
        }
        let (here, elsewhere) = std::mem::take(&mut self.neighbour_wait)
            .into_iter()
            .partition(|(n, _)| *n == net);
        self.neighbour_wait = elsewhere;
        for (_, id) in here {
            self.mark(id);
        }
    }

    /// The earliest timer (possibly one since rescheduled: a spare wakeup).
    pub fn next_due(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The connection a received frame on `net` belongs to, if any.
    pub fn route(&mut self, net: usize, peek: &Peek) -> Option<usize> {
        match *peek {
            Peek::Other | Peek::Neighbour => None,
            Peek::Fragment(key) => self
                .frags
                .iter()
                .find(|(n, k, _)| *n == net && *k == key)
                .map(|(_, _, id)| *id),
            Peek::Tcp {
                src,
                dst,
                syn,
                ack,
                frag,
                ..
            } => {
                let id = *self.by_tuple.get(&(net, dst, src))?;
                let c = self.slots[id].as_mut()?;
                // A new SYN on the 4-tuple of a connection that is over is
                // for a listener, not for the old connection.
                if syn && !ack && matches!(c.socket().state(), State::TimeWait | State::Closed) {
                    return None;
                }
                if let Some(key) = frag {
                    if self.frags.len() == FRAG_ROUTES {
                        self.frags.pop_front();
                    }
                    self.frags.push_back((net, key, id));
                }
                Some(id)
            }
        }
    }
}
