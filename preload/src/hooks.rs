//! socket, bind, listen, accept and the name calls, and the helpers the
//! other hooks share. Each looks the fd up (`table.rs`); what this library
//! does not manage goes to the C library unchanged.

// Each hook's safety contract is that of the C library function it stands
// for (socket(2), bind(2), ...), which its callers already meet.
#![allow(clippy::missing_safety_doc)]

use crate::addr::Addr;
use crate::config::Setting;
use crate::dgram;
use crate::listener;
use crate::node::{self, config, log};
use crate::real::REAL;
use crate::table::{self, Candidate, Conn, ConnectState, Dgram, Entry, ZtsFd};
use libc::{c_int, sockaddr, socklen_t};
use std::sync::Arc;
use zts::ffi::errno::zts_errno;
use zts::ffi::options::*;
use zts::ffi::socket::*;

pub(crate) fn fail(e: c_int) -> c_int {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
    -1
}

pub(crate) fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A zts socket of the candidate's domain and kind with the options set
/// so far.
pub(crate) fn new_zts_socket(c: &Candidate) -> Result<Arc<ZtsFd>, c_int> {
    node::node()?;
    let z = zts_socket(c.domain, c.kind, 0);
    if z < 0 {
        return Err(zts_errno());
    }
    for (level, name, value) in &c.options {
        // SAFETY: `value` holds the option as the program passed it.
        unsafe {
            zts_setsockopt(
                z,
                *level,
                *name,
                value.as_ptr().cast(),
                value.len() as socklen_t,
            )
        };
    }
    Ok(ZtsFd::new(z))
}

/// The zts fd behind `z`, or ENETDOWN in a forked child: the node's
/// threads stayed in the parent.
pub(crate) fn usable(z: &ZtsFd) -> Result<c_int, c_int> {
    z.here().ok_or(libc::ENETDOWN)
}

/// The program's socket-level options (timeouts, buffer sizes) on the fd
/// that now stands in for its socket, as they were on the one it replaced.
pub(crate) fn replay_socket_options(fd: c_int, options: &[(c_int, c_int, Vec<u8>)]) {
    for (level, name, value) in options.iter().filter(|o| o.0 == libc::SOL_SOCKET) {
        // SAFETY: the option as the program passed it; one the new fd
        // lacks is not the program's concern.
        unsafe {
            (REAL.setsockopt)(
                fd,
                *level,
                *name,
                value.as_ptr().cast(),
                value.len() as socklen_t,
            )
        };
    }
}

/// socket(2): AF_INET and AF_INET6 stream and datagram sockets are noted,
/// to be placed at bind, connect or (datagrams) the first send; until then
/// they are the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let inet = domain == libc::AF_INET || domain == libc::AF_INET6;
    if inet && matches!(*node::SETTING, Setting::Bad) {
        return fail(libc::ENETDOWN);
    }
    // SAFETY: the C library's socket with the program's arguments.
    let fd = unsafe { (REAL.socket)(domain, ty, protocol) };
    if fd < 0 {
        return fd;
    }
    let kind = ty & 0xf;
    let known = match kind {
        libc::SOCK_STREAM => protocol == 0 || protocol == libc::IPPROTO_TCP,
        libc::SOCK_DGRAM => protocol == 0 || protocol == libc::IPPROTO_UDP,
        _ => false,
    };
    if inet && known && config().is_some() && !node::making_node() {
        let c = Candidate {
            domain,
            kind,
            options: vec![],
            zts: None,
            bound: None,
        };
        table::set(fd, Entry::Candidate(c));
    } else {
        table::remove(fd);
    }
    fd
}

/// bind(2): an address of a zts network (or the wildcard) binds a zts
/// socket; anything else binds the kernel's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let a = unsafe { Addr::read(addr, len) };
    let (Some(Entry::Candidate(mut c)), Some(conf), Some(a)) = (table::get(fd), config(), a) else {
        // SAFETY: the C library's bind with the program's arguments.
        return unsafe { (REAL.bind)(fd, addr, len) };
    };
    let ip = a.ip().expect("an inet address");
    if !node::binds_on_zts(conf, ip) {
        log(format_args!("fd {fd}: bind {ip} on the kernel"));
        table::remove(fd);
        // SAFETY: as above.
        return unsafe { (REAL.bind)(fd, addr, len) };
    }
    let z = match c.zts.clone().map_or_else(|| new_zts_socket(&c), Ok) {
        Ok(z) => z,
        Err(e) => return fail(e),
    };
    if let Err(e) = usable(&z) {
        return fail(e);
    }
    c.zts = Some(z.clone());
    table::set(fd, Entry::Candidate(c.clone()));
    // SAFETY: `a` is a valid address of its length.
    if unsafe { zts_bind(z.fd, a.ptr(), a.len) } < 0 {
        return fail(zts_errno());
    }
    c.bound = Some(a);
    log(format_args!("fd {fd}: bind {ip} on zts"));
    if c.kind == libc::SOCK_DGRAM {
        return match dgram::convert(fd, &c, z) {
            Ok(_) => 0,
            Err(e) => fail(e),
        };
    }
    table::set(fd, Entry::Candidate(c));
    0
}

