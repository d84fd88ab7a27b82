//! Socket options and fd flags.

use super::{call, in_buf};
use crate::error::Errno;
use crate::socket::table;
use libc::{c_int, c_void, socklen_t};

/// Sets an option; `val` is read during the call only.
/// - SOL_SOCKET: SO_RCVTIMEO, SO_SNDTIMEO (struct timeval), SO_RCVBUF,
///   SO_SNDBUF (int bytes, 4 KiB to 32 MiB; they size the socket's
///   buffers, a TCP connection's as it starts, so set them before connect
///   or listen; TCP default 512 KiB, datagram 256 KiB), SO_REUSEADDR,
///   SO_KEEPALIVE, SO_BROADCAST, SO_RCVLOWAT (int), SO_LINGER (struct
///   linger; {1, 0} makes close send a reset; a nonzero time is kept but
///   close never blocks: queued data is sent after it returns).
/// - IPPROTO_TCP: TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
///   (smoltcp has one keepalive timer: probes every TCP_KEEPIDLE seconds of
///   silence; the connection drops after TCP_KEEPIDLE + TCP_KEEPINTVL x
///   TCP_KEEPCNT seconds without an answer).
/// - IPPROTO_IP: IP_TTL, IP_TOS (kept and reported, but packets carry TOS
///   0: smoltcp does not set it), IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP
///   (struct ip_mreq; imr_interface INADDR_ANY joins on every network).
/// - IPPROTO_IPV6: IPV6_UNICAST_HOPS, IPV6_V6ONLY (before bind),
///   IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP (struct ipv6_mreq; interface index
///   n + 1 is network n, 0 every network).
///
/// Errors: EBADF, EFAULT (NULL val with len > 0), EINVAL (len too short or
/// bad value), ENOPROTOOPT (unknown level or option).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        // SAFETY: val is NULL or valid for len bytes per the C contract.
        let val = unsafe { in_buf(val, len as usize) }?;
        sock.set_option(level, name, val)?;
        Ok(0)
    })
}

/// Reads an option into `val` (truncated to `*len`; `*len` is set to the
/// bytes written). Besides those zts_setsockopt takes (but the multicast
/// ones): SO_ERROR (and clears it), SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
/// SO_ACCEPTCONN, TCP_MAXSEG (the connection's segment size).
///
/// Errors: EBADF, EFAULT, ENOPROTOOPT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        if len.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: len is non-NULL and valid per the C contract.
        let room = unsafe { *len } as usize;
        if room > 0 && val.is_null() {
            return Err(Errno::EFAULT);
        }
        let bytes = sock.get_option(level, name)?;
        let n = room.min(bytes.len());
        // SAFETY: val is valid for room >= n bytes; len is valid.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), val as *mut u8, n);
            *len = n as socklen_t;
        }
        Ok(0)
    })
}

/// F_GETFL returns the fd's flags (O_RDWR, plus O_NONBLOCK when set);
/// F_SETFL sets or clears O_NONBLOCK from `arg`. Errors: EBADF, EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn zts_fcntl(fd: c_int, cmd: c_int, arg: c_int) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        match cmd {
            libc::F_GETFL => Ok(libc::O_RDWR
                | if sock.is_nonblocking()? {
                    libc::O_NONBLOCK
                } else {
                    0
                }),
            libc::F_SETFL => {
                sock.set_nonblocking(arg & libc::O_NONBLOCK != 0)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    })
}

/// ioctl(2) on a zts fd: FIONREAD writes to `*(int *)arg` the bytes a read
/// would return now (the size of the next datagram on a datagram socket);
/// FIONBIO sets O_NONBLOCK from `*(int *)arg`.
/// Errors: EBADF, EFAULT (NULL arg), ENOTTY (other requests).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_ioctl(fd: c_int, request: libc::c_ulong, arg: *mut c_void) -> c_int {
    call(-1, || {
        let sock = table::get(fd)?;
        if arg.is_null() {
            return Err(Errno::EFAULT);
        }
        let arg = arg as *mut c_int;
        match request {
            libc::FIONREAD => {
                let n = sock.readable_bytes()?;
                // SAFETY: arg is non-NULL and points to an int per the C contract.
                unsafe { arg.write_unaligned(n.min(c_int::MAX as usize) as c_int) };
            }
            // SAFETY: arg is non-NULL and points to an int per the C contract.
            libc::FIONBIO => sock.set_nonblocking(unsafe { arg.read_unaligned() } != 0)?,
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    })
}
