//! Event-loop integration: a watch is an OS file descriptor (an eventfd)
//! that is readable while one of the zts sockets it watches may be ready,
//! so an app that sleeps in epoll, poll, libuv or asyncio can wait on zts
//! sockets beside its own fds, with no thread per socket and no polling.
//!
//! Level-triggered, like epoll's default: the app waits for the OS fd,
//! then asks which sockets are ready; a socket stays reported (and the OS
//! fd readable) for as long as it is ready for what was asked. Only
//! sockets whose state changed since the last look, and those ready then,
//! are re-examined, so a look costs what changed, not what is watched.

use super::Socket;
use super::table;
use super::waiter::Waker;
use crate::error::{Errno, Result};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

static WATCHES: Lazy<Mutex<HashMap<i32, Arc<Watch>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

struct Interest {
    sock: Arc<Socket>,
    events: i16,
    link: Arc<dyn Waker>,
}

#[derive(Default)]
struct Inner {
    interest: HashMap<i32, Interest>,
    /// Sockets whose readiness may have changed since the last look.
    dirty: BTreeSet<i32>,
    /// Sockets that were ready at the last look (level-triggered).
    ready: BTreeSet<i32>,
}

pub struct Watch {
    efd: OwnedFd,
    signalled: AtomicBool,
    inner: Mutex<Inner>,
    /// Sockets that woke the watch, apart from `inner` so a socket can
    /// mark itself (under its own lock) without the watch's main lock.
    marks: Mutex<Vec<i32>>,
}

/// What a watched socket holds: a way to mark itself in the watch.
struct Link {
    watch: Weak<Watch>,
    fd: i32,
}

impl Waker for Link {
    fn wake(&self) {
        if let Some(w) = self.watch.upgrade() {
            w.marks.lock().push(self.fd);
            w.signal();
        }
    }
}

impl Watch {
    fn signal(&self) {
        if !self.signalled.swap(true, Ordering::SeqCst) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
            unsafe { libc::write(self.efd.as_raw_fd(), &one as *const u64 as *const _, 8) };
        }
    }

    /// Empties the eventfd, then lets the next wake write it again. In
    /// the other order a wake landing between the two would have its write
    /// consumed here and leave `signalled` set over an empty eventfd: every
    /// later wake would be swallowed and the app would sleep forever.
    fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        unsafe { libc::read(self.efd.as_raw_fd(), &mut v as *mut u64 as *mut _, 8) };
        self.signalled.store(false, Ordering::SeqCst);
    }
}

fn get(wfd: i32) -> Result<Arc<Watch>> {
    WATCHES.lock().get(&wfd).cloned().ok_or(Errno::EBADF)
}

/// Creates a watch and returns its OS fd.
pub fn new() -> Result<i32> {
    // SAFETY: eventfd has no memory arguments.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EMFILE),
        ));
    }
    // SAFETY: raw is a fresh fd we own.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    let watch = Arc::new(Watch {
        efd,
        signalled: AtomicBool::new(false),
        inner: Mutex::new(Inner::default()),
        marks: Mutex::new(Vec::new()),
    });
    WATCHES.lock().insert(raw, watch);
    Ok(raw)
}

/// Watches zts fd `fd` for `events` (POLLIN, POLLOUT, POLLRDHUP; errors
/// and hangups always); replaces an earlier interest in the same fd.
pub fn add(wfd: i32, fd: i32, events: i16) -> Result<()> {
    let watch = get(wfd)?;
    let sock = table::get(fd)?;
    let link: Arc<dyn Waker> = Arc::new(Link {
        watch: Arc::downgrade(&watch),
        fd,
    });
    let mut inner = watch.inner.lock();
    if let Some(old) = inner.interest.remove(&fd) {
        old.sock
            .state
            .lock()
            .waiters
            .retain(|w| !Arc::ptr_eq(w, &old.link));
    }
    sock.state.lock().waiters.push(link.clone());
    inner.interest.insert(
        fd,
        Interest {
            sock: Arc::clone(&sock),
            events,
            link,
        },
    );
    inner.dirty.insert(fd);
    drop(inner);
    watch.signal();
    Ok(())
}

pub fn del(wfd: i32, fd: i32) -> Result<()> {
    let watch = get(wfd)?;
    let old = watch
        .inner
        .lock()
        .interest
        .remove(&fd)
        .ok_or(Errno::ENOENT)?;
    old.sock
        .state
        .lock()
        .waiters
        .retain(|w| !Arc::ptr_eq(w, &old.link));
    Ok(())
}

/// Fills `out` with up to `out.len()` ready sockets as (fd, revents) and
/// returns how many. A socket closed while watched is reported once with
/// POLLNVAL and forgotten.
pub fn ready(wfd: i32, out: &mut [(i32, i16)]) -> Result<usize> {
    let watch = get(wfd)?;
    watch.drain();
    let marks = std::mem::take(&mut *watch.marks.lock());
    let mut inner = watch.inner.lock();
    let mut candidates = std::mem::take(&mut inner.ready);
    candidates.extend(std::mem::take(&mut inner.dirty));
    candidates.extend(marks);
    let mut ready = BTreeSet::new();
    let mut n = 0;
    let mut gone = Vec::new();
    for fd in candidates {
        let Some(i) = inner.interest.get(&fd) else {
            continue;
        };
        let revents =
            i.sock.readiness() & (i.events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL);
        if revents == 0 {
            continue;
        }
        if n < out.len() {
            out[n] = (fd, revents);
            n += 1;
            if revents & libc::POLLNVAL != 0 {
                gone.push(fd);
                continue;
            }
        }
        ready.insert(fd);
    }
    for fd in gone {
        inner.interest.remove(&fd);
    }
    let more = !ready.is_empty();
    inner.ready = ready;
    drop(inner);
    if more {
        // Level-triggered: still ready, so the OS fd stays readable.
        watch.signal();
    }
    Ok(n)
}

/// Forgets the watch and closes its OS fd.
pub fn free(wfd: i32) -> Result<()> {
    let watch = WATCHES.lock().remove(&wfd).ok_or(Errno::EBADF)?;
    for (_, i) in watch.inner.lock().interest.drain() {
        i.sock
            .state
            .lock()
            .waiters
            .retain(|w| !Arc::ptr_eq(w, &i.link));
    }
    Ok(())
}
