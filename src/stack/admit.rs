//! Room at a listener for a SYN, decided before smoltcp sees it (smoltcp
//! resets a SYN that finds no listening socket).
//!
//! A listener keeps up to 128 smoltcp sockets listening per network and
//! adds more when SYNs find none free, up to `backlog`. When `backlog` of
//! them hold handshakes, a SYN-ACK unanswered for 1.5 s gives way to a new
//! SYN; younger handshakes are left to complete, and a SYN that finds no
//! room is dropped. So a flood from spoofed sources costs a listener at
//! most `backlog` SYN-ACKs per 1.5 s and cannot break handshakes under way.
//!
//! Real clients still get in: a SYN from an address that completed a
//! handshake with this listener before, or the retransmission of a SYN
//! dropped here (same source and sequence number, which a flood from
//! random sources does not repeat), takes a slot whose SYN-ACK has gone
//! unanswered for 200 ms and keeps it until its handshake ends. A kernel
//! uses SYN cookies instead; smoltcp keeps state from the first SYN, so a
//! completed handshake is the proof of a real peer. A first-time client
//! recognised only by its retransmission needs the flood to be slower
//! than `REMEMBERED` SYNs a second. When no slot can give way (the accept queue is full), the SYN
//! is dropped and the client retries, as with a kernel's full SYN queue.

use super::device::Syn;
use super::tcp::{Listener, listening_slot};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::{IpAddress, IpEndpoint};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// SYNs remembered per listener to recognise their retransmissions.
const REMEMBERED: usize = 4096;
/// Addresses remembered per listener as having completed a handshake.
const KNOWN: usize = 1024;
/// How long an unanswered SYN-ACK holds its slot against a first SYN:
/// longer than a client's first retransmission (1 s), and not a multiple
/// of it, so slots refreshed by a flood are not always young just when a
/// real client retries.
const HALF_OPEN_HOLD: Duration = Duration::from_millis(1500);
/// How long it holds it against a known peer or a retransmission: a
/// round trip's worth, as generous as the minimum retransmission timeout.
const ANSWER_TIME: Duration = Duration::from_millis(200);

#[derive(Default)]
pub struct SynRoom {
    /// SYNs that found no room, oldest first.
    refused: VecDeque<(IpEndpoint, u32)>,
    /// Slots given to retransmitted SYNs: not evicted.
    kept: Vec<(usize, SocketHandle)>,
    /// Peers that completed a handshake, most recent last.
    known: VecDeque<IpAddress>,
}

impl SynRoom {
    /// Forgets kept slots that are no longer listening slots.
    pub fn forget_gone(&mut self, slots: &[(usize, SocketHandle)]) {
        self.kept.retain(|k| slots.contains(k));
    }

    /// A peer completed its handshake: it is real.
    pub fn completed(&mut self, peer: IpAddress) {
        if let Some(i) = self.known.iter().position(|a| *a == peer) {
            self.known.remove(i);
        } else if self.known.len() == KNOWN {
            self.known.pop_front();
        }
        self.known.push_back(peer);
    }

    fn refuse(&mut self, syn: &Syn) {
        if self.refused.len() == REMEMBERED {
            self.refused.pop_front();
        }
        self.refused.push_back((syn.src, syn.seq));
    }

    fn retried(&mut self, syn: &Syn) -> bool {
        match self.refused.iter().position(|r| *r == (syn.src, syn.seq)) {
            Some(i) => {
                self.refused.remove(i);
                true
            }
            None => false,
        }
    }
}

fn half_open(sockets: &SocketSet, h: SocketHandle) -> bool {
    sockets.get::<tcp::Socket>(h).state() == State::SynReceived
}

/// Whether the SYN may go on to smoltcp; makes room for it if it can.
pub fn admit_syn(
    sockets: &mut SocketSet<'static>,
    listeners: &mut [Listener],
    net: usize,
    syn: &Syn,
) -> bool {
    let dst = syn.dst;
    let Some(l) = listeners.iter_mut().find(|l| {
        l.nets.contains(&net)
            && l.endpoint.port == dst.port
            && l.endpoint.addr.is_none_or(|a| a == dst.addr)
    }) else {
        return true; // nobody listens: smoltcp refuses, as it should
    };
    let on_net = |&&(n, _): &&(usize, SocketHandle)| n == net;
    // The peer's SYN again (its SYN-ACK was lost, or is late): its slot
    // sends the SYN-ACK again on its own timer. Handed to smoltcp, the SYN
    // could land on a free slot first (it asks sockets in handle order)
    // and open a second handshake on the same addresses, whose SYN-ACK
    // the client would answer with a reset (or whose reset would end the
    // client's connection); making room for it could evict a handshake
    // whose ACK is on its way.
    let mut free = false;
    for &(_, h) in l.slots.iter().filter(on_net) {
        let s = sockets.get::<tcp::Socket>(h);
        if s.remote_endpoint() == Some(syn.src) && s.local_endpoint() == Some(syn.dst) {
            return false;
        }
        free |= s.state() == State::Listen;
    }
    if free {
        return true;
    }
    // Below the backlog, a burst of connects gets more slots.
    let (want, opts) = {
        let st = l.sock.state.lock();
        let want = st.backlog.saturating_sub(st.accept_queue.len());
        (want, st.opts.clone())
    };
    if l.slots.iter().filter(on_net).count() < want {
        let Some(fresh) = listening_slot(&opts, l.sock.domain, l.endpoint) else {
            return false;
        };
        l.slots.push((net, sockets.add(fresh)));
        return true;
    }
    let room = &mut l.syn_room;
    let retried = room.known.contains(&syn.src.addr) || room.retried(syn);
    // Only a handshake whose SYN-ACK went unanswered a while gives way
    // (one in progress may be a real client's): for a known peer or a
    // retransmission, one unanswered for ANSWER_TIME, not kept for
    // another if there is one; for a first SYN, one unanswered for
    // HALF_OPEN_HOLD and not kept.
    let now = Instant::now();
    let min_age = if retried { ANSWER_TIME } else { HALF_OPEN_HOLD };
    let aged = |(s, at): &&((usize, SocketHandle), Instant)| {
        s.0 == net && half_open(sockets, s.1) && now.duration_since(*at) >= min_age
    };
    let not_kept = |e: &&((usize, SocketHandle), Instant)| aged(e) && !room.kept.contains(&e.0);
    let victim = l
        .released
        .iter()
        .find(not_kept)
        .or_else(|| retried.then(|| l.released.iter().find(aged)).flatten())
        .map(|(s, _)| *s);
    let Some(slot) = victim else {
        room.refuse(syn);
        return false;
    };
    l.released.retain(|(s, _)| *s != slot);
    room.kept.retain(|s| *s != slot);
    // A new socket, not the old one re-listened: the socket set remembers
    // per handle that its last peer did not answer address resolution and
    // would hold the new SYN-ACK back for a second.
    let Some(fresh) = listening_slot(&opts, l.sock.domain, l.endpoint) else {
        return false;
    };
    super::bufpool::recycle(sockets.remove(slot.1));
    let new = (net, sockets.add(fresh));
    for s in l.slots.iter_mut().filter(|s| **s == slot) {
        *s = new;
    }
    if retried {
        room.kept.push(new);
    }
    true
}
