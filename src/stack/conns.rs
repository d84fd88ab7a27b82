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
use std::collections::{BTreeSet, HashMap, VecDeque};

/// (network, local endpoint, remote endpoint).
pub type Tuple = (usize, IpEndpoint, IpEndpoint);

/// Fragmented datagrams whose first fragment named a connection: later
/// fragments (no ports in them) follow it, so the datagram is reassembled
/// against the right set.
const FRAG_ROUTES: usize = 256;

#[derive(Default)]
pub struct Conns {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    by_tuple: HashMap<Tuple, usize>,
    /// The last tuple routed and its slot: a burst of segments is mostly
    /// one connection's, and hashing each 4-tuple was 5% of a bulk flow at
    /// MTU 1500. Cleared whenever `by_tuple` changes.
    last_routed: Option<(Tuple, usize)>,
    frags: VecDeque<(usize, FragKey, usize)>,
    dirty: Vec<usize>,
    /// (when, slot): one entry per connection with a timer.
    timers: BTreeSet<(Instant, usize)>,
    /// (network, slot) of connections holding a packet back until a
    /// neighbour answers.
    neighbour_wait: BTreeSet<(usize, usize)>,
}

/// How long smoltcp keeps a socket from sending after its neighbour went
/// unresolved (its `DISCOVERY_SILENT_TIME`): a socket whose next poll is
/// exactly this far off waits for a neighbour, not for a timer of its own.
const NEIGHBOUR_SILENCE: smoltcp::time::Duration = smoltcp::time::Duration::from_millis(1000);

impl Conns {
    /// Adopts a connection; it is pumped in this round.
    pub fn insert(&mut self, mut c: Conn) -> usize {
        let id = self.free.pop().unwrap_or(self.slots.len());
        let mut p = c.lock();
        let s = p.tcp();
        let tuple = s
            .local_endpoint()
            .zip(s.remote_endpoint())
            .map(|(l, r)| (c.net, l, r));
        drop(p);
        c.tuple = tuple;
        if let Some(t) = c.tuple {
            self.by_tuple.insert(t, id);
            self.last_routed = None;
        }
        // A connection the app let go of (a listener's refusal) has no
        // socket of its own to tag.
        if !c.is_detached() {
            c.sock.pump.set(id);
        }
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
            self.last_routed = None;
        }
        if let Some(at) = c.due {
            self.timers.remove(&(at, id));
        }
        self.neighbour_wait.remove(&(c.net, id));
        self.frags.retain(|(_, _, f)| *f != id);
        // The socket may have moved on to a new connection in another slot.
        c.sock.pump.clear(id);
        self.free.push(id);
        Some(c)
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut Conn> {
        self.slots.get_mut(id)?.as_mut()
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Conn> + '_ {
        self.by_tuple.clear();
        self.last_routed = None;
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
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(c) = self.get_mut(id) {
                c.due = None;
                self.mark(id);
            }
        }
    }

    /// Marks every connection on `net`: its addresses changed, and a
    /// connection whose local address went must learn it (smoltcp resets
    /// it when it next sends).
    pub fn mark_net(&mut self, net: usize) {
        for id in 0..self.slots.len() {
            if self.slots[id].as_ref().is_some_and(|c| c.net == net) {
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
        let (net, old) = (c.net, c.due);
        c.due = at;
        if waits {
            self.neighbour_wait.insert((net, id));
        } else {
            self.neighbour_wait.remove(&(net, id));
        }
        if old != at {
            if let Some(old) = old {
                self.timers.remove(&(old, id));
            }
            if let Some(at) = at {
                self.timers.insert((at, id));
            }
        }
    }

    /// An ARP or neighbour discovery frame arrived on `net`: connections
    /// waiting for a neighbour there try again.
    pub fn neighbour_heard(&mut self, net: usize) {
        if self.neighbour_wait.is_empty() {
            return;
        }
        let here: Vec<usize> = self
            .neighbour_wait
            .range((net, 0)..=(net, usize::MAX))
            .map(|&(_, id)| id)
            .collect();
        for id in here {
            self.mark(id);
        }
    }

    /// The earliest timer.
    pub fn next_due(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
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
                let tuple = (net, dst, src);
                let id = match self.last_routed {
                    Some((t, id)) if t == tuple => id,
                    _ => {
                        let id = *self.by_tuple.get(&tuple)?;
                        self.last_routed = Some((tuple, id));
                        id
                    }
                };
                let c = self.slots[id].as_mut()?;
                // A new SYN on the 4-tuple of a connection that is over is
                // for a listener, and so is the rest of that handshake.
                if syn && !ack && matches!(c.lock().tcp().state(), State::TimeWait | State::Closed)
                {
                    c.tuple = None;
                    self.by_tuple.remove(&tuple);
                    self.last_routed = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::{Proto, Socket};
    use crate::stack::StackHandle;
    use smoltcp::socket::tcp;
    use smoltcp::time::Duration;
    use std::sync::Arc;

    fn conn(sock: &Arc<Socket>) -> Conn {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64]),
            tcp::SocketBuffer::new(vec![0; 64]),
        );
        Conn::new(sock.clone(), 0, s, false)
    }

    fn sock(stack: &Arc<StackHandle>) -> Arc<Socket> {
        Socket::new(stack.clone(), libc::AF_INET, Proto::Tcp, Default::default())
    }

    /// A connection has at most one timer entry however often its time
    /// moves, and leaves nothing behind when it goes.
    #[test]
    fn timers_and_waits_stay_one_per_connection() {
        let stack = Arc::new(StackHandle::detached_for_tests());
        let mut conns = Conns::default();
        let a = conns.insert(conn(&sock(&stack)));
        let b = conns.insert(conn(&sock(&stack)));
        let now = Instant::from_millis(1);
        for i in 0..1000 {
            conns.schedule(a, now, Some(now + Duration::from_millis(7_200_000 + i)));
            // Exactly smoltcp's neighbour silence away: waits for ARP.
            conns.schedule(b, now, Some(now + NEIGHBOUR_SILENCE));
        }
        assert_eq!(conns.timers.len(), 2);
        assert_eq!(conns.neighbour_wait.len(), 1);
        conns.take_dirty(&mut Vec::new());
        conns.get_mut(b).unwrap().dirty = false;
        conns.neighbour_heard(0);
        assert_eq!(conns.dirty, vec![b]);
        conns.mark_due(now + Duration::from_secs(2));
        assert_eq!(conns.timers.len(), 1, "b's timer fired");
        conns.remove(a);
        conns.remove(b);
        assert!(conns.timers.is_empty() && conns.neighbour_wait.is_empty());
        // An app socket whose failed connect still lingers connects again:
        // the old connection's end must not untag the new one.
        let s = sock(&stack);
        let old = conns.insert(conn(&s));
        let new = conns.insert(conn(&s));
        conns.remove(old);
        assert_eq!(s.pump.slot(), Some(new));
        conns.remove(new);
        assert_eq!(s.pump.slot(), None);
    }
}
