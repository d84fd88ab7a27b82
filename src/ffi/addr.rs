//! sockaddr in and out: the system's `struct sockaddr_in` and
//! `struct sockaddr_in6`, checked against the socket's family.

use crate::error::{Errno, Result};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Reads the address a caller passed for a socket of `domain`.
///
/// # Safety
/// `addr` is NULL or valid for reads of `len` bytes.
pub(crate) unsafe fn read(
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
    domain: i32,
) -> Result<SocketAddr> {
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    let len = len as usize;
    if len < size_of::<libc::sa_family_t>() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: at least sa_family_t bytes are readable; sa_family is first.
    let family = unsafe { std::ptr::read_unaligned(addr as *const libc::sa_family_t) } as i32;
    if family != domain {
        return Err(Errno::EINVAL);
    }
    match family {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: len covers a sockaddr_in.
            let sin = unsafe { std::ptr::read_unaligned(addr as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: len covers a sockaddr_in6.
            let sin6 = unsafe { std::ptr::read_unaligned(addr as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            // A v4-mapped address means the IPv4 host, as on a dual-stack socket.
            Ok(match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::new(IpAddr::V4(v4), port),
                None => SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    port,
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )),
            })
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Writes `sa` for a socket of `domain` into the caller's buffer, truncated
/// to `*len`, and sets `*len` to the full size (as getsockname does).
/// A NULL `addr` means the caller does not want it.
///
/// # Safety
/// `addr` is NULL or valid for writes of `*len` bytes; `len` is NULL or valid.
pub(crate) unsafe fn write(
    sa: SocketAddr,
    domain: i32,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> Result<()> {
    if addr.is_null() {
        return Ok(());
    }
    if len.is_null() {
        return Err(Errno::EFAULT);
    }
    let mut storage: libc::sockaddr_storage = {
        // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
        unsafe { std::mem::zeroed() }
    };
    let size = match (domain, sa) {
        (libc::AF_INET, SocketAddr::V4(v4)) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        _ => {
            let (ip, flow, scope) = match sa {
                SocketAddr::V4(v4) => (v4.ip().to_ipv6_mapped(), 0, 0),
                SocketAddr::V6(v6) => (*v6.ip(), v6.flowinfo(), v6.scope_id()),
            };
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: sa.port().to_be(),
                sin6_flowinfo: flow,
                sin6_addr: libc::in6_addr {
                    s6_addr: ip.octets(),
                },
                sin6_scope_id: scope,
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: len is non-NULL and valid per the caller's contract.
    let room = unsafe { *len } as usize;
    // SAFETY: addr is valid for room bytes; we copy at most min(room, size).
    unsafe {
        std::ptr::copy_nonoverlapping(
            &storage as *const _ as *const u8,
            addr as *mut u8,
            room.min(size),
        );
        *len = size as libc::socklen_t;
    }
    Ok(())
}
