//! Wakes a node's stack thread: a frame arrived, an app queued work, or the
//! node is stopping. Kicks coalesce: only the first kick after the stack
//! thread last looked pays for an unpark.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Thread;
use std::time::Duration;

#[derive(Default)]
pub struct StackWaker {
    pending: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

impl StackWaker {
    /// Records the calling thread as the one to wake.
    pub fn attach_current(&self) {
        *self.thread.lock() = Some(std::thread::current());
    }

    pub fn detach(&self) {
        *self.thread.lock() = None;
    }

    /// Asks the stack thread to run its loop once more.
    pub fn kick(&self) {
        if !self.pending.swap(true, Ordering::AcqRel)
            && let Some(t) = self.thread.lock().as_ref()
        {
            t.unpark();
        }
    }

    /// Called by the stack thread before it looks at its inputs, so a kick
    /// that lands after this point is seen by the next `sleep`.
    pub fn clear(&self) {
        self.pending.store(false, Ordering::Release);
    }

    /// Sleeps until kicked or until `timeout` passes (forever when `None`).
    pub fn sleep(&self, timeout: Option<Duration>) {
        if self.pending.load(Ordering::Acquire) {
            return;
        }
        match timeout {
            Some(d) => std::thread::park_timeout(d),
            None => std::thread::park(),
        }
    }
}
