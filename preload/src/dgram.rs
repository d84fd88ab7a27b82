//! zts datagram sockets. The program's fd is one end of a Unix
//! SOCK_SEQPACKET pair; every datagram on it is led by an address (HEADER_ADDR
//! bytes: the sender's on the way in, the destination, or none for the
//! connected peer, on the way out). The data calls on such fds are
//! interposed to add and strip it (`dgram_io.rs`); two pump threads move
//! datagrams between the pair and the zts socket.

use crate::addr::{Addr, HEADER_ADDR};
use crate::listener::replace_fd;
use crate::real::REAL;
use crate::table::{self, Candidate, Dgram, Entry, ZtsFd};
use libc::{c_int, iovec, msghdr, sockaddr, socklen_t, ssize_t};
use parking_lot::Mutex;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use zts::ffi::io::*;
use zts::ffi::poll::zts_poll;

/// The largest datagram (IPv4's, without headers) plus its address.
const DATAGRAM: usize = 65_536 + HEADER_ADDR;

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The candidate `fd` becomes a zts datagram socket on zts socket `z`.
pub fn convert(fd: c_int, c: &Candidate, z: Arc<ZtsFd>) -> Result<Arc<Dgram>, c_int> {
    let mut pair = [0; 2];
    // SAFETY: `pair` has room for two fds.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            // Message boundaries as SOCK_DGRAM, and EOF when the program
            // closes its end, which a datagram pair never reports.
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            pair.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(errno());
    }
    for end in pair {
        let size: c_int = 4 << 20;
        // SAFETY: an int option on our own fds; room for many datagrams.
        unsafe {
            libc::setsockopt(
                end,
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&raw const size).cast(),
                4,
            )
        };
    }
    if let Err(e) = replace_fd(pair[0], fd) {
        // SAFETY: closing our own end.
        unsafe { (REAL.close)(pair[1]) };
        return Err(e);
    }
    crate::hooks::replay_socket_options(fd, &c.options);
    let d = Arc::new(Dgram {
        domain: c.domain,
        zts: z.clone(),
        peer: Mutex::new(None),
    });
    table::set(fd, Entry::Dgram(d.clone()));
    let done = Arc::new(AtomicBool::new(false));
    // SAFETY: the pump's end of the pair, owned from here; closed once,
    // when both threads are done with it.
    let end = Arc::new(unsafe { OwnedFd::from_raw_fd(pair[1]) });
    let (z2, done2, end2) = (z.clone(), done.clone(), end.clone());
    let _ = std::thread::Builder::new()
        .name("zts-dgram-in".into())
        .spawn(move || from_zts(&z2, end2.as_raw_fd(), &done2));
    let _ = std::thread::Builder::new()
        .name("zts-dgram-out".into())
        .spawn(move || to_zts(&z, end.as_raw_fd(), &done));
    Ok(d)
}

