//! Thin helpers over the exported C functions, called exactly as C calls
//! them (raw sockaddrs, -1 and errno).

#![allow(dead_code)]

use std::ffi::CString;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr};
use zts::ffi::errno::zts_errno;
use zts::ffi::io::*;
use zts::ffi::node::*;
use zts::ffi::options::*;
use zts::ffi::socket::*;

pub fn errno() -> i32 {
    zts_errno()
}

/// Asserts a call failed with -1 and `expected` errno.
#[track_caller]
pub fn expect_err(rc: isize, expected: i32) {
    assert_eq!(rc, -1, "call should fail with errno {expected}");
    assert_eq!(
        errno(),
        expected,
        "errno: got {}, want {}",
        std::io::Error::from_raw_os_error(errno()),
        std::io::Error::from_raw_os_error(expected)
    );
}

#[track_caller]
pub fn ok(rc: i32) -> i32 {
    assert!(
        rc >= 0,
        "call failed: {}",
        std::io::Error::from_raw_os_error(errno())
    );
    rc
}

/// A started node on `mem:<segment>` with the given addresses.
pub fn node(segment: &str, cidrs: &[&str]) -> i32 {
    let n = ok(zts_node_new());
    let uri = CString::new(format!("mem:{segment}")).unwrap();
    // SAFETY: uri is a valid C string for the call.
    let net = ok(unsafe { zts_net_join(n, uri.as_ptr()) });
    for c in cidrs {
        let c = CString::new(*c).unwrap();
        // SAFETY: c is a valid C string for the call.
        ok(unsafe { zts_addr_add(n, net, c.as_ptr()) });
    }
    ok(zts_node_start(n));
    n
}

pub struct RawAddr {
    pub storage: libc::sockaddr_storage,
    pub len: libc::socklen_t,
}

impl RawAddr {
    pub fn ptr(&self) -> *const libc::sockaddr {
        &self.storage as *const _ as *const libc::sockaddr
    }
}

pub fn raw(sa: SocketAddr) -> RawAddr {
    // SAFETY: sockaddr_storage is plain old data.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as u16,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: storage is big and aligned enough for sockaddr_in.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as u16,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: storage is big and aligned enough for sockaddr_in6.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    RawAddr {
        storage,
        len: len as libc::socklen_t,
    }
}

pub fn parse(storage: &libc::sockaddr_storage) -> SocketAddr {
    match storage.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says it is a sockaddr_in.
            let sin = unsafe { *(storage as *const _ as *const libc::sockaddr_in) };
            SocketAddr::new(
                IpAddr::V4(u32::from_be(sin.sin_addr.s_addr).into()),
                u16::from_be(sin.sin_port),
            )
        }
        libc::AF_INET6 => {
            // SAFETY: the family says it is a sockaddr_in6.
            let sin6 = unsafe { *(storage as *const _ as *const libc::sockaddr_in6) };
            SocketAddr::new(
                IpAddr::V6(sin6.sin6_addr.s6_addr.into()),
                u16::from_be(sin6.sin6_port),
            )
        }
        f => panic!("unexpected family {f}"),
    }
}

