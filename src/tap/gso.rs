//! Segmentation of TCP segments larger than the wire's MTU, as a NIC's
//! TSO or the kernel's GSO does. Between stacks on one in-process switch a
//! node sends up to 64 KiB of a connection as one frame, and its peer takes
//! it whole (as the kernel's loopback and veth pass GSO packets whole);
//! where frames must be the MTU's size (an impaired port, which drops and
//! reorders frames, or a segment a raw port or capture shows), the frame is
//! cut here into the segments the sender would have made.

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};

const ETH: usize = 14;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

/// Cuts `frame`, an Ethernet frame holding one TCP segment, into segments
/// of at most `mss` payload bytes each, passed to `out` in order. With
/// `checksums` the IP and TCP checksums are computed; without, receivers
/// ignore them. A frame that is not a TCP segment this can cut goes out as
/// it is.
pub fn segment(frame: &[u8], mss: usize, checksums: bool, out: &mut dyn FnMut(Vec<u8>)) {
    match headers(frame) {
        Some(h) if mss > 0 && frame.len() - h.payload_at > mss => {
            cut(frame, &h, mss, checksums, out)
        }
        _ => out(frame.to_vec()),
    }
}

/// Fills in the TCP checksum of `frame`, if it holds a TCP segment: a
/// stack that offloads segmentation leaves it to the device (smoltcp
/// insists), and a wire that shows frames needs it.
pub fn fill_tcp_checksum(frame: &mut [u8]) {
    let Some(h) = headers(frame) else { return };
    let (src, dst) = addresses(frame, &h);
    TcpPacket::new_unchecked(&mut frame[h.tcp_at..]).fill_checksum(&src, &dst);
}

fn addresses(frame: &[u8], h: &Headers) -> (IpAddress, IpAddress) {
    if h.v4 {
        let ip = Ipv4Packet::new_unchecked(&frame[h.ip_at..]);
        (ip.src_addr().into(), ip.dst_addr().into())
    } else {
        let ip = Ipv6Packet::new_unchecked(&frame[h.ip_at..]);
        (ip.src_addr().into(), ip.dst_addr().into())
    }
}

struct Headers {
    v4: bool,
    ip_at: usize,
    tcp_at: usize,
    payload_at: usize,
}

fn headers(frame: &[u8]) -> Option<Headers> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (v4, tcp_at) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let whole = ip.total_len() as usize == ip.as_ref().len();
            let unfragmented = !ip.more_frags() && ip.frag_offset() == 0;
            if ip.next_header() != IpProtocol::Tcp || !whole || !unfragmented {
                return None;
            }
            (true, ETH + ip.header_len() as usize)
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None; // extension headers: smoltcp sends none with TCP
            }
            (false, ETH + 40)
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(frame.get(tcp_at..)?).ok()?;
    Some(Headers {
        v4,
        ip_at: ETH,
        tcp_at,
        payload_at: tcp_at + tcp.header_len() as usize,
    })
}

fn cut(frame: &[u8], h: &Headers, mss: usize, checksums: bool, out: &mut dyn FnMut(Vec<u8>)) {
    let payload = &frame[h.payload_at..];
    let header = &frame[..h.payload_at];
    let seq = u32::from_be_bytes(frame[h.tcp_at + 4..h.tcp_at + 8].try_into().unwrap());
    let flags = frame[h.tcp_at + 13];
    let count = payload.len().div_ceil(mss);
    for (i, chunk) in payload.chunks(mss).enumerate() {
        let mut f = Vec::with_capacity(header.len() + chunk.len());
        f.extend_from_slice(header);
        f.extend_from_slice(chunk);
        let tcp_len = f.len() - h.tcp_at;
        let offset = (i * mss) as u32;
        f[h.tcp_at + 4..h.tcp_at + 8].copy_from_slice(&seq.wrapping_add(offset).to_be_bytes());
        // FIN and PSH belong to the last piece, CWR to the first.
        let mut piece_flags = flags;
        if i + 1 < count {
            piece_flags &= !(TCP_FIN | TCP_PSH);
        }
        if i > 0 {
            piece_flags &= !TCP_CWR;
        }
        f[h.tcp_at + 13] = piece_flags;
        if h.v4 {
            let mut ip = Ipv4Packet::new_unchecked(&mut f[h.ip_at..]);
            ip.set_total_len((h.tcp_at - h.ip_at + tcp_len) as u16);
            ip.set_ident(ip.ident().wrapping_add(i as u16));
            if checksums {
                ip.fill_checksum();
            }
        } else {
            let mut ip = Ipv6Packet::new_unchecked(&mut f[h.ip_at..]);
            ip.set_payload_len(tcp_len as u16);
        }
        if checksums {
            let (src, dst) = addresses(&f, h);
            TcpPacket::new_unchecked(&mut f[h.tcp_at..]).fill_checksum(&src, &dst);
        }
        out(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetRepr, Ipv4Address, Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber,
    };

    const SRC: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const DST: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

    /// An Ethernet frame with one IPv4 TCP segment of `payload`.
    fn frame(payload: &[u8], control: TcpControl) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 1000,
            dst_port: 80,
            control,
            seq_number: TcpSeqNumber(-10),
            ack_number: Some(TcpSeqNumber(7)),
            window_len: 512,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let ip = Ipv4Repr {
            src_addr: SRC,
            dst_addr: DST,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EthernetProtocol::Ipv4,
        };
        let caps = ChecksumCapabilities::default();
        let mut f = vec![0; ETH + ip.buffer_len() + tcp.buffer_len()];
        eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..]), &caps);
        let mut seg = TcpPacket::new_unchecked(&mut f[ETH + 20..]);
        tcp.emit(&mut seg, &SRC.into(), &DST.into(), &caps);
        f
    }

    fn pieces(f: &[u8], mss: usize) -> Vec<Vec<u8>> {
        let mut got = vec![];
        segment(f, mss, true, &mut |p| got.push(p));
        got
    }

    #[test]
    fn a_large_segment_is_cut_into_valid_segments_in_order() {
        let data: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let got = pieces(&frame(&data, TcpControl::Fin), 1000);
        assert_eq!(got.len(), 3);
        let mut joined = vec![];
        for (i, f) in got.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(&f[ETH..]).unwrap();
            assert!(ip.verify_checksum());
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(&SRC.into(), &DST.into()));
            assert_eq!(tcp.seq_number(), TcpSeqNumber(-10 + 1000 * i as i32));
            assert_eq!(tcp.fin(), i == 2, "FIN only on the last");
            joined.extend_from_slice(tcp.payload());
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn what_fits_or_is_not_tcp_goes_as_it_is() {
        let small = frame(b"hello", TcpControl::Psh);
        assert_eq!(pieces(&small, 1000), vec![small.clone()]);
        let arp = vec![0xff; 60];
        assert_eq!(pieces(&arp, 10), vec![arp.clone()]);
    }
}
