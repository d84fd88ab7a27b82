//! Reuses the storage of frames. A 64 KiB frame freshly allocated for
//! each segment cost a memset of it (calloc of reused heap memory): 8% of
//! the time of eight parallel bulk flows; at MTU 1500 the calloc, memset
//! and free of each full-size frame were 8% of a bulk flow. A frame the
//! receiving stack has read comes back here, and the next frame of its
//! class sent takes it. Only frames of at least `MIN_LEN` bytes, which
//! smoltcp fills to the last byte (headers and payload), are handed out
//! without clearing; ACK-sized ones cost little to allocate.

use once_cell::sync::Lazy;
use parking_lot::Mutex;

const MIN_LEN: usize = 1024;
/// Frames of at least `MIN_LEN` and below `BIG` (full-size frames at MTU
/// 1500) are made with this capacity, so any of them fits any such frame;
/// bigger ones keep their own pool, so a small frame never holds 64 KiB
/// in a queue bounded by frame length.
const BIG: usize = 2048;
/// Frames kept for reuse per class, process-wide.
const KEEP: usize = 64;

static SMALL: Lazy<Mutex<Vec<Vec<u8>>>> = Lazy::new(Mutex::default);
static LARGE: Lazy<Mutex<Vec<Vec<u8>>>> = Lazy::new(Mutex::default);

/// The pool for frames of `len` bytes, if they are pooled.
fn pool(len: usize) -> Option<&'static Mutex<Vec<Vec<u8>>>> {
    match len {
        n if n >= BIG => Some(&LARGE),
        n if n >= MIN_LEN => Some(&SMALL),
        _ => None,
    }
}

/// A `len`-byte frame for smoltcp to fill.
pub fn take(len: usize) -> Vec<u8> {
    if let Some(pool) = pool(len)
        && let Some(mut frame) = pool.lock().pop()
    {
        // Only the part beyond the old length is cleared.
        frame.resize(len, 0);
        return frame;
    }
    let small = (MIN_LEN..BIG).contains(&len);
    let mut frame = Vec::with_capacity(if small { BIG - 1 } else { len });
    frame.resize(len, 0);
    frame
}

/// A frame nobody reads any more. Frames made elsewhere (an OS tap's
/// reader) come in with any capacity: a small one joins only if it can
/// hold any small frame.
pub fn give(frame: Vec<u8>) {
    let cap = frame.capacity();
    let class = if cap >= BIG {
        Some(&LARGE)
    } else if cap >= BIG - 1 {
        Some(&SMALL)
    } else {
        None
    };
    if let Some(pool) = class {
        let mut pool = pool.lock();
        if pool.len() < KEEP {
            pool.push(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_by_class_tiny_ones_are_fresh() {
        let mut f = take(MIN_LEN * 2);
        f[0] = 1;
        give(f);
        let again = take(MIN_LEN);
        assert_eq!(again.len(), MIN_LEN);
        let tiny = take(60);
        assert!(tiny.iter().all(|b| *b == 0));
        assert!(tiny.capacity() < MIN_LEN, "an ACK-sized frame stays small");
        // A full-size frame at MTU 1500 comes back for the next one,
        // never from the pool of 64 KiB frames.
        let f = take(1514);
        assert!(f.capacity() < BIG);
        give(f);
        let again = take(1200);
        assert_eq!(again.len(), 1200);
        assert!(again.capacity() < BIG);
        for _ in 0..KEEP * 2 {
            give(vec![0; MIN_LEN]);
        }
        assert!(LARGE.lock().len() <= KEEP);
        assert!(SMALL.lock().len() <= KEEP);
    }
}
