//! poll(2) over zts sockets: register one waiter with every socket, then
//! re-check readiness each time any of them fires.

use super::table::{self, FdRef};
use super::waiter::{PollWaiter, Waker};
use crate::error::Result;
use libc::{c_int, pollfd};
use std::sync::Arc;
use std::time::Instant;

pub fn poll(entries: &mut [pollfd], deadline: Option<Instant>) -> Result<c_int> {
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
    let as_waker: Arc<dyn Waker> = waiter.clone();
    for s in socks.iter().flatten() {
        s.state.lock().waiters.push(as_waker.clone());
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
        s.state
            .lock()
            .waiters
            .retain(|w| !Arc::ptr_eq(w, &as_waker));
    }
    Ok(ready)
}
