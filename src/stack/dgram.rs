//! Moves datagrams between app sockets and smoltcp's UDP, ICMP and raw
//! sockets. A socket bound to the wildcard address has one smoltcp socket
//! on each network of its family; a datagram leaves through the network
//! its destination routes to.

use super::Net;
use super::route::Routing;
use super::tcp::Step;
use crate::socket::datagrams::Datagram;
use crate::socket::{Proto, SockState, Socket};
use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::{icmp, raw, udp};
use smoltcp::storage::{PacketBuffer, PacketMetadata};
use smoltcp::wire::{
    Icmpv6Packet, IpAddress, IpListenEndpoint, IpProtocol, IpVersion, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Datagrams a smoltcp socket buffers each way, whatever their size.
const PACKET_SLOTS: usize = 256;

pub struct Dgram {
    pub sock: Arc<Socket>,
    slots: Vec<(usize, SocketHandle)>,
    opts_generation: Option<u32>,
    /// When the app closed the socket: what is still queued then gets this
    /// long to leave (a datagram for a host that never answers ARP would
    /// otherwise keep the socket forever).
    closed_at: Option<std::time::Instant>,
}

const FLUSH_AFTER_CLOSE: std::time::Duration = std::time::Duration::from_secs(5);

/// A smoltcp packet buffer: PACKET_SLOTS datagrams, and payload room for
/// the requested bytes and at least one largest datagram.
fn buffer<H: Copy>(bytes: usize) -> PacketBuffer<'static, H> {
    PacketBuffer::new(
        vec![PacketMetadata::EMPTY; PACKET_SLOTS],
        vec![0; bytes.max(65536)],
    )
}

/// Creates the smoltcp sockets for a datagram socket that was just bound.
pub fn open(nets: &mut [Net], routing: &Routing, sock: &Arc<Socket>) -> Option<Dgram> {
    let st = sock.state.lock();
    if st.closed {
        return None;
    }
    let local = st.local?;
    let specific = !local.ip().is_unspecified();
    // A wildcard socket is on every network, including ones whose address
    // comes later (DHCP); datagrams of the wrong family are dropped.
    let on: Vec<usize> = if specific {
        routing.net_of(local.ip()).into_iter().collect()
    } else {
        (0..nets.len()).collect()
    };
    let mut slots = Vec::new();
    for n in on {
        let (rx, tx) = (st.opts.rcvbuf, st.opts.sndbuf);
        let handle = match sock.proto {
            Proto::Udp => {
                let mut s = udp::Socket::new(buffer(rx), buffer(tx));
                let ep = IpListenEndpoint {
                    addr: specific.then(|| local.ip().into()),
                    port: local.port(),
                };
                if s.bind(ep).is_err() {
                    continue;
                }
                nets[n].sockets.add(s)
            }
            Proto::Ping => {
                let mut s = icmp::Socket::new(buffer(rx), buffer(tx));
                if s.bind(icmp::Endpoint::Ident(local.port())).is_err() {
                    continue;
                }
                nets[n].show_packets();
                nets[n].sockets.add(s)
            }
            Proto::Raw(p) => {
                let version = if sock.domain == libc::AF_INET6 {
                    IpVersion::Ipv6
                } else {
                    IpVersion::Ipv4
                };
                nets[n].show_packets();
                nets[n].sockets.add(raw::Socket::new(
                    Some(version),
                    Some(IpProtocol::from(p)),
                    buffer(rx),
                    buffer(tx),
                ))
            }
            Proto::Tcp => return None,
        };
        slots.push((n, handle));
    }
    Some(Dgram {
        sock: sock.clone(),
        slots,
        opts_generation: None,
        closed_at: None,
    })
}

impl Dgram {
    /// Whether smoltcp has sent everything handed to it.
    fn all_sent(&self, nets: &mut [Net], proto: Proto) -> bool {
        self.slots.iter().all(|&(n, h)| {
            let s = &mut nets[n].sockets;
            match proto {
                Proto::Udp => s.get_mut::<udp::Socket>(h).send_queue() == 0,
                Proto::Ping => s.get_mut::<icmp::Socket>(h).send_queue() == 0,
                Proto::Raw(_) => s.get_mut::<raw::Socket>(h).send_queue() == 0,
                Proto::Tcp => true,
            }
        })
    }

    pub fn close(&mut self, nets: &mut [Net]) {
        for (n, h) in self.slots.drain(..) {
            nets[n].sockets.remove(h);
        }
    }
}

