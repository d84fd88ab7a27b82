//! zts_poll and zts_select: wait for readiness on many zts fds.

use super::call;
use crate::error::Errno;
use crate::socket::poll::poll;
use crate::socket::table;
use libc::{c_int, fd_set, nfds_t, pollfd, timeval};
use std::time::{Duration, Instant};

/// Most fds one call watches.
const MAX_POLL_FDS: usize = 1 << 20;

/// poll(2) over zts fds (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP,
/// POLLNVAL). `fds` is valid for `nfds` entries during the call; a negative
/// fd is skipped. `timeout_ms` < 0 waits forever, 0 does not wait.
/// Returns how many entries have events, 0 on timeout.
/// Errors: EFAULT (NULL fds with nfds > 0), EINVAL (nfds too large).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_poll(fds: *mut pollfd, nfds: nfds_t, timeout_ms: c_int) -> c_int {
    call(-1, || {
        let n = nfds as usize;
        if n > MAX_POLL_FDS {
            return Err(Errno::EINVAL);
        }
        if n > 0 && fds.is_null() {
            return Err(Errno::EFAULT);
        }
        let entries: &mut [pollfd] = if n == 0 {
            &mut []
        } else {
            // SAFETY: fds is non-NULL and valid for nfds entries per the C contract.
            unsafe { std::slice::from_raw_parts_mut(fds, n) }
        };
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        poll(entries, deadline)
    })
}

/// select(2) over zts fds with the system's `fd_set` (so at most
/// FD_SETSIZE, 1024, fds). Each set may be NULL; they are rewritten to the
/// ready fds. `timeout` NULL waits forever. The exception set reports
/// nothing (zts has no out-of-band data) and is cleared. Returns the
/// number of bits set, 0 on timeout.
/// Errors: EINVAL (nfds or timeout), EBADF (a set names a non-zts fd).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_select(
    nfds: c_int,
    readfds: *mut fd_set,
    writefds: *mut fd_set,
    exceptfds: *mut fd_set,
    timeout: *mut timeval,
) -> c_int {
    call(-1, || {
        if !(0..=libc::FD_SETSIZE as c_int).contains(&nfds) {
            return Err(Errno::EINVAL);
        }
        let deadline = if timeout.is_null() {
            None
        } else {
            // SAFETY: timeout is non-NULL and valid per the C contract.
            let tv = unsafe { *timeout };
            if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
                return Err(Errno::EINVAL);
            }
            Some(Instant::now() + Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
        };
        // SAFETY: each set is NULL or a valid fd_set per the C contract.
        let is_set =
            |set: *mut fd_set, fd: c_int| !set.is_null() && unsafe { libc::FD_ISSET(fd, set) };
        let mut entries: Vec<pollfd> = Vec::new();
        for fd in 0..nfds {
            let mut events = 0;
            if is_set(readfds, fd) {
                events |= libc::POLLIN;
            }
            if is_set(writefds, fd) {
                events |= libc::POLLOUT;
            }
            if events != 0 || is_set(exceptfds, fd) {
                table::get(fd)?;
                entries.push(pollfd {
                    fd,
                    events,
                    revents: 0,
                });
            }
        }
        poll(&mut entries, deadline)?;
        for set in [readfds, writefds, exceptfds] {
            if !set.is_null() {
                // SAFETY: set is a valid fd_set per the C contract.
                unsafe { libc::FD_ZERO(set) };
            }
        }
        let mut count = 0;
        for e in &entries {
            let hangup = e.revents & (libc::POLLERR | libc::POLLHUP) != 0;
            if e.events & libc::POLLIN != 0 && (e.revents & libc::POLLIN != 0 || hangup) {
                // SAFETY: readfds is non-NULL (the fd asked for POLLIN) and fd < FD_SETSIZE.
                unsafe { libc::FD_SET(e.fd, readfds) };
                count += 1;
            }
            if e.events & libc::POLLOUT != 0 && (e.revents & libc::POLLOUT != 0 || hangup) {
                // SAFETY: writefds is non-NULL (the fd asked for POLLOUT) and fd < FD_SETSIZE.
                unsafe { libc::FD_SET(e.fd, writefds) };
                count += 1;
            }
        }
        Ok(count)
    })
}
