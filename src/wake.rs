//! Gets a node's stack work done: by the app thread that gave it, or by
//! the node's stack thread.
//!
//! Work a zts call gives a node (bytes to send, a connect, a frame its
//! rounds delivered to another node on the in-process switch) is owed by
//! the calling thread and done by it when the call ends or before it
//! blocks, under the node's stack lock, as the kernel runs loopback TCP in
//! the sender's syscall. A request/response round trip then costs one
//! thread wakeup per direction instead of three. Work from anywhere else
//! (tap threads, timers, another node's stack thread) wakes the stack
//! thread. Kicks coalesce: only the first kick after the stack thread last
//! looked pays for an unpark.

use once_cell::sync::OnceCell;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Weak};
use std::thread::Thread;
use std::time::Duration;

/// Node drives one app thread runs before it leaves the rest to the
/// nodes' stack threads, so one call cannot be held doing a bulk
/// transfer's protocol work for long.
const DRIVES_PER_SETTLE: usize = 16;

/// Runs a node's rounds on the calling thread.
pub trait Rounds: Send + Sync {
    /// Does the node's pending work unless another thread holds its stack
    /// lock (that one sees the work flag before it lets go). True if it
    /// ran any round.
    fn run_inline(&self) -> bool;
}

pub struct StackWaker {
    /// Work waits for a round. Set before any attempt to take the stack
    /// lock; cleared by the lock holder before each round.
    work: AtomicBool,
    /// The stack thread was asked to run since it last looked.
    asked: AtomicBool,
    /// Times the stack thread was unparked (tests check that app calls
    /// do their own work).
    unparks: AtomicU64,
    thread: Mutex<Option<Thread>>,
    rounds: OnceCell<Weak<dyn Rounds>>,
    /// When the sleeping stack thread wakes on its own, in microseconds
    /// of [`crate::stack`]'s clock; `u64::MAX` for never.
    wakes_at: AtomicU64,
}

impl Default for StackWaker {
    fn default() -> Self {
        StackWaker {
            work: AtomicBool::new(false),
            asked: AtomicBool::new(false),
            unparks: AtomicU64::new(0),
            thread: Mutex::new(None),
            rounds: OnceCell::new(),
            wakes_at: AtomicU64::new(u64::MAX),
        }
    }
}

#[derive(Default)]
struct Owed {
    /// zts calls this thread is inside.
    depth: u32,
    /// This thread is doing owed work now.
    settling: bool,
    nodes: Vec<Arc<StackWaker>>,
}

thread_local! {
    static OWED: RefCell<Owed> = RefCell::new(Owed::default());
}

/// Runs `f` as one zts call: the stack work it gives is done on this
/// thread when the outermost call ends.
pub fn in_call<T>(f: impl FnOnce() -> T) -> T {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            let _ = OWED.try_with(|o| o.borrow_mut().depth -= 1);
        }
    }
    OWED.with(|o| o.borrow_mut().depth += 1);
    let out = {
        let _depth = Depth;
        f()
    };
    if OWED.with(|o| o.borrow().depth) == 0 {
        settle();
    }
    out
}

/// True if this thread owes stack work; it must [`settle`] before it
/// blocks on anything that work may bring about.
pub fn owes() -> bool {
    OWED.try_with(|o| {
        let o = o.borrow();
        !o.settling && !o.nodes.is_empty()
    })
    .unwrap_or(false)
}

/// Does the stack work this thread owes. Work that leads to more (a frame
/// for another node) is done in the same pass, up to a bound; the rest
/// goes to the stack threads.
pub fn settle() {
    let start = OWED
        .try_with(|o| {
            let mut o = o.borrow_mut();
            let go = !o.settling && !o.nodes.is_empty();
            o.settling |= go;
            go
        })
        .unwrap_or(false);
    if !start {
        return;
    }
    // Whatever happens, nothing stays owed by a thread that stopped settling.
    struct Settling;
    impl Drop for Settling {
        fn drop(&mut self) {
            let left = OWED.with(|o| {
                let mut o = o.borrow_mut();
                o.settling = false;
                std::mem::take(&mut o.nodes)
            });
            for w in left {
                w.kick_thread();
            }
        }
    }
    let _settling = Settling;
    let mut drives = 0;
    while let Some(w) = OWED.with(|o| {
        let mut o = o.borrow_mut();
        (!o.nodes.is_empty()).then(|| o.nodes.remove(0))
    }) {
        let rounds = w.rounds.get().and_then(Weak::upgrade);
        match rounds {
            Some(r) if drives < DRIVES_PER_SETTLE => {
                drives += 1;
                r.run_inline();
            }
            _ => w.kick_thread(),
        }
    }
}