/// Presents `ip` the way the socket's family expects it.
fn for_domain(domain: i32, ip: IpAddr, port: u16) -> SocketAddr {
    match ip {
        IpAddr::V4(v4) if domain == libc::AF_INET6 => {
            SocketAddr::new(v4.to_ipv6_mapped().into(), port)
        }
        other => SocketAddr::new(other, port),
    }
}

enum Sent {
    Done,
    /// smoltcp's buffer is full: try again after the next poll.
    Full,
    /// Undeliverable (no source address, say): dropped, as a kernel does.
    Dropped,
}

/// IP_TTL or IPV6_UNICAST_HOPS, whichever the socket's family uses.
fn hop_limit(sock: &Socket, st: &SockState) -> u8 {
    if sock.domain == libc::AF_INET6 {
        st.opts.hops
    } else {
        st.opts.ttl
    }
}

fn apply_hop_limit(net: &mut Net, h: SocketHandle, proto: Proto, hops: u8) {
    match proto {
        Proto::Udp => net
            .sockets
            .get_mut::<udp::Socket>(h)
            .set_hop_limit(Some(hops)),
        Proto::Ping => net
            .sockets
            .get_mut::<icmp::Socket>(h)
            .set_hop_limit(Some(hops)),
        // Raw packets get their hop limit when their header is built.
        Proto::Raw(_) | Proto::Tcp => {}
    }
}

fn send_one(
    net: &mut Net,
    h: SocketHandle,
    sock: &Socket,
    hops: u8,
    ident: u16,
    d: &Datagram,
) -> Sent {
    let dst: IpAddress = d.addr.ip().into();
    let result = match sock.proto {
        Proto::Udp => net
            .sockets
            .get_mut::<udp::Socket>(h)
            .send_slice(
                &d.data,
                udp::UdpMetadata::from(smoltcp::wire::IpEndpoint::from(d.addr)),
            )
            .map_err(|e| matches!(e, udp::SendError::BufferFull)),
        Proto::Ping => {
            // As a Linux ping socket does, the socket's identifier replaces
            // the caller's; smoltcp fills in the checksum.
            let mut msg = d.data.clone();
            msg[4..6].copy_from_slice(&ident.to_be_bytes());
            net.sockets
                .get_mut::<icmp::Socket>(h)
                .send_slice(&msg, dst)
                .map_err(|e| matches!(e, icmp::SendError::BufferFull))
        }
        Proto::Raw(p) => {
            let Some(packet) = raw_packet(net, sock.domain, p, hops, dst, &d.data) else {
                return Sent::Dropped;
            };
            net.sockets
                .get_mut::<raw::Socket>(h)
                .send_slice(&packet)
                .map_err(|e| matches!(e, raw::SendError::BufferFull))
        }
        Proto::Tcp => return Sent::Dropped,
    };
    match result {
        Ok(()) => Sent::Done,
        Err(true) => Sent::Full,
        Err(false) => Sent::Dropped,
    }
}

/// Wraps a raw socket's payload in the IP header the kernel would add.
fn raw_packet(
    net: &mut Net,
    domain: i32,
    proto: u8,
    hops: u8,
    dst: IpAddress,
    data: &[u8],
) -> Option<Vec<u8>> {
    let src = net.iface.get_source_address(&dst)?;
    let caps = ChecksumCapabilities::default();
    match (src, dst) {
        (IpAddress::Ipv4(src_addr), IpAddress::Ipv4(dst_addr)) if domain == libc::AF_INET => {
            let repr = Ipv4Repr {
                src_addr,
                dst_addr,
                next_header: IpProtocol::from(proto),
                payload_len: data.len(),
                hop_limit: hops,
            };
            let mut buf = vec![0; repr.buffer_len() + data.len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), &caps);
            buf[repr.buffer_len()..].copy_from_slice(data);
            Some(buf)
        }
        (IpAddress::Ipv6(src_addr), IpAddress::Ipv6(dst_addr)) => {
            let repr = Ipv6Repr {
                src_addr,
                dst_addr,
                next_header: IpProtocol::from(proto),
                payload_len: data.len(),
                hop_limit: hops,
            };
            let mut buf = vec![0; repr.buffer_len() + data.len()];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            let header = repr.buffer_len();
            buf[header..].copy_from_slice(data);
            // The kernel computes ICMPv6 checksums for raw sockets too.
            if IpProtocol::from(proto) == IpProtocol::Icmpv6 && data.len() >= 4 {
                Icmpv6Packet::new_unchecked(&mut buf[header..]).fill_checksum(&src_addr, &dst_addr);
            }
            Some(buf)
        }
        _ => None,
    }
}