pub fn domain_of(sa: &SocketAddr) -> i32 {
    if sa.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

pub fn tcp(node: i32, domain: i32) -> i32 {
    ok(zts_node_socket(node, domain, libc::SOCK_STREAM, 0))
}

pub fn bind(fd: i32, sa: SocketAddr) -> i32 {
    let r = raw(sa);
    // SAFETY: r outlives the call and len matches it.
    unsafe { zts_bind(fd, r.ptr(), r.len) }
}

pub fn connect(fd: i32, sa: SocketAddr) -> i32 {
    let r = raw(sa);
    // SAFETY: r outlives the call and len matches it.
    unsafe { zts_connect(fd, r.ptr(), r.len) }
}

/// A listening socket on `sa`.
pub fn listener(node: i32, sa: SocketAddr, backlog: i32) -> i32 {
    let fd = tcp(node, domain_of(&sa));
    ok(bind(fd, sa));
    ok(zts_listen(fd, backlog));
    fd
}

pub fn accept(fd: i32) -> (i32, SocketAddr) {
    // SAFETY: sockaddr_storage is plain old data.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: st and len are valid for the call.
    let c = unsafe { zts_accept(fd, &mut st as *mut _ as *mut libc::sockaddr, &mut len) };
    (ok(c), parse(&st))
}

pub fn sockname(fd: i32, peer: bool) -> SocketAddr {
    // SAFETY: sockaddr_storage is plain old data.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let p = &mut st as *mut _ as *mut libc::sockaddr;
    // SAFETY: st and len are valid for the call.
    ok(unsafe {
        if peer {
            zts_getpeername(fd, p, &mut len)
        } else {
            zts_getsockname(fd, p, &mut len)
        }
    });
    parse(&st)
}

pub fn write_all(fd: i32, data: &[u8]) {
    // SAFETY: data is valid for its length.
    let n = unsafe { zts_write(fd, data.as_ptr() as *const _, data.len()) };
    assert_eq!(n, data.len() as isize, "write: {}", errno());
}

pub fn read(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: buf is valid for its length.
    unsafe { zts_read(fd, buf.as_mut_ptr() as *mut _, buf.len()) }
}

/// Reads exactly `len` bytes; an error or the end of the stream first
/// fails the test.
pub fn read_exact(fd: i32, len: usize) -> Vec<u8> {
    let mut got = vec![0u8; len];
    let mut at = 0;
    while at < len {
        let n = read(fd, &mut got[at..]);
        assert!(n > 0, "read at {at}: errno {}", errno());
        at += n as usize;
    }
    got
}

/// Bytes a read would get now (FIONREAD).
pub fn queued(fd: i32) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: n is valid for the call.
    ok(unsafe { zts_ioctl(fd, libc::FIONREAD, (&mut n as *mut libc::c_int).cast()) });
    n as usize
}

/// Reads until end of stream.
pub fn read_to_end(fd: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = read(fd, &mut buf);
        assert!(
            n >= 0,
            "read: {}",
            std::io::Error::from_raw_os_error(errno())
        );
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

pub fn set_int(fd: i32, level: i32, name: i32, v: i32) -> i32 {
    // SAFETY: v is an int valid for the call.
    unsafe {
        zts_setsockopt(
            fd,
            level,
            name,
            &v as *const i32 as *const _,
            size_of::<i32>() as u32,
        )
    }
}

pub fn get_int(fd: i32, level: i32, name: i32) -> i32 {
    let mut v = 0i32;
    let mut len = size_of::<i32>() as u32;
    // SAFETY: v and len are valid for the call.
    ok(unsafe { zts_getsockopt(fd, level, name, &mut v as *mut i32 as *mut _, &mut len) });
    v
}

/// SO_LINGER on with a zero timeout: a close resets the connection.
pub fn linger_zero(fd: i32) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: linger is valid for the call.
    ok(unsafe {
        zts::ffi::options::zts_setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const _ as *const _,
            std::mem::size_of::<libc::linger>() as u32,
        )
    });
}

pub fn set_timeout(fd: i32, name: i32, ms: u64) {
    let tv = libc::timeval {
        tv_sec: (ms / 1000) as i64,
        tv_usec: ((ms % 1000) * 1000) as i64,
    };
    // SAFETY: tv is valid for the call.
    ok(unsafe {
        zts_setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            &tv as *const _ as *const _,
            size_of::<libc::timeval>() as u32,
        )
    });
}

/// Deterministic bytes (xorshift) for payloads.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn udp(node: i32, domain: i32) -> i32 {
    ok(zts_node_socket(node, domain, libc::SOCK_DGRAM, 0))
}

pub fn sendto(fd: i32, data: &[u8], to: SocketAddr) -> isize {
    let r = raw(to);
    // SAFETY: data and r are valid for the call.
    unsafe { zts_sendto(fd, data.as_ptr() as *const _, data.len(), 0, r.ptr(), r.len) }
}

/// recvfrom: (result, sender).
pub fn recvfrom(fd: i32, buf: &mut [u8], flags: i32) -> (isize, Option<SocketAddr>) {
    // SAFETY: sockaddr_storage is plain old data.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: buf, st and len are valid for the call.
    let n = unsafe {
        zts_recvfrom(
            fd,
            buf.as_mut_ptr() as *mut _,
            buf.len(),
            flags,
            &mut st as *mut _ as *mut libc::sockaddr,
            &mut len,
        )
    };
    (n, (n >= 0 && len > 0).then(|| parse(&st)))
}
