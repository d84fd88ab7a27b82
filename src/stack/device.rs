//! smoltcp's view of one network: frames come from the node's rx FIFO and
//! go to the tap. The node's loopback network has no tap: it is an IP
//! medium device whose every packet comes straight back (smoltcp does not
//! resolve ::1 by neighbour discovery, so loopback cannot be Ethernet).
//!
//! smoltcp has no loopback on an Ethernet interface: a frame to the node's
//! own MAC goes straight back into its own FIFO, and a group frame goes to
//! the wire and to the node too (so ARP for its own address is answered,
//! as it is by the kernel's loopback).

use crate::tap::fifo::FrameFifo;
use crate::tap::gso;
use crate::tap::lent::{Frame, Lender, Loan};
use crate::tap::link::Link;
use crate::tap::{MacAddr, Tap, is_group};
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpEndpoint,
    IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};
use std::cell::Cell;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Arc;

/// A connection request, as far as the listener defence needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Syn {
    pub src: IpEndpoint,
    pub dst: IpEndpoint,
    pub seq: u32,
}

/// The IP fragments of one datagram: source, destination, identification.
pub type FragKey = (IpAddress, IpAddress, u32);

/// What the stack needs to know of a received frame to pick the socket
/// set it goes to.
pub enum Peek {
    /// Not TCP (or unreadable): the network's own socket set.
    Other,
    /// ARP or ICMPv6 (neighbour discovery among it): it may teach the
    /// interface a neighbour that connections are waiting for.
    Neighbour,
    /// A TCP segment, or the first fragment of one (`frag` is then set).
    Tcp {
        src: IpEndpoint,
        dst: IpEndpoint,
        seq: u32,
        syn: bool,
        ack: bool,
        frag: Option<FragKey>,
        /// Where a whole segment's payload is in the frame: to the end
        /// of the IP packet (not of the frame, which may be padded).
        payload: Option<Range<usize>>,
    },
    /// A later fragment of some datagram: no ports to read.
    Fragment(FragKey),
}

impl Peek {
    /// A whole SYN without ACK: someone asks to connect.
    pub fn syn(&self) -> Option<Syn> {
        match *self {
            Peek::Tcp {
                src,
                dst,
                seq,
                syn: true,
                ack: false,
                frag: None,
                ..
            } => Some(Syn { src, dst, seq }),
            _ => None,
        }
    }

    /// Where a whole TCP segment's payload is in the frame.
    pub fn payload(&self) -> Option<Range<usize>> {
        match self {
            Peek::Tcp { payload, .. } => payload.clone(),
            _ => None,
        }
    }

    /// The same, for a frame whose IP packet starts `at` bytes in.
    fn at(mut self, at: usize) -> Peek {
        if let Peek::Tcp {
            payload: Some(r), ..
        } = &mut self
        {
            *r = r.start + at..r.end + at;
        }
        self
    }
}

/// Reads ports, sequence number and flags: the first 14 bytes of a TCP
/// header (a first fragment may hold fewer; smoltcp checks the rest).
/// `at` is where the TCP header is in the IP packet `ip`, up to its end.
fn tcp_peek(
    src: IpAddress,
    dst: IpAddress,
    ip: &[u8],
    at: Range<usize>,
    frag: Option<FragKey>,
) -> Peek {
    let Some(tcp) = ip.get(at.clone()) else {
        return Peek::Other;
    };
    // A whole segment must be a well-formed one (a malformed SYN must not
    // make room at a listener); a first fragment only names its ports.
    let whole = TcpPacket::new_checked(tcp)
        .ok()
        .filter(|_| frag.is_none())
        .map(|p| at.start + p.header_len() as usize..at.end);
    let readable = match frag {
        None => whole.is_some(),
        Some(_) => tcp.len() >= 14,
    };
    if !readable {
        return match frag {
            Some(k) => Peek::Fragment(k),
            None => Peek::Other,
        };
    }
    let port = |i: usize| u16::from_be_bytes([tcp[i], tcp[i + 1]]);
    let flags = tcp[13];
    Peek::Tcp {
        src: IpEndpoint::new(src, port(0)),
        dst: IpEndpoint::new(dst, port(2)),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        frag,
        payload: whole,
    }
}

/// IPv6 extension headers (next header values) a TCP segment may sit behind.
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DEST_OPTS: u8 = 60;