/// Takes one received datagram from smoltcp: payload and source.
fn recv_one(net: &mut Net, h: SocketHandle, sock: &Socket) -> Option<Datagram> {
    match sock.proto {
        Proto::Udp => {
            let (data, meta) = net.sockets.get_mut::<udp::Socket>(h).recv().ok()?;
            let ep = meta.endpoint;
            Some(Datagram {
                addr: for_domain(sock.domain, ep.addr.into(), ep.port),
                data: data.to_vec(),
            })
        }
        Proto::Ping => {
            let (data, from) = net.sockets.get_mut::<icmp::Socket>(h).recv().ok()?;
            Some(Datagram {
                addr: for_domain(sock.domain, from.into(), 0),
                data: data.to_vec(),
            })
        }
        Proto::Raw(_) => {
            let packet = net.sockets.get_mut::<raw::Socket>(h).recv().ok()?;
            // IPv4 raw sockets see the IP header; IPv6 ones only the payload.
            if sock.domain == libc::AF_INET6 {
                let p = Ipv6Packet::new_checked(packet).ok()?;
                Some(Datagram {
                    addr: SocketAddr::new(IpAddr::V6(p.src_addr()), 0),
                    data: p.payload().to_vec(),
                })
            } else {
                let p = Ipv4Packet::new_checked(packet).ok()?;
                Some(Datagram {
                    addr: SocketAddr::new(IpAddr::V4(p.src_addr()), 0),
                    data: packet.to_vec(),
                })
            }
        }
        Proto::Tcp => None,
    }
}

/// A connected datagram socket hears only its peer. An IPv4 socket hears
/// no IPv6 sender; an IPv6 socket hears IPv4 senders only if it is UDP and
/// not IPV6_V6ONLY (ICMP differs between the two versions).
fn from_peer(sock: &Socket, st: &SockState, from: &SocketAddr) -> bool {
    let proto = sock.proto;
    let mapped_v4 = matches!(from.ip(), IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
    let v4_sender = from.is_ipv4() || mapped_v4;
    let wrong_family = if sock.domain == libc::AF_INET {
        !v4_sender
    } else {
        v4_sender && (st.opts.v6only || proto != Proto::Udp)
    };
    if wrong_family {
        return false;
    }
    match st.peer {
        None => true,
        Some(peer) if proto == Proto::Udp => peer == *from,
        Some(peer) => peer.ip() == from.ip(),
    }
}

pub fn pump(nets: &mut [Net], routing: &Routing, d: &mut Dgram) -> Step {
    let sock = d.sock.clone();
    let mut st = sock.state.lock();
    // A closed socket still sends what it queued (as the kernel's does);
    // it goes once that is handed to smoltcp.
    let flushed = st.tx_dgrams.is_empty() && d.all_sent(nets, sock.proto);
    let expired = st.closed
        && d.closed_at
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
            > FLUSH_AFTER_CLOSE;
    if sock.stack.is_down() || (st.closed && (flushed || expired)) {
        drop(st);
        d.close(nets);
        return Step::Remove;
    }
    let ident = st.local.map_or(0, |l| l.port());
    let hops = hop_limit(&sock, &st);
    if d.opts_generation != Some(st.opts_generation) {
        for &(n, h) in &d.slots {
            apply_hop_limit(&mut nets[n], h, sock.proto, hops);
        }
        d.opts_generation = Some(st.opts_generation);
    }
    let mut moved = false;
    let mut changed = false;
    while let Some(front) = st.tx_dgrams.front() {
        let net = routing.route(front.addr.ip());
        let slot = d
            .slots
            .iter()
            .find(|(n, _)| Some(*n) == net)
            .or(d.slots.first())
            .copied();
        if let Some((n, h)) = slot {
            if let Sent::Full = send_one(&mut nets[n], h, &sock, hops, ident, front) {
                break;
            }
            moved = true;
        }
        st.tx_dgrams.pop();
        changed = true;
    }
    st.rx_stalled = false;
    for &(n, h) in &d.slots {
        loop {
            if !st.rx_dgrams.has_room() {
                st.rx_stalled = true;
                break;
            }
            let Some(got) = recv_one(&mut nets[n], h, &sock) else {
                break;
            };
            if from_peer(&sock, &st, &got.addr) && !st.shut_rd {
                st.rx_dgrams.push(got);
                changed = true;
            }
        }
    }
    if changed {
        sock.notify(&st);
    }
    Step::Keep(moved)
}
