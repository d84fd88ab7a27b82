//! Event-loop integration: an OS fd to wait on beside the app's own.

use super::call;
use crate::error::Errno;
use crate::socket::watch;
use libc::{c_int, c_short, pollfd};

/// Creates a watch: an OS file descriptor (an eventfd) that is readable
/// while at least one zts socket added to it is ready for what it was
/// added for. Put it in epoll, poll, select, libuv or asyncio
/// (`loop.add_reader`) beside your own fds; when it is readable, call
/// zts_watch_ready to learn which sockets are ready. Level-triggered: a
/// socket is reported, and the fd stays readable, while it remains ready.
/// Returns the OS fd; close it only with zts_watch_free.
/// Errors: EMFILE/ENFILE (no fd available).
#[unsafe(no_mangle)]
pub extern "C" fn zts_watch_new() -> c_int {
    call(-1, watch::new)
}

/// Watches zts fd `fd` for `events` (POLLIN, POLLOUT, POLLRDHUP; POLLERR
/// and POLLHUP are always reported). Adding an fd again replaces its events.
/// Errors: EBADF (`watch` is not a watch, or `fd` not a zts fd).
#[unsafe(no_mangle)]
pub extern "C" fn zts_watch_add(watch: c_int, fd: c_int, events: c_short) -> c_int {
    call(-1, || {
        watch::add(watch, fd, events)?;
        Ok(0)
    })
}

/// Stops watching `fd`. Errors: EBADF, ENOENT (not watched).
#[unsafe(no_mangle)]
pub extern "C" fn zts_watch_del(watch: c_int, fd: c_int) -> c_int {
    call(-1, || {
        watch::del(watch, fd)?;
        Ok(0)
    })
}

/// Never blocks: fills up to `max` entries of `out` (valid for `max`
/// entries during the call) with ready zts fds (`fd`, `revents`; `events`
/// is set to 0) and returns how many, 0 if none. A watched fd that was
/// closed is reported once with POLLNVAL and forgotten.
/// Errors: EBADF, EFAULT (NULL out with max > 0), EINVAL (max < 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zts_watch_ready(watch: c_int, out: *mut pollfd, max: c_int) -> c_int {
    call(-1, || {
        let max = usize::try_from(max).map_err(|_| Errno::EINVAL)?;
        if max > 0 && out.is_null() {
            return Err(Errno::EFAULT);
        }
        let mut found = vec![(0, 0); max];
        let n = watch::ready(watch, &mut found)?;
        for (i, (fd, revents)) in found[..n].iter().enumerate() {
            // SAFETY: out is valid for max > i entries per the C contract.
            unsafe {
                out.add(i).write(pollfd {
                    fd: *fd,
                    events: 0,
                    revents: *revents,
                })
            };
        }
        Ok(n as c_int)
    })
}

/// Forgets the watch and closes its OS fd. Errors: EBADF.
#[unsafe(no_mangle)]
pub extern "C" fn zts_watch_free(watch: c_int) -> c_int {
    call(-1, || {
        watch::free(watch)?;
        Ok(0)
    })
}