fn peek_ip(ip: &[u8]) -> Option<Peek> {
    match ip.first()? >> 4 {
        4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            let (src, dst) = (p.src_addr().into(), p.dst_addr().into());
            let (from, to) = (p.header_len() as usize, p.total_len() as usize);
            let frag =
                (p.more_frags() || p.frag_offset() != 0).then(|| (src, dst, p.ident() as u32));
            if let Some(k) = frag
                && p.frag_offset() != 0
            {
                return Some(Peek::Fragment(k));
            }
            if p.next_header() != IpProtocol::Tcp || to > ip.len() {
                return None;
            }
            Some(tcp_peek(src, dst, ip, from..to, frag))
        }
        6 => {
            let p = Ipv6Packet::new_checked(ip).ok()?;
            let (src, dst) = (p.src_addr().into(), p.dst_addr().into());
            let mut payload = p.payload();
            let end = 40 + payload.len();
            let mut next = u8::from(p.next_header());
            // Extension headers before the payload: their next header and
            // length are their first two bytes.
            loop {
                match next {
                    IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS => {
                        let len = (*payload.get(1)? as usize + 1) * 8;
                        next = *payload.first()?;
                        payload = payload.get(len..)?;
                    }
                    6 => return Some(tcp_peek(src, dst, ip, end - payload.len()..end, None)),
                    58 => return Some(Peek::Neighbour),
                    IPV6_FRAGMENT => {
                        // next header, reserved, offset and M flag, identification
                        let h = payload.get(..8)?;
                        let key = (src, dst, u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
                        let offset = u16::from_be_bytes([h[2], h[3]]) >> 3;
                        if offset != 0 || h[0] != 6 {
                            return Some(Peek::Fragment(key));
                        }
                        let at = end - payload.len() + 8;
                        return Some(tcp_peek(src, dst, ip, at..end, Some(key)));
                    }
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

pub struct NetDevice {
    rx: Arc<FrameFifo>,
    pending: VecDeque<Frame>,
    out: Out,
    mtu: usize,
    /// The next frame smoltcp reads is kept in `kept` (`keep_next`).
    keep_next: bool,
    kept: Cell<Option<Kept>>,
    /// Whose payloads segments sent now lend, and how many bytes its app
    /// wrote before its oldest unacknowledged one (`lend_from`).
    lending: Option<(Arc<Lender>, u64)>,
}

/// A frame kept after smoltcp read it, with its payload's loan if lent.
pub type Kept = (Vec<u8>, Option<Loan>);

struct Out {
    /// None for the loopback network.
    tap: Option<(Box<dyn Tap>, Arc<Link>)>,
    own: Arc<FrameFifo>,
    mac: MacAddr,
}

impl Out {
    /// Whether frames may carry lent payloads (`lent`): back to the node
    /// itself, or on a wire that takes them to stacks of this process.
    fn lends(&self) -> bool {
        self.tap
            .as_ref()
            .is_none_or(|(tap, link)| link.pcap.is_none() && tap.lends())
    }

    /// A frame that may carry a lent payload: as it is to the node itself
    /// or a stack on the same switch; otherwise filled first.
    fn send_frame(&self, frame: Frame, mss: Option<usize>) {
        if frame.loan.is_none() {
            return match mss {
                Some(mss) => self.send_large(frame.bytes, mss),
                None => self.send(frame.bytes),
            };
        }
        let Some((tap, link)) = &self.tap else {
            self.own.push_frame(frame);
            return;
        };
        if frame.bytes[..6] == self.mac {
            self.own.push_frame(frame);
            return;
        }
        link.sent(&frame.bytes);
        tap.send_frame(frame, mss);
    }

    fn send(&self, mut frame: Vec<u8>) {
        let Some((tap, link)) = &self.tap else {
            self.own.push(frame);
            return;
        };
        if frame.len() < 14 {
            return;
        }
        if tap.offloads() && !tap.intact() {
            // The stack leaves TCP checksums to a device that segments.
            gso::fill_tcp_checksum(&mut frame);
        }
        self.put(tap.as_ref(), link, frame);
    }

    /// A frame of at least an Ethernet header, checksums as they must be,
    /// to the wire or back to the node itself.
    fn put(&self, tap: &dyn Tap, link: &Link, frame: Vec<u8>) {
        if frame[..6] == self.mac {
            self.own.push(frame);
        } else {
            if is_group(&frame[..6]) && is_arp_or_ndisc(&frame) {
                self.own.push(frame.clone());
            }
            link.sent(&frame);
            tap.send(frame);
        }
    }

    /// A TCP segment larger than the MTU, whose pieces carry `mss` bytes.
    fn send_large(&self, frame: Vec<u8>, mss: usize) {
        let Some((tap, link)) = &self.tap else {
            self.own.push(frame);
            return;
        };
        if link.pcap.is_some() || !tap.intact() {
            // Shown as it is, or verified: the MTU's frames, with the
            // checksums the cutting computes (not again by `send`). smoltcp
            // asks this only of a TCP segment longer than `mss`, so every
            // piece is cut, headers and all.
            gso::segment(&frame, mss, true, &mut |f| self.put(tap.as_ref(), link, f));
            return;
        }
        if frame.len() < 14 || frame[..6] == self.mac {
            self.own.push(frame);
            return;
        }
        link.sent(&frame);
        tap.send_large(frame, mss);
    }
}

/// Neighbour discovery is all a node needs to hear of its own group frames.
fn is_arp_or_ndisc(frame: &[u8]) -> bool {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    ethertype == 0x0806 || (ethertype == 0x86dd && frame.len() > 54 && frame[20] == 58)
}

impl NetDevice {
    pub fn new(link: Arc<Link>, tap: Box<dyn Tap>, mac: MacAddr) -> Self {
        NetDevice {
            rx: link.fifo.clone(),
            pending: VecDeque::new(),
            mtu: link.mtu,
            keep_next: false,
            kept: Cell::new(None),
            lending: None,
            out: Out {
                own: link.fifo.clone(),
                tap: Some((tap, link)),
                mac,
            },
        }
    }

    /// The loopback network's device: IP packets, all returned to sender.
    pub fn loopback(rx: Arc<FrameFifo>, mtu: usize) -> Self {
        NetDevice {
            rx: rx.clone(),
            pending: VecDeque::new(),
            out: Out {
                tap: None,
                own: rx,
                mac: [0; 6],
            },
            mtu,
            keep_next: false,
            kept: Cell::new(None),
            lending: None,
        }
    }

    /// The frames received now need no checksum verification (see
    /// [`crate::tap::Tap::intact`]); the loopback network never verifies.
    pub fn intact(&self) -> bool {
        self.out.tap.as_ref().is_none_or(|(t, _)| t.intact())
    }

    /// Frames will be shown as they are (see [`crate::tap::Tap::expose`]).
    pub fn expose(&self) {
        if let Some((t, _)) = &self.out.tap {
            t.expose();
        }
    }

    pub fn hardware_addr(&self) -> HardwareAddress {
        match self.out.tap {
            Some(_) => HardwareAddress::Ethernet(EthernetAddress(self.out.mac)),
            None => HardwareAddress::Ip,
        }
    }
}

impl NetDevice {
    /// What the next received frame is, as far as choosing its socket
    /// set goes (and making room at a listener for a SYN).
    pub fn peek(&mut self) -> Option<Peek> {
        if self.pending.is_empty() {
            self.rx.drain_into(&mut self.pending);
        }
        let frame = &self.pending.front()?.bytes;
        let at = if self.out.tap.is_some() { 14 } else { 0 };
        let ip = match self.out.tap {
            Some(_) => match EthernetFrame::new_checked(&frame[..]) {
                Ok(eth) => match eth.ethertype() {
                    EthernetProtocol::Ipv4 | EthernetProtocol::Ipv6 => eth.payload(),
                    EthernetProtocol::Arp => return Some(Peek::Neighbour),
                    _ => return Some(Peek::Other),
                },
                _ => return Some(Peek::Other),
            },
            None => &frame[..],
        };
        Some(peek_ip(ip).map_or(Peek::Other, |p| p.at(at)))
    }

    /// Discards the next received frame.
    pub fn drop_next(&mut self) {
        self.pending.pop_front();
    }

    /// Takes the next received frame out, to be held back (backlog.rs).
    pub fn take_next(&mut self) -> Option<Frame> {
        self.pending.pop_front()
    }

    /// Makes a frame held back the next one received.
    pub fn put_back(&mut self, frame: Frame) {
        self.pending.push_front(frame);
    }

    /// Whether the next frame is worth keeping for its `payload`: at
    /// least `min` bytes, and at least half the frame's storage (a frame
    /// kept for its payload holds no more than twice it).
    pub fn keeps_for(&self, payload: &Range<usize>, min: usize) -> bool {
        self.pending
            .front()
            .is_some_and(|f| payload.len() >= min && 2 * payload.len() >= f.bytes.capacity())
    }

    /// Whether the next frame's payload is lent: smoltcp must keep it
    /// uncopied or drop it (`require_placement`), since its bytes are not
    /// in the frame.
    pub fn next_is_lent(&self) -> bool {
        self.pending.front().is_some_and(|f| f.loan.is_some())
    }

    /// Whether segments sent now may lend their payloads.
    pub fn lends(&self) -> bool {
        self.out.lends()
    }

    /// Segments sent from now on lend payloads of `lender`'s connection,
    /// whose app wrote `una` bytes before its oldest unacknowledged one;
    /// None to stop.
    pub fn lend_from(&mut self, lending: Option<(Arc<Lender>, u64)>) {
        self.lending = lending;
    }

    /// The next frame smoltcp reads stays here after it, for `take_kept`.
    pub fn keep_next(&mut self) {
        self.keep_next = true;
    }

    /// The frame kept by `keep_next`, once smoltcp read it.
    pub fn take_kept(&mut self) -> Option<Kept> {
        self.keep_next = false;
        self.kept.take()
    }
}

impl phy::Device for NetDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if self.pending.is_empty() {
            self.rx.drain_into(&mut self.pending);
        }
        let frame = self.pending.pop_front()?;
        let keep = std::mem::take(&mut self.keep_next).then_some(&self.kept);
        // Only a frame kept for its payload reads it from the loan.
        let (frame, loan) = match keep {
            Some(_) => (frame.bytes, frame.loan),
            None => (frame.fill(), None),
        };
        let rx = RxToken { frame, loan, keep };
        Some((rx, TxToken::new(&self.out, self.lending.as_ref())))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken::new(&self.out, self.lending.as_ref()))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        if self.out.tap.is_some() {
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = self.mtu + 14;
            // TCP segments of up to 64 KiB (the IP length field's limit)
            // in one frame, where the wire can take them (`gso`).
            if self.out.tap.as_ref().is_some_and(|(t, _)| t.offloads()) {
                // smoltcp leaves TCP checksums to a device that segments;
                // it verifies those it receives.
                caps.checksum.tcp = Checksum::Rx;
                caps.segmentation.tcpv4 = NonZeroUsize::new(usize::from(u16::MAX) + 14);
                caps.segmentation.tcpv6 = NonZeroUsize::new(usize::from(u16::MAX) + 40 + 14);
            }
        } else {
            caps.medium = Medium::Ip;
            caps.max_transmission_unit = self.mtu;
            // Nothing on the way can corrupt a loopback packet.
            caps.checksum = ChecksumCapabilities::ignored();
        }
        caps
    }
}

pub struct RxToken<'a> {
    frame: Vec<u8>,
    /// Its payload, if lent (only to a frame that is kept).
    loan: Option<Loan>,
    /// Where the frame stays once read, if it is to.
    keep: Option<&'a Cell<Option<Kept>>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame);
        match self.keep {
            Some(slot) => slot.set(Some((self.frame, self.loan))),
            None => crate::tap::frames::give(self.frame),
        }
        r
    }
}

