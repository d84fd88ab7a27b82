//! connect(2) on the program's sockets: to zts (a socket pair pumped to a
//! zts connection, or a zts datagram socket's peer) or to the kernel.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::addr::Addr;
use crate::dgram;
use crate::hooks::{errno, fail, new_zts_socket, replay_socket_options, usable};
use crate::listener;
use crate::node::{self, config, log};
use crate::pump;
use crate::real::REAL;
use crate::table::{self, Candidate, Conn, ConnectState, Dgram, Entry};
use libc::{c_int, sockaddr, socklen_t};
use std::sync::Arc;
use zts::ffi::errno::zts_errno;
use zts::ffi::socket::*;

/// connect(2): a destination on a zts network (or routed there) connects
/// a zts socket, and the program's fd becomes its end of a socket pair.
/// A non-blocking connect returns EINPROGRESS, and the fd turns writable
/// when the connect is decided (`connect_zts`), as a kernel socket does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let c = match table::get(fd) {
        Some(Entry::Conn(c)) => {
            return match *c.state.lock() {
                ConnectState::Connecting => fail(libc::EALREADY),
                ConnectState::Connected => fail(libc::EISCONN),
                ConnectState::Failed(e) => fail(c.report(e)),
            };
        }
        Some(Entry::Dgram(d)) => return connect_dgram(&d, addr, len),
        Some(Entry::Candidate(c)) => c,
        // SAFETY: the C library's connect with the program's arguments.
        _ => return unsafe { (REAL.connect)(fd, addr, len) },
    };
    // SAFETY: the program vouches for `len` bytes at `addr`.
    let a = unsafe { Addr::read(addr, len) };
    let to_zts = match (config(), a.and_then(|a| a.ip())) {
        (Some(conf), Some(ip)) => {
            let bound_here = c
                .bound
                .and_then(|b| b.ip())
                .is_some_and(|b| !b.is_unspecified());
            node::routes_to_zts(conf, ip) || bound_here
        }
        _ => false,
    };
    let Some(a) = a.filter(|_| to_zts) else {
        table::remove(fd);
        if let Some(b) = c.bound {
            // A wildcard bind kept for zts: the kernel's socket takes it.
            // SAFETY: `b` is a valid address of its length.
            if unsafe { (REAL.bind)(fd, b.ptr(), b.len) } < 0 {
                return -1;
            }
        }
        // SAFETY: as above.
        return unsafe { (REAL.connect)(fd, addr, len) };
    };
    if c.kind == libc::SOCK_DGRAM {
        let placed = c
            .zts
            .clone()
            .map_or_else(|| new_zts_socket(&c), Ok)
            .and_then(|z| dgram::convert(fd, &c, z));
        return match placed {
            Ok(d) => connect_dgram(&d, addr, len),
            Err(e) => fail(e),
        };
    }
    // SAFETY: F_GETFL on the program's fd.
    let nonblock = unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0;
    match connect_zts(fd, &c, a, nonblock) {
        Ok(_) if nonblock => fail(libc::EINPROGRESS),
        Ok(conn) => match conn.outcome() {
            0 => 0,
            e => fail(conn.report(e)),
        },
        Err(e) => fail(e),
    }
}

/// A zts datagram socket's peer: the only source it receives from and the
/// destination of sends without an address.
fn connect_dgram(d: &Dgram, addr: *const sockaddr, len: socklen_t) -> c_int {
    let z = match usable(&d.zts) {
        Ok(z) => z,
        Err(e) => return fail(e),
    };
    // SAFETY: the program's address, as connect(2) takes it.
    if unsafe { zts_connect(z, addr, len) } < 0 {
        return fail(zts_errno());
    }
    // SAFETY: the program vouches for `len` bytes at `addr`.
    *d.peer.lock() = unsafe { Addr::read(addr, len) };
    0
}

/// Fills the program's end of a new pair until it is not writable; how
/// many bytes that took. The pump drops them once the connect succeeds,
/// and only then does the fd poll writable (a failed connect closes the
/// pair: writable with an error, and SO_ERROR says which).
fn hold_unwritable(fd: c_int) -> usize {
    // Static: this runs on the program's thread, whose stack may be small.
    static FILLER: [u8; 64 * 1024] = [0; 64 * 1024];
    let filler = &FILLER;
    let mut held = 0;
    loop {
        // SAFETY: our buffer; MSG_DONTWAIT stops at a full pair.
        let n = unsafe {
            (REAL.sendto)(
                fd,
                filler.as_ptr().cast(),
                filler.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                std::ptr::null(),
                0,
            )
        };
        if n <= 0 {
            return held;
        }
        held += n as usize;
    }
}

/// Reads and drops `n` bytes from the pump's end.
fn drop_filler(end: c_int, mut n: usize) {
    let mut buf = [0u8; 64 * 1024];
    while n > 0 {
        // SAFETY: reading into our buffer.
        let got = unsafe { (REAL.read)(end, buf.as_mut_ptr().cast(), buf.len().min(n)) };
        if got <= 0 {
            return;
        }
        n -= got as usize;
    }
}

fn connect_zts(fd: c_int, c: &Candidate, a: Addr, nonblock: bool) -> Result<Arc<Conn>, c_int> {
    let z = match c.zts.clone() {
        Some(z) => z,
        None => new_zts_socket(c)?,
    };
    usable(&z)?;
    let mut pair = [0; 2];
    // SAFETY: `pair` has room for two fds.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    } < 0
    {
        return Err(errno());
    }
    if let Err(e) = listener::replace_fd(pair[0], fd) {
        // SAFETY: closing our own end.
        unsafe { (REAL.close)(pair[1]) };
        return Err(e);
    }
    replay_socket_options(fd, &c.options);
    let conn = Conn::new(
        c.domain,
        Some(z.clone()),
        Addr::empty(),
        a,
        ConnectState::Connecting,
    );
    table::set(fd, Entry::Conn(conn.clone()));
    log(format_args!("fd {fd}: connect {:?} on zts", a.ip()));
    let held = if nonblock { hold_unwritable(fd) } else { 0 };
    let (theirs, end) = (conn.clone(), pair[1]);
    let spawned = std::thread::Builder::new()
        .name("zts-connect".into())
        .spawn(move || {
            // SAFETY: `a` is a valid address of its length.
            if unsafe { zts_connect(z.fd, a.ptr(), a.len) } == 0 {
                let mut local = Addr::empty();
                // SAFETY: `local` is a sockaddr_storage with its length.
                unsafe { zts_getsockname(z.fd, local.ptr_mut(), &mut local.len) };
                *theirs.local.lock() = local;
                theirs.decide(ConnectState::Connected);
                drop_filler(end, held);
                pump::start(z, end);
            } else {
                theirs.decide(ConnectState::Failed(zts_errno()));
                // SAFETY: closing our own end: the program reads EOF.
                unsafe { (REAL.close)(end) };
            }
        });
    if spawned.is_err() {
        conn.decide(ConnectState::Failed(libc::EAGAIN));
        // SAFETY: the pump's end, which no thread took.
        unsafe { (REAL.close)(end) };
    }
    Ok(conn)
}
