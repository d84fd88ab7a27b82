//! What this library knows of the program's fds: sockets not yet placed,
//! zts connections and zts listeners. Entries follow dup and close; a
//! forked child keeps a copy, and uses only what needs no zts thread.

use crate::addr::Addr;
use libc::c_int;
use once_cell::sync::Lazy;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};

/// A zts fd, closed when the last program fd that stands for it goes, and
/// only by the process that opened it.
pub struct ZtsFd {
    pub fd: c_int,
    pub pid: u32,
}

impl ZtsFd {
    pub fn new(fd: c_int) -> Arc<ZtsFd> {
        Arc::new(ZtsFd {
            fd,
            pid: std::process::id(),
        })
    }

    /// The fd, if this process may use it.
    pub fn here(&self) -> Option<c_int> {
        (self.pid == std::process::id()).then_some(self.fd)
    }
}

impl Drop for ZtsFd {
    fn drop(&mut self) {
        if let Some(fd) = self.here() {
            zts::ffi::socket::zts_close(fd);
        }
    }
}

/// An AF_INET or AF_INET6 stream socket the program made, not yet placed:
/// the kernel socket it has until it binds or connects somewhere.
#[derive(Clone)]
pub struct Candidate {
    pub domain: c_int,
    /// SOCK_STREAM or SOCK_DGRAM.
    pub kind: c_int,
    /// Options set so far, replayed on the zts socket.
    pub options: Vec<(c_int, c_int, Vec<u8>)>,
    /// The zts socket, once a bind placed it on zts.
    pub zts: Option<Arc<ZtsFd>>,
    /// Where that bind was, for a later connect that goes to the kernel.
    pub bound: Option<Addr>,
}

pub enum ConnectState {
    Connecting,
    Connected,
    Failed(c_int),
}

/// A zts connection: the program holds one end of a socket pair, the pump
/// the other.
pub struct Conn {
    pub domain: c_int,
    pub zts: Option<Arc<ZtsFd>>,
    pub local: Mutex<Addr>,
    pub peer: Addr,
    pub state: Mutex<ConnectState>,
    pub changed: Condvar,
    /// A failed connect is reported once by SO_ERROR, as the kernel does.
    pub reported: Mutex<bool>,
}

impl Conn {
    pub fn new(
        domain: c_int,
        zts: Option<Arc<ZtsFd>>,
        local: Addr,
        peer: Addr,
        state: ConnectState,
    ) -> Arc<Conn> {
        Arc::new(Conn {
            domain,
            zts,
            local: Mutex::new(local),
            peer,
            state: Mutex::new(state),
            changed: Condvar::new(),
            reported: Mutex::new(false),
        })
    }

    /// Waits until the connect is decided; 0 or its errno.
    pub fn outcome(&self) -> c_int {
        let mut s = self.state.lock();
        loop {
            match *s {
                ConnectState::Connecting => self.changed.wait(&mut s),
                ConnectState::Connected => return 0,
                ConnectState::Failed(e) => return e,
            }
        }
    }

    pub fn decide(&self, outcome: ConnectState) {
        *self.state.lock() = outcome;
        self.changed.notify_all();
    }

    /// The connect's error for SO_ERROR: once, then 0 (0 while it is in
    /// progress or when it succeeded).
    pub fn error_once(&self) -> c_int {
        match *self.state.lock() {
            ConnectState::Failed(e) if !std::mem::replace(&mut *self.reported.lock(), true) => e,
            _ => 0,
        }
    }

    /// `e`, the connect's error, now told to the program.
    pub fn report(&self, e: c_int) -> c_int {
        *self.reported.lock() = true;
        e
    }
}

/// A zts listener: the program holds a Unix listening socket, and each
/// connection zts accepts arrives on it with its addresses in front.
pub struct Listener {
    pub domain: c_int,
    pub zts: Arc<ZtsFd>,
    pub local: Addr,
    /// Cleared when the program's last fd for it closes, before the zts
    /// listener is (the accepting thread holds no reference to it).
    pub open: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Release);
    }
}

/// A zts datagram socket: the program holds one end of a datagram socket
/// pair, each datagram on it led by an address (`dgram.rs`).
pub struct Dgram {
    pub domain: c_int,
    pub zts: Arc<ZtsFd>,
    pub peer: Mutex<Option<Addr>>,
}

#[derive(Clone)]
pub enum Entry {
    Candidate(Candidate),
    Conn(Arc<Conn>),
    Listener(Arc<Listener>),
    Dgram(Arc<Dgram>),
}

static TABLE: Lazy<Mutex<HashMap<c_int, Entry>>> = Lazy::new(Default::default);

/// One bit per fd below 65,536 that is a zts datagram socket: read and
/// write look here first, without the table's lock, for every fd.
static DGRAM_FDS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn mark(fd: c_int, e: Option<&Entry>) {
    let Some(word) = DGRAM_FDS.get(fd as usize / 64) else {
        return;
    };
    let bit = 1u64 << (fd as usize % 64);
    if matches!(e, Some(Entry::Dgram(_))) {
        word.fetch_or(bit, Ordering::Release);
    } else {
        word.fetch_and(!bit, Ordering::Release);
    }
}

/// Whether `fd` may be a zts datagram socket (the table says for sure;
/// past the bitmap, always ask it).
pub fn maybe_dgram(fd: c_int) -> bool {
    fd >= 0
        && DGRAM_FDS
            .get(fd as usize / 64)
            .is_none_or(|w| w.load(Ordering::Acquire) & (1u64 << (fd as usize % 64)) != 0)
}

pub fn get(fd: c_int) -> Option<Entry> {
    TABLE.lock().get(&fd).cloned()
}

/// The library's locks are all taken around fork(2), so a child never
/// starts with one held by a thread it does not have (one would block it
/// at its first socket call, or at exit).
fn guard_fork() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: handlers that live as long as the library.
        unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork)) };
    });
}

extern "C" fn before_fork() {
    std::mem::forget(TABLE.lock());
    std::mem::forget(crate::pump::RUNNING.lock());
    std::mem::forget(crate::listener::ACCEPTED.lock());
}

extern "C" fn after_fork() {
    // SAFETY: before_fork locked each on this thread and forgot the guard.
    unsafe {
        crate::listener::ACCEPTED.force_unlock();
        crate::pump::RUNNING.force_unlock();
        TABLE.force_unlock();
    }
}

pub fn set(fd: c_int, e: Entry) {
    guard_fork();
    let mut t = TABLE.lock();
    mark(fd, Some(&e));
    let gone = t.insert(fd, e);
    drop(t);
    drop(gone);
}

/// Forgets `fd`; what it held is dropped outside the lock (dropping the
/// last reference to a zts fd closes it, which may call back in here).
pub fn remove(fd: c_int) {
    let mut t = TABLE.lock();
    mark(fd, None);
    let gone = t.remove(&fd);
    drop(t);
    drop(gone);
}

/// `to` now stands for what `from` does (dup, dup2, dup3).
pub fn copy(from: c_int, to: c_int) {
    let mut t = TABLE.lock();
    let e = t.get(&from).cloned();
    mark(to, e.as_ref());
    let gone = match e {
        Some(e) => t.insert(to, e),
        None => t.remove(&to),
    };
    drop(t);
    drop(gone);
}
