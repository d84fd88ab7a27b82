//! A node's receive window never shrinks below what it advertised.
//!
//! With window scaling the advertised window is the free space rounded
//! down, so one received byte can pull the right edge back. A peer may
//! already have sent up to the old edge; refusing that data left the peer's
//! send sequence beyond the window, its later ACKs were refused too, and
//! two connections echoing to each other stalled with full buffers (seen
//! as a 60 s stall in the echo64 C test under load). A read that opens a
//! closed window makes the node send the update, and a node that closed
//! with data waiting for the peer's window sends it when the window opens.
//! The peer here is a raw port speaking TCP frame by frame.

mod common;

use common::api::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr,
    TcpSeqNumber,
};
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use zts::ffi::io::zts_read;
use zts::ffi::node::zts_node_free;
use zts::ffi::socket::*;
use zts::testing::MemPort;

const SEGMENT: &str = "tcp-window";
const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 60, 1);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 9, 60, 2);
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x09, 0x01];
const PORT: u16 = 97;
const PEER_PORT: u16 = 40000;
/// 64 KiB buffers: the smallest with a window scale (of 1).
const RCVBUF: usize = 65536;

/// What the node sent: acknowledgement, window in bytes, flags.
#[derive(Debug, Clone, Copy)]
struct Seen {
    ack: TcpSeqNumber,
    window: usize,
    syn: bool,
    scale: Option<u8>,
    seq: TcpSeqNumber,
    len: usize,
    fin: bool,
}

struct Peer {
    port: MemPort,
    node: i32,
    node_mac: [u8; 6],
    seq: TcpSeqNumber,
    scale: u8,
    /// The window the peer advertises (it sends no window scale).
    window: u16,
    /// The last segment the node sent.
    latest: Cell<Option<Seen>>,
}

impl Peer {
    fn frame(&self, repr: &TcpRepr) -> Vec<u8> {
        let caps = ChecksumCapabilities::default();
        let ip = Ipv4Repr {
            src_addr: PEER_IP,
            dst_addr: NODE_IP,
            next_header: IpProtocol::Tcp,
            payload_len: repr.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress(PEER_MAC),
            dst_addr: EthernetAddress(self.node_mac),
            ethertype: EthernetProtocol::Ipv4,
        };
        let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + repr.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut f);
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p, &caps);
        let mut t = TcpPacket::new_unchecked(p.payload_mut());
        repr.emit(
            &mut t,
            &IpAddress::Ipv4(PEER_IP),
            &IpAddress::Ipv4(NODE_IP),
            &caps,
        );
        buf
    }

    /// Sends a segment from the peer's current sequence number.
    fn send(&mut self, control: TcpControl, ack: Option<TcpSeqNumber>, payload: &[u8]) {
        let syn = control == TcpControl::Syn;
        let repr = TcpRepr {
            src_port: PEER_PORT,
            dst_port: PORT,
            control,
            seq_number: self.seq,
            ack_number: ack,
            window_len: self.window,
            window_scale: syn.then_some(0),
            max_seg_size: syn.then_some(1460),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        self.port.send(self.frame(&repr));
        self.seq += payload.len() + usize::from(syn);
    }

    /// Lets the node handle what was sent, answers its ARP requests, and
    /// returns the TCP segments it sent the peer.
    fn segments(&self) -> Vec<Seen> {
        zts::testing::settle(self.node).unwrap();
        let mut seen = Vec::new();
        for f in self.port.take() {
            let Ok(eth) = EthernetFrame::new_checked(&f[..]) else {
                continue;
            };
            match eth.ethertype() {
                EthernetProtocol::Arp => self.answer_arp(eth.payload()),
                EthernetProtocol::Ipv4 => {
                    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                        continue;
                    };
                    if ip.next_header() != IpProtocol::Tcp {
                        continue;
                    }
                    let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
                        continue;
                    };
                    let src = IpAddress::Ipv4(ip.src_addr());
                    let dst = IpAddress::Ipv4(ip.dst_addr());
                    let caps = ChecksumCapabilities::default();
                    let repr = TcpRepr::parse(&tcp, &src, &dst, &caps).expect("a valid segment");
                    let syn = repr.control == TcpControl::Syn;
                    let shift = if syn { 0 } else { self.scale };
                    seen.push(Seen {
                        ack: repr.ack_number.unwrap_or_default(),
                        window: usize::from(repr.window_len) << shift,
                        syn,
                        scale: repr.window_scale,
                        seq: repr.seq_number,
                        len: repr.payload.len(),
                        fin: repr.control == TcpControl::Fin,
                    });
                }
                _ => {}
            }
        }
        if let Some(s) = seen.last() {
            self.latest.set(Some(*s));
        }
        seen
    }

    fn answer_arp(&self, payload: &[u8]) {
        let Ok(p) = ArpPacket::new_checked(payload) else {
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&p)
        else {
            return;
        };
        if target_protocol_addr != PEER_IP {
            return;
        }
        let reply = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            source_hardware_addr: EthernetAddress(PEER_MAC),
            source_protocol_addr: PEER_IP,
            target_hardware_addr: source_hardware_addr,
            target_protocol_addr: source_protocol_addr,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress(PEER_MAC),
            dst_addr: source_hardware_addr,
            ethertype: EthernetProtocol::Arp,
        };
        let mut buf = vec![0; eth.buffer_len() + reply.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut f);
        reply.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
        self.port.send(buf);
    }

    /// The node's latest segment once it satisfies `done` (bounded:
    /// delayed ACKs go out on the node's timer).
    fn until(&self, what: &str, done: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.latest.get().filter(|s| done(s)) {
                return s;
            }
            if let Some(s) = self.segments().into_iter().find(|s| done(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "no segment from the node: {what}"
            );
        }
    }
}