/// A datagram socket not yet placed, sending to `addr`: placed on zts if
/// that is where `addr` is (None if it stays the kernel's).
///
/// # Safety
/// `addr` is NULL or points to `len` readable bytes.
pub unsafe fn place_for_send(
    fd: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> Option<Result<Arc<Dgram>, c_int>> {
    // The address first: every send of every datagram socket comes here,
    // zts's own overlay's among them, and most are not for zts.
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let ip = unsafe { Addr::read(addr, len) }?.ip()?;
    if !node::routes_to_zts(config()?, ip) {
        return None;
    }
    let Some(Entry::Candidate(c)) = table::get(fd) else {
        return None;
    };
    if c.kind != libc::SOCK_DGRAM {
        return None;
    }
    log(format_args!("fd {fd}: datagrams to {ip} on zts"));
    Some(new_zts_socket(&c).and_then(|z| dgram::convert(fd, &c, z)))
}

/// listen(2): a socket bound on zts listens there.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    match table::get(fd) {
        Some(Entry::Candidate(Candidate {
            domain,
            zts: Some(z),
            bound: Some(_),
            ..
        })) => match usable(&z).and_then(|_| listener::listen(fd, domain, z, backlog)) {
            Ok(e) => {
                if let Some(Entry::Candidate(c)) = table::get(fd) {
                    replay_socket_options(fd, &c.options);
                }
                table::set(fd, e);
                log(format_args!("fd {fd}: listening on zts"));
                0
            }
            Err(e) => fail(e),
        },
        Some(Entry::Listener(_)) => 0,
        Some(Entry::Candidate(_)) => {
            table::remove(fd);
            // SAFETY: the C library's listen with the program's arguments.
            unsafe { (REAL.listen)(fd, backlog) }
        }
        // SAFETY: as above.
        _ => unsafe { (REAL.listen)(fd, backlog) },
    }
}

/// accept4(2): the kernel's, on a zts listener's Unix socket; the
/// connection's addresses come off its front.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let Some(Entry::Listener(l)) = table::get(fd) else {
        // SAFETY: the C library's accept4 with the program's arguments.
        let c = unsafe { (REAL.accept4)(fd, addr, len, flags) };
        if c >= 0 {
            table::remove(c);
        }
        return c;
    };
    // SAFETY: as above, with no address (it is a Unix one).
    let c = unsafe { (REAL.accept4)(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
    if c < 0 {
        return c;
    }
    let (peer, local, zts) = match listener::read_header(c, l.zts.pid) {
        Ok(h) => h,
        Err(e) => {
            // SAFETY: closing the connection this call accepted.
            unsafe { (REAL.close)(c) };
            return fail(e);
        }
    };
    // SAFETY: the program vouches for `addr` and `len`.
    unsafe { peer.write(addr, len) };
    let conn = Conn::new(l.domain, zts, local, peer, ConnectState::Connected);
    table::set(c, Entry::Conn(conn));
    log(format_args!("fd {c}: accepted {:?} on zts", peer.ip()));
    c
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: accept(2) is accept4(2) without flags.
    unsafe { accept4(fd, addr, len, 0) }
}

/// The local address of a zts socket.
pub(crate) fn zts_name(z: &ZtsFd) -> Result<Addr, c_int> {
    let fd = usable(z)?;
    let mut a = Addr::empty();
    // SAFETY: `a` is a sockaddr_storage with its length.
    if unsafe { zts_getsockname(fd, a.ptr_mut(), &mut a.len) } < 0 {
        return Err(zts_errno());
    }
    Ok(a)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let known = match table::get(fd) {
        Some(Entry::Conn(c)) => {
            let local = *c.local.lock();
            // Still connecting: zts has chosen the address already.
            match c.zts.as_deref().map(zts_name) {
                Some(Ok(a)) if local.family() == 0 => Some(a),
                _ => Some(local),
            }
        }
        Some(Entry::Listener(l)) => Some(l.local),
        Some(Entry::Candidate(Candidate { zts: Some(z), .. })) => match zts_name(&z) {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        },
        Some(Entry::Dgram(d)) => match zts_name(&d.zts) {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        },
        _ => None,
    };
    match known {
        Some(a) if !addr.is_null() && !len.is_null() => {
            // SAFETY: the program vouches for `addr` and `len`.
            unsafe { a.write(addr, len) };
            0
        }
        Some(_) => fail(libc::EFAULT),
        // SAFETY: the C library's getsockname with the program's arguments.
        None => unsafe { (REAL.getsockname)(fd, addr, len) },
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    match table::get(fd) {
        Some(Entry::Conn(c)) if matches!(*c.state.lock(), ConnectState::Connected) => {
            if addr.is_null() || len.is_null() {
                return fail(libc::EFAULT);
            }
            // SAFETY: the program vouches for `addr` and `len`.
            unsafe { c.peer.write(addr, len) };
            0
        }
        Some(Entry::Dgram(d)) => match *d.peer.lock() {
            Some(p) if !addr.is_null() && !len.is_null() => {
                // SAFETY: the program vouches for `addr` and `len`.
                unsafe { p.write(addr, len) };
                0
            }
            Some(_) => fail(libc::EFAULT),
            None => fail(libc::ENOTCONN),
        },
        Some(Entry::Conn(_) | Entry::Listener(_)) => fail(libc::ENOTCONN),
        Some(Entry::Candidate(Candidate { zts: Some(_), .. })) => fail(libc::ENOTCONN),
        // SAFETY: the C library's getpeername with the program's arguments.
        _ => unsafe { (REAL.getpeername)(fd, addr, len) },
    }
}
