//! The data calls on zts datagram sockets, interposed to put the address
//! in front of each datagram and take it off (`dgram.rs`); every other fd
//! goes to the C library.

// Each hook's safety contract is that of its C library namesake.
#![allow(clippy::missing_safety_doc)]

use crate::dgram::{destination, fail, is_dgram, recv_led, send_led};
use crate::real::REAL;
use libc::{
    c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t, timespec,
};

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
