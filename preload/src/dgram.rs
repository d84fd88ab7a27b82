//! zts datagram sockets. The program's fd is one end of a Unix
//! SOCK_SEQPACKET pair; every datagram on it is led by an address (HEADER_ADDR
//! bytes: the sender's on the way in, the destination, or none for the
//! connected peer, on the way out). The data calls on such fds are
//! interposed to add and strip it; two pump threads move datagrams
//! between the pair and the zts socket.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::addr::{Addr, HEADER_ADDR};
use crate::listener::replace_fd;
use crate::real::REAL;
use crate::table::{self, Candidate, Dgram, Entry, ZtsFd};
use libc::{
    c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t, timespec,
};
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
unsafe fn send_led(fd: c_int, to: Option<Addr>, iov: &[iovec], flags: c_int) -> ssize_t {
    let mut head = to.map_or([0u8; HEADER_ADDR], Addr::to_bytes);
    let mut v = Vec::with_capacity(iov.len() + 1);
    v.push(iovec {
        iov_base: head.as_mut_ptr().cast(),
        iov_len: HEADER_ADDR,
    });
    v.extend_from_slice(iov);
    // SAFETY: msghdr is plain data; all-zero is empty.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = v.as_mut_ptr();
    m.msg_iovlen = v.len();
    // SAFETY: the buffers are the program's and ours, valid for the call.
    let n = unsafe { (REAL.sendmsg)(fd, &m, flags | libc::MSG_NOSIGNAL) };
    if n < 0 { n } else { n - HEADER_ADDR as ssize_t }
}

/// recvmsg(2) into the program's buffers, the leading address taken off;
/// the address and whether the datagram was cut short.
unsafe fn recv_led(
    fd: c_int,
    iov: &[iovec],
    flags: c_int,
) -> Result<(ssize_t, Addr, bool), ssize_t> {
    let mut head = [0u8; HEADER_ADDR];
    let mut v = Vec::with_capacity(iov.len() + 1);
    v.push(iovec {
        iov_base: head.as_mut_ptr().cast(),
        iov_len: HEADER_ADDR,
    });
    v.extend_from_slice(iov);
    // SAFETY: msghdr is plain data; all-zero is empty.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = v.as_mut_ptr();
    m.msg_iovlen = v.len();
    // SAFETY: the buffers are the program's and ours, valid for the call.
    let n = unsafe { (REAL.recvmsg)(fd, &mut m, flags) };
    if n < 0 {
        return Err(n);
    }
    let payload = (n - HEADER_ADDR as ssize_t).max(0);
    let cut = m.msg_flags & libc::MSG_TRUNC != 0;
    Ok((payload, Addr::from_bytes(&head), cut))
}

