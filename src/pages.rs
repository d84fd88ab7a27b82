//! Zero-filled memory mapped straight from the kernel, for big buffers
//! that mostly stay unused: a page costs memory only once touched, and
//! nothing needs clearing. malloc's calloc clears memory its heap had
//! before (glibc's main arena counts everything below its high-water mark
//! as used), which cost a memset and a page fault per 4 KiB of every TCP
//! buffer and made every idle connection resident in full.

use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::HashMap;

/// Live mappings: address -> length.
static LIVE: Lazy<Mutex<HashMap<usize, usize>>> = Lazy::new(Mutex::default);

/// `len` zeroed bytes, or None when the kernel refuses.
pub fn map(len: usize) -> Option<&'static mut [u8]> {
    if len == 0 {
        return None;
    }
    // SAFETY: asks for a fresh private anonymous mapping; no memory the
    // program uses is touched, and failure is checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    LIVE.lock().insert(p as usize, len);
    // SAFETY: `p` is `len` readable, writable, zeroed bytes that stay mapped
    // until `unmap` is given this slice back, and nothing else refers to them.
    Some(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}

/// Gives back memory from [`map`]. A slice that is not a whole live
/// mapping is left alone.
pub fn unmap(buf: &'static mut [u8]) {
    let (p, len) = (buf.as_mut_ptr(), buf.len());
    {
        let mut live = LIVE.lock();
        if live.get(&(p as usize)) != Some(&len) {
            return;
        }
        live.remove(&(p as usize));
    }
    // SAFETY: `buf`, the unique `&'static mut` `map` handed out for this
    // whole mapping, came back by value: nothing refers to it any more.
    unsafe { libc::munmap(p.cast(), len) };
}

/// Gives the pages of `buf`, a whole mapping from [`map`], back to the
/// kernel while keeping the mapping: they read as zeros and cost memory
/// again only once written. Other memory is left alone.
pub fn release(buf: &mut [u8]) {
    let (p, len) = (buf.as_mut_ptr(), buf.len());
    if LIVE.lock().get(&(p as usize)) != Some(&len) {
        return;
    }
    // `p..p + len` is one whole page-aligned mapping of ours (checked above).
    // SAFETY: `buf` borrows it mutably: no one reads it as it drops to zero.
    unsafe { libc::madvise(p.cast(), len, libc::MADV_DONTNEED) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_memory_is_zeroed_writable_and_given_back_once() {
        let buf = map(1 << 16).unwrap();
        assert!(buf.iter().all(|b| *b == 0));
        buf[12345] = 7;
        let addr = buf.as_ptr() as usize;
        unmap(buf);
        assert!(!LIVE.lock().contains_key(&addr));
        assert!(map(0).is_none());
    }

    #[test]
    fn released_pages_read_as_zeros_and_stay_usable() {
        let buf = map(1 << 16).unwrap();
        buf[4096 * 3] = 9;
        release(buf);
        assert!(buf.iter().all(|b| *b == 0));
        buf[5] = 1;
        let mut other = vec![7u8; 16];
        release(&mut other);
        assert_eq!(other, vec![7u8; 16]);
        unmap(buf);
    }
}
