//! zts_poll: waits for readiness on many zts fds.

use super::call;
use crate::error::{Errno, Result};
use crate::socket::table::{self, FdRef};
use crate::socket::waiter::PollWaiter;
use libc::{c_int, nfds_t, pollfd};
use std::sync::Arc;
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

fn poll(entries: &mut [pollfd], deadline: Option<Instant>) -> Result<c_int> {
    let socks: Vec<Option<FdRef>> = entries
        .iter()
        .map(|e| {
            if e.fd < 0 {
                None
            } else {
                table::get(e.fd).ok()
            }
        })
        .collect();
    let waiter = Arc::new(PollWaiter::default());
    for s in socks.iter().flatten() {
        s.state.lock().waiters.push(waiter.clone());
    }
    let ready = loop {
        let mut ready = 0;
        for (e, s) in entries.iter_mut().zip(&socks) {
            e.revents = match (e.fd, s) {
                (fd, _) if fd < 0 => 0,
                (_, None) => libc::POLLNVAL,
                (_, Some(s)) => {
                    s.readiness() & (e.events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL)
                }
            };
            ready += (e.revents != 0) as c_int;
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            break ready;
        }
        waiter.wait(deadline);
    };
    for s in socks.iter().flatten() {
        s.state.lock().waiters.retain(|w| !Arc::ptr_eq(w, &waiter));
    }
    Ok(ready)
}