impl StackWaker {
    /// Records the calling thread as the one to wake.
    pub fn attach_current(&self) {
        *self.thread.lock() = Some(std::thread::current());
    }

    pub fn detach(&self) {
        *self.thread.lock() = None;
    }

    /// Lets app threads run the node's rounds themselves.
    pub fn set_rounds(&self, rounds: Weak<dyn Rounds>) {
        let _ = self.rounds.set(rounds);
    }

    /// Asks for a round: owed by this thread inside a zts call, else the
    /// stack thread's.
    pub fn kick(self: &Arc<Self>) {
        self.work.store(true, Ordering::SeqCst);
        let owed = OWED
            .try_with(|o| {
                let mut o = o.borrow_mut();
                let here = o.depth > 0 || o.settling;
                if here && !o.nodes.iter().any(|w| Arc::ptr_eq(w, self)) {
                    o.nodes.push(self.clone());
                }
                here
            })
            .unwrap_or(false);
        if !owed {
            self.kick_thread();
        }
    }

    /// Wakes the stack thread to run its loop once more.
    pub fn kick_thread(&self) {
        self.work.store(true, Ordering::SeqCst);
        if !self.asked.swap(true, Ordering::AcqRel)
            && let Some(t) = self.thread.lock().as_ref()
        {
            self.unparks.fetch_add(1, Ordering::Relaxed);
            t.unpark();
        }
    }

    /// How many times the stack thread was woken so far.
    pub fn thread_wakes(&self) -> u64 {
        self.unparks.load(Ordering::Relaxed)
    }

    /// The stack lock holder starts a round: work asked for after this
    /// point is seen by [`Self::has_work`].
    pub fn start_round(&self) {
        self.work.store(false, Ordering::SeqCst);
    }

    /// Runs the node's pending rounds on this thread, if another thread
    /// is not already: a thread about to block on one of the node's
    /// sockets does that instead of sleeping while the work that may wake
    /// it waits for someone. True if it ran any.
    pub fn help(&self) -> bool {
        self.has_work()
            && self
                .rounds
                .get()
                .and_then(Weak::upgrade)
                .is_some_and(|r| r.run_inline())
    }

    pub fn has_work(&self) -> bool {
        // Pairs with the store in `kick` before its try-lock: either the
        // kicker gets the lock or the holder sees the flag.
        fence(Ordering::SeqCst);
        self.work.load(Ordering::SeqCst)
    }

    /// Called by the stack thread before it looks at its inputs, so a kick
    /// that lands after this point is seen by the next `sleep`.
    pub fn clear(&self) {
        self.asked.store(false, Ordering::Release);
    }

    /// The stack thread will wake on its own at `at` (`u64::MAX`: never).
    /// Called with the stack lock held.
    pub fn set_wakes_at(&self, at: u64) {
        self.wakes_at.store(at, Ordering::SeqCst);
    }

    /// A round on another thread armed a timer for `at`: the stack thread
    /// must wake by then.
    pub fn timer_at(&self, at: u64) {
        if at < self.wakes_at.load(Ordering::SeqCst) {
            self.wakes_at.store(at, Ordering::SeqCst);
            self.kick_thread();
        }
    }

    /// Sleeps until kicked or until `timeout` passes (forever when `None`).
    pub fn sleep(&self, timeout: Option<Duration>) {
        if self.asked.load(Ordering::Acquire) {
            return;
        }
        match timeout {
            Some(d) => std::thread::park_timeout(d),
            None => std::thread::park(),
        }
    }
}
