//! Storage for smoltcp's TCP socket buffers: mapped pages (pages.rs), so
//! an idle connection's untouched buffers cost no memory and a new one
//! needs no clearing, and reused when connections end, so thousands of
//! short connections a second do not map and fault in fresh pages each.
//! A ring buffer needs no zeroing: smoltcp reads only what was written.

use crate::pages;
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use smoltcp::socket::{Socket, tcp};

/// At most this much storage waits for reuse, process-wide.
const KEEP_BYTES: usize = 8 << 20;

#[derive(Default)]
struct Pool {
    bufs: Vec<&'static mut [u8]>,
    bytes: usize,
}

static POOL: Lazy<Mutex<Pool>> = Lazy::new(Mutex::default);

/// A `len`-byte buffer; its storage holds whatever was there.
pub fn take(len: usize) -> tcp::SocketBuffer<'static> {
    match take_slice(len) {
        Some(buf) => tcp::SocketBuffer::new(buf),
        None => tcp::SocketBuffer::new(vec![0; len]),
    }
}

/// `len` bytes of storage from the pool or freshly mapped; None when the
/// kernel refuses a mapping.
pub fn take_slice(len: usize) -> Option<&'static mut [u8]> {
    let mut pool = POOL.lock();
    if let Some(i) = pool.bufs.iter().rposition(|b| b.len() == len) {
        pool.bytes -= len;
        return Some(pool.bufs.swap_remove(i));
    }
    drop(pool);
    pages::map(len)
}

fn give(buf: &'static mut [u8]) {
    let mut pool = POOL.lock();
    if pool.bytes + buf.len() <= KEEP_BYTES {
        pool.bytes += buf.len();
        pool.bufs.push(buf);
    } else {
        drop(pool);
        pages::unmap(buf);
    }
}

/// A TCP socket's buffers, for connections yet to come.
pub fn recycle(s: Socket<'static>) {
    if let Socket::Tcp(s) = s {
        recycle_tcp(s);
    }
}

pub fn recycle_tcp(s: tcp::Socket<'static>) {
    let (rx, tx) = s.into_buffers();
    recycle_buffer(rx);
    recycle_buffer(tx);
}

/// One buffer's storage, for buffers yet to come.
pub fn recycle_buffer(buf: tcp::SocketBuffer<'static>) {
    if let Some(storage) = buf.into_slice() {
        give(storage);
    }
}

/// A send buffer no socket uses but loans may still read (tap/lent.rs):
/// recycled when dropped.
pub struct Retired(Option<tcp::SocketBuffer<'static>>);

impl Retired {
    pub fn new(buf: tcp::SocketBuffer<'static>) -> Retired {
        Retired(Some(buf))
    }
}

impl Drop for Retired {
    fn drop(&mut self) {
        if let Some(buf) = self.0.take() {
            recycle_buffer(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_by_size_and_the_pool_is_bounded() {
        let len = 4096 * 3 + 1;
        let s = tcp::Socket::new(take(len), take(len + 1));
        let (rx, _) = s.into_buffers();
        let mut rx = rx;
        assert_eq!(rx.enqueue_slice(&[9; 10]), 10);
        let s = tcp::Socket::new(rx, take(len + 1));
        recycle_tcp(s);
        let reused = take(len).into_slice().unwrap();
        assert_eq!(reused[..10], [9; 10]);
        give(reused);
        for _ in 0..3 {
            give(pages::map(KEEP_BYTES / 2).unwrap());
        }
        assert!(POOL.lock().bytes <= KEEP_BYTES);
    }
}
