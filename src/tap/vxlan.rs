//! The UDP overlay in the VXLAN wire format (RFC 7348): Ethernet frames in
//! UDP with an 8-byte header carrying a 24-bit VNI, so a Linux `vxlan`
//! device is a peer. Broadcast and unknown unicast go to every peer
//! (head-end replication); a MAC learned from a received frame goes to
//! that peer only. Peers are recognised by address: the kernel sends from
//! a per-flow source port.

use super::link::Link;
use super::reader::Reader;
use super::stats::DropReason;
use super::{MacAddr, Tap, is_group};
use crate::error::Result;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;

const HEADER: usize = 8;
/// The I flag: the VNI is valid.
const FLAG_VNI: u8 = 0x08;

struct Peers {
    configured: Vec<SocketAddr>,
    learned: Vec<SocketAddr>,
    learn: bool,
    /// Where each MAC was last seen.
    fdb: HashMap<MacAddr, SocketAddr>,
}

impl Peers {
    /// The endpoint to answer a sender at, if it may talk to us.
    /// A configured peer is known by its address alone (a kernel sends from
    /// a per-flow port); a learned one by address and port, so several
    /// processes on one host are several peers.
    fn accept(&mut self, from: SocketAddr) -> Option<SocketAddr> {
        if let Some(p) = self.configured.iter().find(|p| p.ip() == from.ip()) {
            return Some(*p);
        }
        if self.learned.contains(&from) {
            return Some(from);
        }
        if self.learn {
            self.learned.push(from);
            return Some(from);
        }
        None
    }
}

pub struct VxlanTap {
    sock: Arc<UdpSocket>,
    vni: u32,
    peers: Arc<RwLock<Peers>>,
    link: Arc<Link>,
    _reader: Reader,
}

fn header(vni: u32) -> [u8; HEADER] {
    let v = vni.to_be_bytes();
    [FLAG_VNI, 0, 0, 0, v[1], v[2], v[3], 0]
}

/// Binds the overlay's UDP socket (at join time, so the port is known and
/// kept across restarts).
pub fn bind(addr: SocketAddr) -> Result<Arc<UdpSocket>> {
    let sock = UdpSocket::bind(addr)
        .map_err(|e| crate::error::Errno(e.raw_os_error().unwrap_or(libc::EADDRNOTAVAIL)))?;
    sock.set_nonblocking(true)
        .map_err(|_| crate::error::Errno::EIO)?;
    grow_buffers(&sock);
    Ok(Arc::new(sock))
}

/// Socket buffers big enough for a burst of full TCP windows: the default
/// (about 200 KiB) overflows under bulk transfer, and every datagram the
/// kernel drops costs smoltcp a retransmission timeout. The FORCE options
/// pass rmem_max when we may; the plain ones are the fallback.
fn grow_buffers(sock: &UdpSocket) {
    const BYTES: libc::c_int = 8 << 20;
    let fd = sock.as_raw_fd();
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        for opt in [force, plain] {
            // SAFETY: BYTES is a live int for the call; fd is our socket.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    &BYTES as *const libc::c_int as *const _,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
    }
}

impl VxlanTap {
    pub fn start(
        sock: Arc<UdpSocket>,
        vni: u32,
        configured: Vec<SocketAddr>,
        learn: bool,
        link: Arc<Link>,
    ) -> Result<VxlanTap> {
        let peers = Arc::new(RwLock::new(Peers {
            configured,
            learned: Vec::new(),
            learn,
            fdb: HashMap::new(),
        }));
        let (rsock, rpeers, rlink) = (sock.clone(), peers.clone(), link.clone());
        let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut buf = vec![0u8; 65536 + HEADER];
        let reader = Reader::spawn(format!("zts-vxlan-{port}"), sock.as_raw_fd(), move || {
            while let Ok((n, from)) = rsock.recv_from(&mut buf) {
                receive(&buf[..n], from, vni, &rpeers, &rlink);
            }
        })?;
        Ok(VxlanTap {
            sock,
            vni,
            peers,
            link,
            _reader: reader,
        })
    }
}

/// Decapsulates what the fuzz target hands it as one datagram from a
/// configured peer (`from_peer`) or from a stranger, with `learn` off.
pub(crate) fn receive_for_fuzzing(dgram: &[u8], from_peer: bool, vni: u32, link: &Link) {
    let peer: SocketAddr = ([127, 0, 0, 2], 4789).into();
    let from = if from_peer {
        peer
    } else {
        ([127, 0, 0, 3], 4789).into()
    };
    let peers = RwLock::new(Peers {
        configured: vec![peer],
        learned: Vec::new(),
        learn: false,
        fdb: HashMap::new(),
    });
    receive(dgram, from, vni, &peers, link);
}

fn receive(dgram: &[u8], from: SocketAddr, vni: u32, peers: &RwLock<Peers>, link: &Link) {
    if dgram.len() < HEADER + 14
        || dgram[0] & FLAG_VNI == 0
        || dgram[4..7] != vni.to_be_bytes()[1..]
    {
        link.stats.dropped(DropReason::Malformed);
        return;
    }
    let frame = &dgram[HEADER..];
    let mut p = peers.write();
    let Some(endpoint) = p.accept(from) else {
        drop(p);
        link.stats.dropped(DropReason::NotPeer);
        return;
    };
    let src: MacAddr = frame[6..12].try_into().unwrap();
    if !is_group(&src) {
        p.fdb.insert(src, endpoint);
    }
    drop(p);
    link.deliver(frame.to_vec());
}

impl Tap for VxlanTap {
    fn send(&self, frame: Vec<u8>) {
        let mut dgram = Vec::with_capacity(HEADER + frame.len());
        dgram.extend_from_slice(&header(self.vni));
        dgram.extend_from_slice(&frame);
        let peers = self.peers.read();
        let dst: MacAddr = frame[..6].try_into().unwrap();
        let known = (!is_group(&dst)).then(|| peers.fdb.get(&dst)).flatten();
        let targets: Vec<SocketAddr> = match known {
            Some(ep) => vec![*ep],
            None => peers
                .configured
                .iter()
                .chain(&peers.learned)
                .copied()
                .collect(),
        };
        drop(peers);
        for t in targets {
            if self.sock.send_to(&dgram, t).is_err() {
                self.link.stats.dropped(DropReason::SendFailed);
            }
        }
    }
}
