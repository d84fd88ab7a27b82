//! Waits on many sockets at once: each socket holds the waiters interested
//! in it and wakes them on every readiness change. `zts_poll` blocks on a
//! [`PollWaiter`]; a watch (event-loop integration) marks the socket dirty
//! and signals its OS fd.

/// Something a socket wakes when its readiness may have changed. Called
/// with the socket's state locked: it must not lock any socket.
pub trait Waker: Send + Sync {
    fn wake(&self);
}

use parking_lot::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct PollWaiter {
    fired: Mutex<bool>,
    cond: Condvar,
}

impl Waker for PollWaiter {
    fn wake(&self) {
        *self.fired.lock() = true;
        self.cond.notify_one();
    }
}

impl PollWaiter {
    /// Waits for a wake since the last call, or until `deadline`.
    /// Returns false on timeout.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        crate::wake::settle();
        let mut fired = self.fired.lock();
        while !*fired {
            match deadline {
                Some(d) => {
                    if self.cond.wait_until(&mut fired, d).timed_out() {
                        return std::mem::take(&mut *fired);
                    }
                }
                None => self.cond.wait(&mut fired),
            }
        }
        *fired = false;
        true
    }
}
