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
use crate::tap::link::Link;
use crate::tap::{MacAddr, Tap, is_group};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpEndpoint,
    IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};
use std::collections::VecDeque;
use std::sync::Arc;

/// A connection request, as far as the listener defence needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Syn {
    pub src: IpEndpoint,
    pub dst: IpEndpoint,
    pub seq: u32,
}

pub struct NetDevice {
    rx: Arc<FrameFifo>,
    pending: VecDeque<Vec<u8>>,
    out: Out,
    mtu: usize,
}

struct Out {
    /// None for the loopback network.
    tap: Option<(Box<dyn Tap>, Arc<Link>)>,
    own: Arc<FrameFifo>,
    mac: MacAddr,
}

impl Out {
    fn send(&self, frame: Vec<u8>) {
        let Some((tap, link)) = &self.tap else {
            self.own.push(frame);
            return;
        };
        if frame.len() < 14 {
            return;
        }
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
    /// The next received frame if it is a TCP SYN (a connection request),
    /// so the stack can make room at a listener before smoltcp sees it.
    pub fn next_syn(&mut self) -> Option<Syn> {
        if self.pending.is_empty() {
            self.rx.drain_into(&mut self.pending);
        }
        let frame = self.pending.front()?;
        let ip = match self.out.tap {
            Some(_) => {
                let eth = EthernetFrame::new_checked(&frame[..]).ok()?;
                match eth.ethertype() {
                    EthernetProtocol::Ipv4 | EthernetProtocol::Ipv6 => eth.payload(),
                    _ => return None,
                }
            }
            None => &frame[..],
        };
        let (src, dst, tcp): (IpAddress, IpAddress, &[u8]) = match ip.first()? >> 4 {
            4 => {
                let p = Ipv4Packet::new_checked(ip).ok()?;
                if p.next_header() != IpProtocol::Tcp || p.frag_offset() != 0 {
                    return None;
                }
                let (from, to) = (p.header_len() as usize, p.total_len() as usize);
                (p.src_addr().into(), p.dst_addr().into(), ip.get(from..to)?)
            }
            6 => {
                let p = Ipv6Packet::new_checked(ip).ok()?;
                if p.next_header() != IpProtocol::Tcp {
                    return None;
                }
                (p.src_addr().into(), p.dst_addr().into(), p.payload())
            }
            _ => return None,
        };
        let seg = TcpPacket::new_checked(tcp).ok()?;
        (seg.syn() && !seg.ack()).then(|| Syn {
            src: IpEndpoint::new(src, seg.src_port()),
            dst: IpEndpoint::new(dst, seg.dst_port()),
            seq: seg.seq_number().0 as u32,
        })
    }

    /// Discards the next received frame.
    pub fn drop_next(&mut self) {
        self.pending.pop_front();
    }
}

impl phy::Device for NetDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        if self.pending.is_empty() {
            self.rx.drain_into(&mut self.pending);
        }
        let frame = self.pending.pop_front()?;
        Some((RxToken(frame), TxToken(&self.out)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&self.out))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        if self.out.tap.is_some() {
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = self.mtu + 14;
        } else {
            caps.medium = Medium::Ip;
            caps.max_transmission_unit = self.mtu;
            // Nothing on the way can corrupt a loopback packet.
            caps.checksum = ChecksumCapabilities::ignored();
        }
        caps
    }
}

pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

pub struct TxToken<'a>(&'a Out);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.send(frame);
        r
    }
}