/// Datagrams from zts, each led by its sender, until the program is gone.
fn from_zts(z: &ZtsFd, end: c_int, done: &AtomicBool) {
    let mut buf = vec![0u8; DATAGRAM];
    while !done.load(Ordering::Acquire) {
        let mut p = libc::pollfd {
            fd: z.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd; a bounded wait so the thread notices `done`.
        if unsafe { zts_poll(&mut p, 1, 200) } <= 0 {
            continue;
        }
        let mut from = Addr::empty();
        // SAFETY: the payload goes after the address's room.
        let n = unsafe {
            zts_recvfrom(
                z.fd,
                buf[HEADER_ADDR..].as_mut_ptr().cast(),
                DATAGRAM - HEADER_ADDR,
                libc::MSG_DONTWAIT,
                from.ptr_mut(),
                &mut from.len,
            )
        };
        if n < 0 {
            continue;
        }
        buf[..HEADER_ADDR].copy_from_slice(&from.to_bytes());
        // SAFETY: one datagram from our buffer; a full pair drops it, as a
        // full socket buffer drops datagrams.
        unsafe {
            (REAL.sendto)(
                end,
                buf.as_ptr().cast(),
                HEADER_ADDR + n as usize,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                std::ptr::null(),
                0,
            )
        };
    }
}

/// The program's datagrams to zts, until it closes its end.
fn to_zts(z: &ZtsFd, end: c_int, done: &AtomicBool) {
    let mut buf = vec![0u8; DATAGRAM];
    loop {
        // SAFETY: reading one datagram into our buffer.
        let n = unsafe { (REAL.read)(end, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            // EOF: every fd of the program's for it is closed.
            break;
        }
        if n < HEADER_ADDR as isize {
            // Written past the hooks (without an address): not sendable.
            continue;
        }
        let to = Addr::from_bytes(&buf[..HEADER_ADDR]);
        let (addr, len) = if to.family() == 0 {
            (std::ptr::null(), 0)
        } else {
            (to.ptr(), to.len)
        };
        // SAFETY: the payload after the address; errors are the network's
        // (a datagram is dropped, as the kernel's would be).
        unsafe {
            zts_sendto(
                z.fd,
                buf[HEADER_ADDR..].as_ptr().cast(),
                n as usize - HEADER_ADDR,
                0,
                addr,
                len,
            )
        };
    }
    done.store(true, Ordering::Release);
}

/// sendmsg(2) with `to` (or none) in front of the program's buffers.
///
/// # Safety
/// Each of `iov` points to as many readable bytes as its length says.
pub(crate) unsafe fn send_led(fd: c_int, to: Option<Addr>, iov: &[iovec], flags: c_int) -> ssize_t {
    let mut head = to.map_or([0u8; HEADER_ADDR], Addr::to_bytes);
    let mut v = led(&mut head, iov);
    let m = message(&mut v);
    // SAFETY: the buffers are the program's and ours, valid for the call.
    let n = unsafe { (REAL.sendmsg)(fd, &m, flags | libc::MSG_NOSIGNAL) };
    if n < 0 { n } else { n - HEADER_ADDR as ssize_t }
}

/// The address's room, then the program's buffers.
fn led(head: &mut [u8; HEADER_ADDR], iov: &[iovec]) -> Vec<iovec> {
    let mut v = Vec::with_capacity(iov.len() + 1);
    v.push(iovec {
        iov_base: head.as_mut_ptr().cast(),
        iov_len: HEADER_ADDR,
    });
    v.extend_from_slice(iov);
    v
}

/// A msghdr over `v`, with no name and no control data.
fn message(v: &mut [iovec]) -> msghdr {
    // SAFETY: msghdr is plain data; all-zero is empty.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = v.as_mut_ptr();
    m.msg_iovlen = v.len();
    m
}

/// recvmsg(2) into the program's buffers, the leading address taken off;
/// the address and whether the datagram was cut short.
///
/// # Safety
/// Each of `iov` points to as many writable bytes as its length says.
pub(crate) unsafe fn recv_led(
    fd: c_int,
    iov: &[iovec],
    flags: c_int,
) -> Result<(ssize_t, Addr, bool), ssize_t> {
    let mut head = [0u8; HEADER_ADDR];
    let mut v = led(&mut head, iov);
    let mut m = message(&mut v);
    // SAFETY: the buffers are the program's and ours, valid for the call.
    let n = unsafe { (REAL.recvmsg)(fd, &mut m, flags) };
    if n < 0 {
        return Err(n);
    }
    let payload = (n - HEADER_ADDR as ssize_t).max(0);
    let cut = m.msg_flags & libc::MSG_TRUNC != 0;
    Ok((payload, Addr::from_bytes(&head), cut))
}

pub(crate) fn is_dgram(fd: c_int) -> Option<Arc<Dgram>> {
    if !table::maybe_dgram(fd) {
        return None;
    }
    match table::get(fd) {
        Some(Entry::Dgram(d)) => Some(d),
        _ => None,
    }
}

/// The destination of a send: the given address, or none for the peer
/// (EDESTADDRREQ without one).
pub(crate) fn destination(
    d: &Dgram,
    addr: *const sockaddr,
    len: socklen_t,
) -> Result<Option<Addr>, c_int> {
    // SAFETY: the program vouches for `len` bytes at `addr`.
    match unsafe { Addr::read(addr, len) } {
        Some(a) => Ok(Some(a)),
        None if !addr.is_null() => Err(libc::EAFNOSUPPORT),
        None if d.peer.lock().is_some() => Ok(None),
        None => Err(libc::EDESTADDRREQ),
    }
}

pub(crate) fn fail(e: c_int) -> ssize_t {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
    -1
}
