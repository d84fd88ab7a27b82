//! A bounded queue of datagrams (UDP payloads or ICMP messages) with the
//! address each came from or goes to. The bound is in payload bytes, as
//! SO_RCVBUF and SO_SNDBUF are.

use std::collections::VecDeque;
use std::net::SocketAddr;

pub struct Datagram {
    /// The source (received) or destination (to send).
    pub addr: SocketAddr,
    pub data: Vec<u8>,
}

pub struct DatagramQueue {
    items: VecDeque<Datagram>,
    bytes: usize,
    capacity: usize,
}

impl DatagramQueue {
    pub fn new(capacity: usize) -> Self {
        DatagramQueue {
            items: VecDeque::new(),
            bytes: 0,
            capacity,
        }
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Whether a datagram of `len` bytes fits now. An empty queue takes any
    /// datagram, so one larger than the bound is not refused forever.
    pub fn fits(&self, len: usize) -> bool {
        self.items.is_empty() || self.bytes + len <= self.capacity
    }

    pub fn push(&mut self, d: Datagram) {
        self.bytes += d.data.len();
        self.items.push_back(d);
    }

    pub fn front(&self) -> Option<&Datagram> {
        self.items.front()
    }

    pub fn pop(&mut self) -> Option<Datagram> {
        let d = self.items.pop_front()?;
        self.bytes -= d.data.len();
        Some(d)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    /// Whether more can be queued (for POLLOUT).
    pub fn has_room(&self) -> bool {
        self.bytes < self.capacity
    }
}
