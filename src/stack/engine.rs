//! Who runs a node's rounds. The stack state sits behind one lock; its
//! holder runs rounds: the node's stack thread, woken by taps and timers,
//! or an app thread doing the work its own calls gave the node (wake.rs).
//! App threads only try the lock: if it is held, the holder sees the work
//! flag before it lets go and runs another round.

use super::{EPOCH, Stack, StackHandle};
use crate::wake::Rounds;
use parking_lot::Mutex;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) struct Engine {
    pub handle: Arc<StackHandle>,
    /// `None` once the stack thread has torn the node down.
    stack: Mutex<Option<Stack>>,
}

/// Microseconds on the stack's clock, `delay` from now.
fn micros_after(delay: Option<Duration>) -> u64 {
    match delay {
        Some(d) => (Instant::now() + d).duration_since(*EPOCH).as_micros() as u64,
        None => u64::MAX,
    }
}

impl Engine {
    pub fn new(stack: Stack) -> Arc<Engine> {
        let handle = stack.handle.clone();
        let engine = Arc::new(Engine {
            handle,
            stack: Mutex::new(Some(stack)),
        });
        let weak = Arc::downgrade(&engine);
        engine.handle.waker.set_rounds(weak);
        engine
    }

    /// The stack thread's life.
    pub fn run(&self) {
        let waker = &self.handle.waker;
        waker.attach_current();
        // A panic here must not leave app threads blocked forever: the node
        // goes down and every caller gets ENETDOWN.
        if catch_unwind(AssertUnwindSafe(|| self.serve())).is_err() {
            self.handle.mark_down();
        }
        let stack = self.stack.lock().take();
        if let Some(mut stack) = stack {
            let _ = catch_unwind(AssertUnwindSafe(|| stack.teardown()));
        }
        waker.detach();
    }

    fn serve(&self) {
        let waker = &self.handle.waker;
        while !self.handle.is_down() {
            waker.clear();
            let delay = {
                let mut guard = self.stack.lock();
                let Some(stack) = guard.as_mut() else { return };
                let delay = if stack.burst(true).done {
                    stack.delay(true)
                } else {
                    Some(Duration::ZERO)
                };
                waker.set_wakes_at(micros_after(delay));
                delay
            };
            if !waker.has_work() {
                waker.sleep(delay);
            } else {
                // An app thread whose call gave the work may be about to
                // try the lock: let it, so the work stays with the threads
                // that make it.
                std::thread::yield_now();
            }
        }
    }
}

impl Rounds for Engine {
    fn run_inline(&self) -> bool {
        let waker = &self.handle.waker;
        // A second pass covers work asked for by a thread that found the
        // lock taken just before this one let go.
        let mut ran = false;
        for _ in 0..2 {
            let Some(mut guard) = self.stack.try_lock() else {
                return ran;
            };
            let Some(stack) = guard.as_mut() else {
                return ran;
            };
            if self.handle.is_down() {
                return ran;
            }
            ran = true;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let burst = stack.burst(false);
                (burst.done, stack.delay(burst.shared))
            }));
            drop(guard);
            match outcome {
                Ok((true, delay)) => waker.timer_at(micros_after(delay)),
                Ok((false, _)) => break,
                Err(_) => {
                    self.handle.mark_down();
                    break;
                }
            }
            if !waker.has_work() {
                return ran;
            }
        }
        waker.kick_thread();
        ran
    }
}
