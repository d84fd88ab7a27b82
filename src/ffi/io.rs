//! Moving bytes: read, write, recv, send.

use super::{call, in_buf, out_buf};
use crate::socket::table;
use libc::{c_int, c_void, size_t, ssize_t};

/// Flags recv and send understand; others give EOPNOTSUPP.
const RECV_FLAGS: c_int = libc::MSG_PEEK | libc::MSG_DONTWAIT | libc::MSG_WAITALL;
const SEND_FLAGS: c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | libc::MSG_MORE;

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
/// and returns how many; 0 once the peer has shut down writing. Returns
/// what is available without waiting for `len` (MSG_WAITALL waits).
/// Blocks unless O_NONBLOCK or MSG_DONTWAIT (then EAGAIN); SO_RCVTIMEO
/// bounds the wait (EAGAIN). MSG_PEEK leaves the bytes queued.
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
    call(-1, || {
        let sock = table::get(fd)?;
        if flags & !RECV_FLAGS != 0 {
            return Err(crate::error::Errno::EOPNOTSUPP);
        }
        // SAFETY: buf is NULL or valid for len bytes per the C contract.
        let buf = unsafe { out_buf(buf, len) }?;
        Ok(sock.recv(buf, flags)? as ssize_t)
    })
}

/// Queues `len` bytes from `buf` (read during the call only) for sending.
/// A blocking send returns once every byte is queued; O_NONBLOCK or
/// MSG_DONTWAIT queue what fits (EAGAIN if nothing does); SO_SNDTIMEO
/// bounds the wait. Never raises SIGPIPE.
///
/// Errors: EBADF, EFAULT, ENOTCONN, EPIPE (shut down or reset),
/// ECONNRESET, ENETDOWN, EOPNOTSUPP.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_send(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    call(-1, || {
        let sock = table::get(fd)?;
        if flags & !SEND_FLAGS != 0 {
            return Err(crate::error::Errno::EOPNOTSUPP);
        }
        // SAFETY: buf is NULL or valid for len bytes per the C contract.
        let buf = unsafe { in_buf(buf, len) }?;
        Ok(sock.send(buf, flags)? as ssize_t)
    })
}