fn is_dgram(fd: c_int) -> Option<Arc<Dgram>> {
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
fn destination(d: &Dgram, addr: *const sockaddr, len: socklen_t) -> Result<Option<Addr>, c_int> {
    // SAFETY: the program vouches for `len` bytes at `addr`.
    match unsafe { Addr::read(addr, len) } {
        Some(a) => Ok(Some(a)),
        None if !addr.is_null() => Err(libc::EAFNOSUPPORT),
        None if d.peer.lock().is_some() => Ok(None),
        None => Err(libc::EDESTADDRREQ),
    }
}

fn fail(e: c_int) -> ssize_t {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
    -1
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    let d = match is_dgram(fd) {
        Some(d) => d,
        // A datagram socket not yet placed goes to zts when this is for it.
        // SAFETY: the program's address, as sendto(2) takes it.
        None => match unsafe { crate::hooks::place_for_send(fd, addr, alen) } {
            Some(Ok(d)) => d,
            Some(Err(e)) => return fail(e),
            // SAFETY: the C library's sendto with the program's arguments.
            None => return unsafe { (REAL.sendto)(fd, buf, len, flags, addr, alen) },
        },
    };
    let to = match destination(&d, addr, alen) {
        Ok(to) => to,
        Err(e) => return fail(e),
    };
    let iov = [iovec {
        iov_base: buf.cast_mut(),
        iov_len: len,
    }];
    // SAFETY: the program's buffer of `len` bytes.
    unsafe { send_led(fd, to, &iov, flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: send(2) is sendto(2) without an address.
    unsafe { sendto(fd, buf, len, flags, std::ptr::null(), 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    if is_dgram(fd).is_some() {
        // SAFETY: on a socket, write(2) is send(2) without flags.
        return unsafe { send(fd, buf, len, 0) };
    }
    // SAFETY: the C library's write with the program's arguments.
    unsafe { (REAL.write)(fd, buf, len) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    // SAFETY: `msg` is NULL or the program's msghdr.
    let (d, m) = match (is_dgram(fd), unsafe { msg.as_ref() }) {
        (Some(d), Some(m)) => (d, m),
        // SAFETY: the C library's sendmsg with the program's arguments.
        _ => return unsafe { (REAL.sendmsg)(fd, msg, flags) },
    };
    let to = match destination(&d, m.msg_name.cast(), m.msg_namelen) {
        Ok(to) => to,
        Err(e) => return fail(e),
    };
    // SAFETY: the program's iovec array of msg_iovlen entries.
    let iov = unsafe { iovecs(m.msg_iov, m.msg_iovlen) };
    // SAFETY: the program's buffers.
    unsafe { send_led(fd, to, iov, flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if is_dgram(fd).is_none() {
        // SAFETY: the C library's recvfrom with the program's arguments.
        return unsafe { (REAL.recvfrom)(fd, buf, len, flags, addr, alen) };
    }
    let iov = [iovec {
        iov_base: buf,
        iov_len: len,
    }];
    // SAFETY: the program's buffer of `len` bytes.
    match unsafe { recv_led(fd, &iov, flags) } {
        Ok((n, from, _)) => {
            // SAFETY: the program's address buffer, as recvfrom takes it.
            unsafe { from.write(addr, alen) };
            n
        }
        Err(n) => n,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: recv(2) is recvfrom(2) without an address.
    unsafe {
        recvfrom(
            fd,
            buf,
            len,
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    if is_dgram(fd).is_some() {
        // SAFETY: on a socket, read(2) is recv(2) without flags.
        return unsafe { recv(fd, buf, len, 0) };
    }
    // SAFETY: the C library's read with the program's arguments.
    unsafe { (REAL.read)(fd, buf, len) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    // SAFETY: `msg` is NULL or the program's msghdr.
    let m = match (is_dgram(fd), unsafe { msg.as_mut() }) {
        (Some(_), Some(m)) => m,
        // SAFETY: the C library's recvmsg with the program's arguments.
        _ => return unsafe { (REAL.recvmsg)(fd, msg, flags) },
    };
    // SAFETY: the program's iovec array of msg_iovlen entries.
    let iov = unsafe { iovecs(m.msg_iov, m.msg_iovlen) };
    // SAFETY: the program's buffers.
    match unsafe { recv_led(fd, iov, flags) } {
        Ok((n, from, cut)) => {
            if !m.msg_name.is_null() {
                // SAFETY: the program's name buffer of msg_namelen bytes.
                unsafe { from.write(m.msg_name.cast(), &mut m.msg_namelen) };
            }
            m.msg_controllen = 0;
            m.msg_flags = if cut { libc::MSG_TRUNC } else { 0 };
            n
        }
        Err(n) => n,
    }
}

/// The program's iovec array, as a slice (empty for none).
///
/// # Safety
/// `iov` is NULL or points to `n` iovecs.
unsafe fn iovecs<'a>(iov: *const iovec, n: usize) -> &'a [iovec] {
    if iov.is_null() {
        &[]
    } else {
        // SAFETY: the caller vouches for `n` entries at `iov`.
        unsafe { std::slice::from_raw_parts(iov, n) }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    let Some(d) = is_dgram(fd) else {
        // SAFETY: the C library's writev with the program's arguments.
        return unsafe { (REAL.writev)(fd, iov, n) };
    };
    if d.peer.lock().is_none() {
        return fail(libc::EDESTADDRREQ);
    }
    // SAFETY: the program's iovecs, as writev(2) takes them.
    unsafe { send_led(fd, None, iovecs(iov, n.max(0) as usize), 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    if is_dgram(fd).is_none() {
        // SAFETY: the C library's readv with the program's arguments.
        return unsafe { (REAL.readv)(fd, iov, n) };
    }
    // SAFETY: the program's iovecs, as readv(2) takes them.
    match unsafe { recv_led(fd, iovecs(iov, n.max(0) as usize), 0) } {
        Ok((got, _, _)) => got,
        Err(r) => r,
    }
}

// With _FORTIFY_SOURCE the C library's headers turn reads into fixed
// buffers into these checked forms, which call its internals directly:
// without them a fortified program would read the address in front.

fn overflow() -> ! {
    // As the C library's own checks end a fortified program.
    std::process::abort()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
) -> ssize_t {
    if is_dgram(fd).is_none() {
        // SAFETY: the C library's check and read with the program's arguments.
        return unsafe { (REAL.__read_chk)(fd, buf, len, room) };
    }
    if len > room {
        overflow();
    }
    // SAFETY: `buf` holds `len` bytes, as just checked.
    unsafe { recv(fd, buf, len, 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
) -> ssize_t {
    if is_dgram(fd).is_none() {
        // SAFETY: the C library's check and recv with the program's arguments.
        return unsafe { (REAL.__recv_chk)(fd, buf, len, room, flags) };
    }
    if len > room {
        overflow();
    }
    // SAFETY: `buf` holds `len` bytes, as just checked.
    unsafe { recv(fd, buf, len, flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if is_dgram(fd).is_none() {
        // SAFETY: the C library's check and recvfrom with the program's
        // arguments.
        return unsafe { (REAL.__recvfrom_chk)(fd, buf, len, room, flags, addr, alen) };
    }
    if len > room {
        overflow();
    }
    // SAFETY: `buf` holds `len` bytes, as just checked.
    unsafe { recvfrom(fd, buf, len, flags, addr, alen) }
}

/// sendmmsg(2) on a zts datagram socket: each message as sendmsg (glibc's
/// resolver sends its A and AAAA queries this way).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmmsg(fd: c_int, msgs: *mut mmsghdr, n: c_uint, flags: c_int) -> c_int {
    if is_dgram(fd).is_none() || msgs.is_null() {
        // SAFETY: the C library's sendmmsg with the program's arguments.
        return unsafe { (REAL.sendmmsg)(fd, msgs, n, flags) };
    }
    let mut sent = 0;
    while sent < n {
        // SAFETY: the program's array of `n` messages.
        let m = unsafe { &mut *msgs.add(sent as usize) };
        // SAFETY: one of the program's messages.
        let r = unsafe { sendmsg(fd, &m.msg_hdr, flags) };
        if r < 0 {
            return if sent > 0 { sent as c_int } else { -1 };
        }
        m.msg_len = r as c_uint;
        sent += 1;
    }
    sent as c_int
}

/// recvmmsg(2) on a zts datagram socket: the first message as recvmsg
/// would take it, then those already queued (the timeout is not applied).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmmsg(
    fd: c_int,
    msgs: *mut mmsghdr,
    n: c_uint,
    flags: c_int,
    timeout: *mut timespec,
) -> c_int {
    if is_dgram(fd).is_none() || msgs.is_null() {
        // SAFETY: the C library's recvmmsg with the program's arguments.
        return unsafe { (REAL.recvmmsg)(fd, msgs, n, flags, timeout) };
    }
    let mut got = 0;
    while got < n {
        let own = flags & !libc::MSG_WAITFORONE;
        let more = if got == 0 {
            own
        } else {
            own | libc::MSG_DONTWAIT
        };
        // SAFETY: the program's array of `n` messages.
        let m = unsafe { &mut *msgs.add(got as usize) };
        // SAFETY: one of the program's messages.
        let r = unsafe { recvmsg(fd, &mut m.msg_hdr, more) };
        if r < 0 {
            return if got > 0 { got as c_int } else { -1 };
        }
        m.msg_len = r as c_uint;
        got += 1;
    }
    got as c_int
}