/// A connection from the raw peer to a node listening with RCVBUF: the
/// node, its listener, the accepted fd, the peer, the node's next sequence
/// number and its SYN-ACK.
fn open(segment: &str) -> (i32, i32, i32, Peer, TcpSeqNumber, Seen) {
    let n = node(segment, &["10.9.60.1/24"]);
    let l = tcp(n, libc::AF_INET);
    ok(set_int(l, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF as i32));
    ok(bind(l, "10.9.60.1:97".parse().unwrap()));
    ok(zts_listen(l, 1));
    let mut peer = Peer {
        port: MemPort::attach(segment, PEER_MAC),
        node: n,
        node_mac: zts::testing::node_mac(n, 0).unwrap(),
        seq: TcpSeqNumber(1000),
        scale: 0,
        window: 65535,
        latest: Cell::new(None),
    };
    peer.send(TcpControl::Syn, None, &[]);
    let synack = peer.until("SYN-ACK", |s| s.syn);
    peer.scale = synack.scale.expect("the node scales its window");
    assert!(peer.scale >= 1, "a 64 KiB buffer needs a scale");
    let node_seq = synack.seq + 1;
    peer.send(TcpControl::None, Some(node_seq), &[]);
    let (s, _) = accept(l);
    (n, l, s, peer, node_seq, synack)
}

/// Sends all but the last 2 bytes of `data` (RCVBUF long) within the
/// window the node advertises, starting from its SYN-ACK, and returns the
/// node's ACK of them: the buffer then has 2 bytes free.
fn fill_but_two(peer: &mut Peer, node_seq: TcpSeqNumber, data: &[u8], synack: Seen) -> Seen {
    let mut sent = 0;
    let mut last = synack;
    last.ack = peer.seq;
    last.window = 65535;
    let fill = data.len() - 2;
    while sent < fill {
        let edge = last.ack + last.window;
        let room = if edge > peer.seq { edge - peer.seq } else { 0 };
        let n = room.min(1460).min(fill - sent);
        if n == 0 {
            let want = peer.seq;
            last = peer.until("a window update", |s| s.ack == want && s.window > 0);
            continue;
        }
        peer.send(TcpControl::None, Some(node_seq), &data[sent..sent + n]);
        sent += n;
        peer.segments();
        if let Some(s) = peer.latest.get() {
            last = s;
        }
    }
    let x = peer.seq;
    let last = peer.until("the ACK of the fill", |s| s.ack == x);
    assert_eq!(last.window, 2, "2 bytes free, advertised as 1 << scale");
    last
}