pub struct TxToken<'a> {
    out: &'a Out,
    lending: Option<&'a (Arc<Lender>, u64)>,
    /// The size of the pieces, for a segment larger than the MTU.
    mss: Option<usize>,
    /// Where the payload is, if smoltcp left it out.
    lent: Option<phy::LentPayload>,
}

impl<'a> TxToken<'a> {
    fn new(out: &'a Out, lending: Option<&'a (Arc<Lender>, u64)>) -> Self {
        TxToken {
            out,
            lending,
            mss: None,
            lent: None,
        }
    }

    /// The frame smoltcp emitted, its payload lent if it was left out and
    /// may be; otherwise copied in now, while smoltcp holds the buffer.
    fn with_payload(&self, bytes: Vec<u8>) -> Frame {
        let Some(p) = self.lent else {
            return bytes.into();
        };
        let loan = self
            .lending
            .filter(|_| self.out.lends())
            .and_then(|(lender, una)| lender.lend(una + p.offset as u64, p.addr, p.len));
        let frame = Frame { bytes, loan };
        if frame.loan.is_some() {
            return frame;
        }
        let mut bytes = frame.bytes;
        let at = bytes.len() - p.len;
        // smoltcp left out `p.len` bytes at `p.addr` in the socket's send
        // buffer, which it borrows until this token is consumed.
        // SAFETY: those bytes are valid and unchanged now.
        let payload = unsafe { std::slice::from_raw_parts(p.addr as *const u8, p.len) };
        smoltcp::storage::copy_in_pieces(&mut bytes[at..], payload);
        bytes.into()
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut bytes = crate::tap::frames::take(len);
        let r = f(&mut bytes);
        let frame = self.with_payload(bytes);
        self.out.send_frame(frame, self.mss);
        r
    }

    fn set_meta(&mut self, meta: phy::PacketMeta) {
        self.mss = meta.segmentation_offload_size.map(|n| usize::from(n.get()));
        self.lent = meta.lent_payload;
    }
}
