//! A wait on many sockets at once (`zts_poll`): each socket it watches holds
//! the waiter and fires it on every readiness change.

use parking_lot::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct PollWaiter {
    fired: Mutex<bool>,
    cond: Condvar,
}

impl PollWaiter {
    pub fn wake(&self) {
        *self.fired.lock() = true;
        self.cond.notify_one();
    }

    /// Waits for a wake since the last call, or until `deadline`.
    /// Returns false on timeout.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
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
