//! The process-wide fd table: small ints to sockets.
//!
//! A closed fd is not handed out again while a call that looked it up
//! before the close is still running, so that call cannot act on a
//! different socket that took over the number.

use super::Socket;
use crate::error::{Errno, Result};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most fds open at once (EMFILE past it).
pub const MAX_FDS: usize = 1 << 20;

enum Slot {
    Free,
    Open(Arc<Socket>),
    /// Closed, but calls that looked it up may still be running.
    Draining(Arc<Socket>),
}

/// The slots, with the free ones and the draining ones indexed so that
/// opening the millionth socket costs what opening the first does.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: BTreeSet<usize>,
    draining: Vec<usize>,
}

static TABLE: Lazy<Mutex<Table>> = Lazy::new(|| Mutex::new(Table::default()));

/// A socket looked up by fd; counts as a call in progress on that fd.
pub struct FdRef(Arc<Socket>);

impl Deref for FdRef {
    type Target = Arc<Socket>;
    fn deref(&self) -> &Arc<Socket> {
        &self.0
    }
}

impl Drop for FdRef {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Gives `sock` the lowest free fd.
pub fn insert(sock: Arc<Socket>) -> Result<i32> {
    let mut guard = TABLE.lock();
    let t = &mut *guard;
    // Draining slots whose last call returned are free now.
    let slots = &mut t.slots;
    t.draining.retain(|&i| match &slots[i] {
        Slot::Draining(s) if s.calls.load(Ordering::Acquire) > 0 => true,
        _ => {
            slots[i] = Slot::Free;
            t.free.insert(i);
            false
        }
    });
    let fd = match t.free.pop_first() {
        Some(i) => i,
        None if t.slots.len() < MAX_FDS => {
            t.slots.push(Slot::Free);
            t.slots.len() - 1
        }
        None => return Err(Errno::EMFILE),
    };
    t.slots[fd] = Slot::Open(sock);
    Ok(fd as i32)
}

pub fn get(fd: i32) -> Result<FdRef> {
    let table = TABLE.lock();
    match usize::try_from(fd).ok().and_then(|i| table.slots.get(i)) {
        Some(Slot::Open(s)) => {
            s.calls.fetch_add(1, Ordering::AcqRel);
            Ok(FdRef(s.clone()))
        }
        _ => Err(Errno::EBADF),
    }
}

/// Takes `fd` out of the table and returns its socket.
pub fn remove(fd: i32) -> Result<Arc<Socket>> {
    let mut guard = TABLE.lock();
    let t = &mut *guard;
    let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
    let slot = t.slots.get_mut(i).ok_or(Errno::EBADF)?;
    match std::mem::replace(slot, Slot::Free) {
        Slot::Open(s) => {
            if s.calls.load(Ordering::Acquire) > 0 {
                *slot = Slot::Draining(s.clone());
                t.draining.push(i);
            } else {
                t.free.insert(i);
            }
            Ok(s)
        }
        other => {
            *slot = other;
            Err(Errno::EBADF)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::options::SockOpts;
    use crate::stack::StackHandle;

    fn sock() -> Arc<Socket> {
        let stack = Arc::new(StackHandle::detached_for_tests());
        Socket::new(
            stack,
            libc::AF_INET,
            crate::socket::Proto::Tcp,
            SockOpts::default(),
        )
    }

    #[test]
    fn a_closed_fd_is_not_reused_while_a_call_holds_it() {
        let a = insert(sock()).unwrap();
        let inside = get(a).unwrap();
        remove(a).unwrap();
        assert_eq!(get(a).err(), Some(Errno::EBADF));
        let b = insert(sock()).unwrap();
        assert_ne!(a, b);
        drop(inside);
        let c = insert(sock()).unwrap();
        assert!(c <= a.max(b));
        for fd in [b, c] {
            remove(fd).unwrap();
        }
        assert_eq!(remove(b).err(), Some(Errno::EBADF));
        assert_eq!(get(-1).err(), Some(Errno::EBADF));
    }
}
