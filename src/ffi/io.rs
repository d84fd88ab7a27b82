//! Moving bytes and messages: read/write, recv/send, recvfrom/sendto,
//! recvmsg/sendmsg, readv/writev.

use super::{addr, call, in_buf, out_buf};
use crate::error::{Errno, Result};
use crate::socket::table::{self, FdRef};
use crate::socket::{Proto, Received};
use libc::{c_int, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

/// Flags recv and send understand; others give EOPNOTSUPP.
const RECV_FLAGS: c_int = libc::MSG_PEEK | libc::MSG_DONTWAIT | libc::MSG_WAITALL | libc::MSG_TRUNC;
const SEND_FLAGS: c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | libc::MSG_MORE;
/// Most iovec entries one call takes (the kernel's UIO_MAXIOV).
const IOV_MAX: usize = 1024;

fn check_flags(flags: c_int, allowed: c_int) -> Result<()> {
    if flags & !allowed != 0 {
        Err(Errno::EOPNOTSUPP)
    } else {
        Ok(())
    }
}

/// The caller's iovec array, checked: at most IOV_MAX entries, a total
/// length that fits in ssize_t.
///
/// # Safety
/// `iov` is NULL or valid for `cnt` entries.
unsafe fn iov_entries<'a>(iov: *const iovec, cnt: usize) -> Result<&'a [iovec]> {
    if cnt > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    if cnt == 0 {
        return Ok(&[]);
    }
    if iov.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: iov is non-NULL and valid for cnt entries per the contract.
    let entries = unsafe { std::slice::from_raw_parts(iov, cnt) };
    let total = entries
        .iter()
        .try_fold(0usize, |t, e| t.checked_add(e.iov_len))
        .ok_or(Errno::EINVAL)?;
    if total > isize::MAX as usize {
        return Err(Errno::EINVAL);
    }
    Ok(entries)
}

/// Buffers to receive into (NULL bases only with length 0).
///
/// # Safety
/// As `iov_entries`, and each base valid for writes of its length.
unsafe fn iovecs_mut<'a>(iov: *const iovec, cnt: usize) -> Result<Vec<&'a mut [u8]>> {
    // SAFETY: forwarded contract.
    let entries = unsafe { iov_entries(iov, cnt) }?;
    entries
        .iter()
        // SAFETY: each base is NULL or valid for its length per the contract.
        .map(|e| unsafe { out_buf(e.iov_base, e.iov_len) })
        .collect()
}

/// The bytes of buffers to send, gathered into one message.
///
/// # Safety
/// As `iov_entries`, and each base valid for reads of its length.
unsafe fn gather(iov: *const iovec, cnt: usize) -> Result<Vec<u8>> {
    // SAFETY: forwarded contract.
    let entries = unsafe { iov_entries(iov, cnt) }?;
    let mut out = Vec::new();
    for e in entries {
        // SAFETY: each base is NULL or valid for its length per the contract.
        out.extend_from_slice(unsafe { in_buf(e.iov_base, e.iov_len) }?);
    }
    Ok(out)
}

/// Receives into several buffers: directly into a single one, through a
/// bounce buffer otherwise.
fn recv_vectored(sock: &FdRef, parts: &mut [&mut [u8]], flags: c_int) -> Result<Received> {
    if let [one] = parts {
        return sock.recv_from(one, flags);
    }
    let mut bounce = vec![0u8; parts.iter().map(|p| p.len()).sum()];
    let got = sock.recv_from(&mut bounce, flags)?;
    let mut rest = &bounce[..got.len.min(bounce.len())];
    for p in parts.iter_mut() {
        let n = p.len().min(rest.len());
        p[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
    Ok(got)
}

/// The destination of a sendto/sendmsg: none for stream sockets (ignored,
/// as by Linux) or when NULL.
///
/// # Safety
/// `addr` is NULL or valid for `len` bytes.
unsafe fn destination(
    sock: &FdRef,
    addr: *const sockaddr,
    len: socklen_t,
) -> Result<Option<std::net::SocketAddr>> {
    if addr.is_null() || sock.proto == Proto::Tcp {
        return Ok(None);
    }
    // SAFETY: addr is valid for len bytes per the contract.
    unsafe { addr::read(addr, len, sock.domain) }.map(Some)
}

/// `zts_recv` with no flags.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    // SAFETY: forwarded under the same contract.
    unsafe { zts_recv(fd, buf, len, 0) }
}

/// `zts_send` with no flags.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    // SAFETY: forwarded under the same contract.
    unsafe { zts_send(fd, buf, len, 0) }
}

/// Reads up to `len` bytes into `buf` (valid for `len` bytes for the call)
/// and returns how many; 0 once the peer has shut down writing. A stream
/// socket returns what is available without waiting for `len`
/// (MSG_WAITALL waits); a datagram socket returns one datagram, cut to
/// `len` (MSG_TRUNC returns its full length). Blocks unless O_NONBLOCK or
/// MSG_DONTWAIT (then EAGAIN); SO_RCVTIMEO bounds the wait (EAGAIN).
/// MSG_PEEK leaves the data queued.
///
/// Errors: EBADF (also when closed while blocked), EFAULT (NULL buf with
/// len > 0), ENOTCONN, ECONNRESET, ENETDOWN (node stopped), EOPNOTSUPP.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_recv(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    // SAFETY: forwarded under the same contract, with no address wanted.
    unsafe {
        zts_recvfrom(
            fd,
            buf,
            len,
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// `zts_recv` that also reports the sender in `addr` (may be NULL),
/// truncated to `*addrlen`, with `*addrlen` set to the address's size.
/// Stream sockets leave `addr` untouched.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        check_flags(flags, RECV_FLAGS)?;
        if !addr.is_null() && addrlen.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: buf is NULL or valid for len bytes per the C contract.
        let buf = unsafe { out_buf(buf, len) }?;
        let got = sock.recv_from(buf, flags)?;
        if let Some(from) = got.from {
            // SAFETY: addr/addrlen are NULL or valid per the C contract.
            unsafe { addr::write(from, sock.domain, addr, addrlen) }?;
        }
        Ok(got.len as ssize_t)
    })
}

