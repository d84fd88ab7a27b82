//! What the fuzz targets share: one running node on `mem:fuzz` with
//! addresses of both families, listening TCP sockets and a bound UDP
//! socket (so frames reach real sockets), and a raw switch port to send
//! frames from.

use std::ffi::CString;
use std::net::SocketAddr;
use std::sync::OnceLock;
use zts::ffi::node::*;
use zts::ffi::socket::*;
use zts::testing::{MemPort, node_mac, settle};

pub struct Rig {
    pub node: i32,
    pub mac: [u8; 6],
    pub port: MemPort,
}

/// The port's own MAC: locally administered, never a node's.
pub const PORT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0xf0, 0x01];

fn check(rc: i32, what: &str) -> i32 {
    assert!(
        rc >= 0,
        "{what} failed: errno {}",
        zts::ffi::errno::zts_errno()
    );
    rc
}

/// A sockaddr for `sa` and its length.
pub fn sockaddr(sa: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        SocketAddr::V4(a) => {
            // SAFETY: storage is big and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut st as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as u16;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: storage is big and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut st as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as u16;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (st, len as libc::socklen_t)
}

fn open(node: i32, ty: i32, at: &str) -> i32 {
    let sa: SocketAddr = at.parse().unwrap();
    let domain = if sa.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = check(zts_node_socket(node, domain, ty, 0), "socket");
    let (st, len) = sockaddr(sa);
    // SAFETY: st holds a sockaddr of len bytes.
    check(
        unsafe { zts_bind(fd, &st as *const _ as *const _, len) },
        "bind",
    );
    if ty == libc::SOCK_STREAM {
        check(zts_listen(fd, 8), "listen");
    }
    fd
}

pub fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let node = check(zts_node_new(), "node");
        let uri = CString::new("mem:fuzz").unwrap();
        // SAFETY: uri is a valid C string.
        let net = check(unsafe { zts_net_join(node, uri.as_ptr()) }, "join");
        for cidr in ["10.99.0.1/24", "fd00:99::1/64"] {
            let c = CString::new(cidr).unwrap();
            // SAFETY: c is a valid C string.
            check(unsafe { zts_addr_add(node, net, c.as_ptr()) }, "addr");
        }
        check(zts_node_start(node), "start");
        open(node, libc::SOCK_STREAM, "10.99.0.1:80");
        open(node, libc::SOCK_STREAM, "[fd00:99::1]:80");
        open(node, libc::SOCK_DGRAM, "0.0.0.0:53");
        open(node, libc::SOCK_DGRAM, "[fd00:99::1]:53");
        let mac = node_mac(node, net).unwrap();
        let port = MemPort::attach("fuzz", PORT_MAC);
        Rig { node, mac, port }
    })
}

/// Puts `frame` on the segment (a unicast destination becomes the node's
/// MAC so the frame reaches it), waits until the node has handled it and
/// discards the node's answers. A node whose stack thread died is a crash.
pub fn inject(frame: &[u8]) {
    let r = rig();
    let mut f = frame.to_vec();
    if f.len() >= 6 && f[0] & 1 == 0 {
        f[..6].copy_from_slice(&r.mac);
    }
    r.port.send(f);
    settle(r.node).expect("the node's stack thread stopped");
    r.port.take();
}