#[test]
fn data_up_to_an_edge_advertised_before_is_taken() {
    let (n, l, s, mut peer, mut node_seq, synack) = open(SEGMENT);

    // Fill all but 2 bytes of the connection's receive buffer, within the
    // window the node advertises; the app does not read.
    let data = pattern(RCVBUF, 7);
    fill_but_two(&mut peer, node_seq, &data, synack);
    let mut sent = RCVBUF - 2;
    let x = peer.seq;

    // One byte: 1 byte free rounds down to a zero window, so the right
    // edge moves back from x + 2 to x + 1.
    peer.send(TcpControl::None, Some(node_seq), &data[sent..sent + 1]);
    sent += 1;
    let shrunk = peer.until("the ACK of the first byte", |s| s.ack == x + 1);
    assert_eq!(shrunk.window, 0);

    // The second byte lies within the edge advertised before: it must be
    // taken, not refused with a duplicate ACK of x + 1.
    peer.send(TcpControl::None, Some(node_seq), &data[sent..sent + 1]);
    sent += 1;
    peer.latest.set(None);
    let after = peer.until("an ACK after the second byte", |_| true);
    assert_eq!(
        after.ack,
        x + 2,
        "the byte inside the earlier window was refused"
    );
    node_seq = after.seq;

    // Everything arrives intact once the app reads.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < sent {
        // SAFETY: buf is valid for its length.
        let r = unsafe { zts_read(s, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(r > 0, "read: {}", errno());
        got.extend_from_slice(&buf[..r as usize]);
        // Acknowledge the window updates so the node keeps no state waiting.
        let _ = peer.segments();
    }
    assert!(got == data[..sent], "the bytes differ from what was sent");
    peer.send(TcpControl::Rst, Some(node_seq), &[]);
    ok(zts_close(s));
    ok(zts_close(l));
    ok(zts_node_free(n));
}

/// App reads take bytes straight from smoltcp's buffer; the read that
/// opens a closed window must make the node say so, since a peer facing a
/// zero window only probes on a timer (this one never does).
#[test]
fn a_read_reopens_a_closed_window() {
    let (n, l, s, mut peer, node_seq, synack) = open("tcp-window-reopen");
    let data = pattern(RCVBUF, 3);
    fill_but_two(&mut peer, node_seq, &data, synack);
    peer.send(TcpControl::None, Some(node_seq), &data[RCVBUF - 2..]);
    let x = peer.seq;
    let full = peer.until("the ACK of the last 2 bytes", |s| s.ack == x);
    assert_eq!(full.window, 0, "the buffer is full");

    let mut buf = vec![0u8; 1000];
    // SAFETY: buf is valid for its length.
    let r = unsafe { zts_read(s, buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 1000, "read: {}", errno());
    assert_eq!(buf[..], data[..1000]);
    peer.latest.set(None);
    let update = peer.until("a window update", |s| s.window > 0);
    assert_eq!(update.ack, peer.seq, "an update, not new data");
    assert!(update.window >= 512, "window {}", update.window);
    peer.send(TcpControl::Rst, Some(node_seq), &[]);
    ok(zts_close(s));
    ok(zts_close(l));
    ok(zts_node_free(n));
}

/// A connection closed with data queued behind the peer's zero window
/// (LAST-ACK before its FIN is out) sends the data and the FIN as soon as
/// the peer reopens the window with an ACK of nothing new. It used to
/// answer that ACK as a duplicate and wait for its zero-window probe:
/// 200 ms stalls at the end of echoes (vendor/README.md).
#[test]
fn data_closed_behind_a_zero_window_goes_when_it_opens() {
    let (n, l, s, mut peer, node_seq, _) = open("tcp-window-last-ack");
    // The peer closes its side with its window shut.
    peer.window = 0;
    peer.send(TcpControl::Fin, Some(node_seq), &[]);
    let fin_end = peer.seq + 1;
    peer.seq = fin_end;
    peer.until("the ACK of the peer's FIN", |s| s.ack == fin_end);

    // The app answers and closes: the bytes wait for the window.
    let data = pattern(1000, 5);
    // SAFETY: data is valid for its length.
    let w = unsafe { zts::ffi::io::zts_write(s, data.as_ptr().cast(), data.len()) };
    assert_eq!(w, 1000, "write: {}", errno());
    ok(zts_close(s));
    // A zero-window probe may go out now; it carries at most one byte.
    for seen in peer.segments() {
        assert!(seen.len <= 1, "{} bytes sent into a zero window", seen.len);
    }

    // The peer reads and reopens its window, acknowledging nothing new.
    peer.window = 65535;
    peer.latest.set(None);
    peer.send(TcpControl::None, Some(node_seq), &[]);
    let sent = peer.until("the data after the window opened", |s| s.len > 1);
    assert_eq!(sent.seq, node_seq, "the data starts where the ACK points");
    assert_eq!(sent.len, 1000, "all of it at once, not a probe");
    let fin = if sent.fin {
        sent
    } else {
        peer.until("the FIN", |s| s.fin)
    };
    assert_eq!(fin.seq + fin.len, node_seq + 1000, "FIN after the data");
    peer.send(TcpControl::None, Some(node_seq + 1001), &[]);
    ok(zts_close(l));
    ok(zts_node_free(n));
}