/// Queues `len` bytes from `buf` (read during the call only). On a stream
/// socket a blocking send returns once every byte is queued; O_NONBLOCK or
/// MSG_DONTWAIT queue what fits (EAGAIN if nothing does). On a datagram
/// socket it sends one datagram to the connected peer. SO_SNDTIMEO bounds
/// the wait. Never raises SIGPIPE.
///
/// Errors: EBADF, EFAULT, ENOTCONN, EDESTADDRREQ, EPIPE (shut down or
/// reset), ECONNRESET, EMSGSIZE, ENETDOWN, EOPNOTSUPP.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_send(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    // SAFETY: forwarded under the same contract, with no destination.
    unsafe { zts_sendto(fd, buf, len, flags, std::ptr::null(), 0) }
}

/// `zts_send` to `addr` (read during the call; NULL for the connected
/// peer). Datagrams: up to 65507 bytes over IPv4 (fragmented as needed);
/// over IPv6 up to what fits the network's MTU (no IPv6 fragmentation: 1452
/// bytes of UDP payload at MTU 1500), else EMSGSIZE; to a broadcast address
/// only with SO_BROADCAST (else EACCES). Stream sockets ignore `addr`.
///
/// Errors: as zts_send, plus EINVAL (address length or family, port 0),
/// ENETUNREACH, EACCES.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        check_flags(flags, SEND_FLAGS)?;
        // SAFETY: buf is NULL or valid for len bytes per the C contract.
        let buf = unsafe { in_buf(buf, len) }?;
        // SAFETY: addr is NULL or valid for addrlen bytes per the C contract.
        let to = unsafe { destination(&sock, addr, addrlen) }?;
        Ok(sock.send_to(buf, flags, to)? as ssize_t)
    })
}

/// Reads into `iovcnt` (at most 1024) buffers in order, as zts_read.
/// `iov` and its buffers are used during the call only.
/// Errors: as zts_read, plus EINVAL (iovcnt).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        let cnt = usize::try_from(iovcnt).map_err(|_| Errno::EINVAL)?;
        // SAFETY: iov is NULL or valid for iovcnt entries per the C contract.
        let mut parts = unsafe { iovecs_mut(iov, cnt) }?;
        Ok(recv_vectored(&sock, &mut parts, 0)?.len as ssize_t)
    })
}

/// Writes `iovcnt` (at most 1024) buffers in order as one zts_write (one
/// datagram on a datagram socket).
/// Errors: as zts_write, plus EINVAL (iovcnt).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        let cnt = usize::try_from(iovcnt).map_err(|_| Errno::EINVAL)?;
        // SAFETY: iov is NULL or valid for iovcnt entries per the C contract.
        let data = unsafe { gather(iov, cnt) }?;
        Ok(sock.send_to(&data, 0, None)? as ssize_t)
    })
}

/// recvmsg(2): reads into `msg->msg_iov`, writes the sender to
/// `msg->msg_name` (if not NULL; `msg_namelen` is updated), sets
/// `msg->msg_controllen` to 0 (no ancillary data is produced) and
/// `msg->msg_flags` (MSG_TRUNC when a datagram was cut).
/// Errors: as zts_recvfrom, plus EFAULT (NULL msg), EINVAL (msg_iovlen).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        check_flags(flags, RECV_FLAGS)?;
        if msg.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: msg is non-NULL and valid per the C contract.
        let m = unsafe { &mut *msg };
        // SAFETY: msg_iov is NULL or valid for msg_iovlen entries per the C contract.
        let mut parts = unsafe { iovecs_mut(m.msg_iov, m.msg_iovlen) }?;
        let got = recv_vectored(&sock, &mut parts, flags)?;
        m.msg_flags = if got.truncated { libc::MSG_TRUNC } else { 0 };
        m.msg_controllen = 0;
        match got.from {
            Some(from) if !m.msg_name.is_null() => {
                // SAFETY: msg_name is valid for msg_namelen bytes per the C contract.
                unsafe {
                    addr::write(
                        from,
                        sock.domain,
                        m.msg_name as *mut sockaddr,
                        &mut m.msg_namelen,
                    )
                }?;
            }
            _ => m.msg_namelen = 0,
        }
        Ok(got.len as ssize_t)
    })
}

/// sendmsg(2): sends `msg->msg_iov` as one zts_sendto to `msg->msg_name`
/// (NULL for the connected peer). Ancillary data is not supported
/// (EOPNOTSUPP when `msg_controllen` > 0).
/// Errors: as zts_sendto, plus EFAULT (NULL msg), EINVAL (msg_iovlen).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        check_flags(flags, SEND_FLAGS)?;
        if msg.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: msg is non-NULL and valid per the C contract.
        let m = unsafe { &*msg };
        if m.msg_controllen > 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        // SAFETY: msg_iov is NULL or valid for msg_iovlen entries per the C contract.
        let data = unsafe { gather(m.msg_iov, m.msg_iovlen) }?;
        // SAFETY: msg_name is NULL or valid for msg_namelen bytes per the C contract.
        let to = unsafe { destination(&sock, m.msg_name as *const sockaddr, m.msg_namelen) }?;
        Ok(sock.send_to(&data, flags, to)? as ssize_t)
    })
}
